// jamd-prepare: the staged corpora (../shared/data) -> train/validation/test token files, the
// vocabulary's names and a metadata JSON. Usage: jamd-prepare --help; format: docs/vocabulary.md.
#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "models/data/corpora.h"
#include "models/data/drum_pairing.h"
#include "models/data/token_file.h"
#include "models/engine/weight_file.h"
#include "models/tokenizer/tokenizer.h"

namespace jamd::models::data {
namespace {

namespace fs = std::filesystem;

constexpr const char* kUsage =
    R"(jamd-prepare: turn the staged corpora into token files for training.

  jamd-prepare --data=../shared/data --work=build/data --out=build/tokens [options]

  --data=DIR             the staged corpora (README.md and PROVENANCE.md there)
  --work=DIR             where the tarballs are unpacked (kept between runs)
  --out=DIR              train.tok, validation.tok, test.tok, vocab.txt, metadata.json
  --transpose=N          train copies of each POP909 song moved by -N..+N semitones (default 0:
                         models/train transposes on the fly)
  --human=auto|none      auto (default): in each POP909 song one part is played by the 'human'
                         (lead 50 %, keys 25 %, none 25 %, chosen by song); none: never
  --drums=pair|none      pair (default): POP909 songs get drums from Groove bars of their
                         split, metre and tempo (docs/vocabulary.md, "Drum pairing"); none:
                         POP909 stays without drums, as before
  --plain-share=P        percent of POP909 songs (by hash) kept without drums even when pairing,
                         so the model also sees the band with drums off (default 20)
  --pair-seed=N          seed of the pairing draws (default 1)
  --limit=N              at most N songs per corpus (quick runs; default: all)
  --include-nottingham   opt in to the GPL-3 Nottingham set (off by default: the bundled model
                         is trained on permissively licensed data only)
)";

struct Options {
  std::string data_dir;
  std::string work_dir;
  std::string out_dir;
  int transpose = 0;
  bool human = true;
  int limit = -1;
  bool include_nottingham = false;
  bool pair_drums = true;
  int plain_share = 20;
  int pair_seed = 1;
};

struct Split {
  std::vector<uint16_t> tokens;
  uint32_t sequences = 0;
  int64_t bars = 0;
};

struct CorpusCount {
  int songs = 0;
  int failed = 0;
  int64_t bars = 0;  // without transposed copies
  int64_t tokens = 0;
  std::map<std::string, int> songs_per_split;
  std::map<std::string, int> human_parts;  // songs whose human plays this part
  int paired = 0;                          // POP909 songs given drums
  int plain = 0;                           // kept without drums by --plain-share
  int unpaired = 0;                        // no compatible drums found
  int64_t drum_bars = 0;
  std::map<std::string, int> paired_styles;
};

bool parse_args(int argc, char** argv, Options* o) {
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&](const char* flag) -> std::optional<std::string> {
      const std::string prefix = absl::StrCat(flag, "=");
      if (a.rfind(prefix, 0) == 0) return a.substr(prefix.size());
      return std::nullopt;
    };
    if (auto v = value("--data"))
      o->data_dir = *v;
    else if (auto w = value("--work"))
      o->work_dir = *w;
    else if (auto out = value("--out"))
      o->out_dir = *out;
    else if (auto t = value("--transpose"); t && absl::SimpleAtoi(*t, &o->transpose)) {
    } else if (auto l = value("--limit"); l && absl::SimpleAtoi(*l, &o->limit)) {
    } else if (auto p = value("--plain-share"); p && absl::SimpleAtoi(*p, &o->plain_share)) {
    } else if (auto ps = value("--pair-seed"); ps && absl::SimpleAtoi(*ps, &o->pair_seed)) {
    } else if (a == "--drums=pair" || a == "--drums=none")
      o->pair_drums = a == "--drums=pair";
    else if (a == "--include-nottingham")
      o->include_nottingham = true;
    else if (a == "--human=auto" || a == "--human=none")
      o->human = a == "--human=auto";
    else {
      std::cerr << "unknown or malformed argument '" << a << "'\n\n" << kUsage;
      return false;
    }
  }
  if (o->data_dir.empty() || o->work_dir.empty() || o->out_dir.empty()) {
    std::cerr << "--data, --work and --out are required\n\n" << kUsage;
    return false;
  }
  return true;
}

uint64_t hash_of(const std::string& key) {
  return fnv1a64(std::as_bytes(std::span(key.data(), key.size())));
}

// Deterministic split by song identity: about 80 / 10 / 10 %.
std::string split_of(const std::string& song_key) {
  const uint64_t h = hash_of(song_key);
  return h % 10 == 0 ? "test" : h % 10 == 1 ? "validation" : "train";
}

// Which POP909 part the "human" plays in one song (same for all its transposed copies), so the
// model learns to accompany a melody, a keyboard part, or nothing.
std::optional<Role> human_part_of(const std::string& song_key) {
  const uint64_t h = hash_of(song_key + "/human") % 4;
  return h < 2 ? std::optional(Role::kLead) : h == 2 ? std::optional(Role::kKeys) : std::nullopt;
}

// Unpacks with tar, reading what tar says: its warnings (a timestamp in the future, a header
// keyword of another tar, an owner a container cannot set) become one line instead of one per
// file; when it fails, its message is printed in full.
bool unpack(const fs::path& tarball, const fs::path& work, const fs::path& marker) {
  if (fs::exists(work / marker)) return true;
  fs::create_directories(work);
  std::cerr << "unpacking " << tarball << " into " << work << "\n";
  const std::string cmd = absl::StrCat("tar --no-same-owner -xzf '", tarball.string(), "' -C '",
                                       work.string(), "' 2>&1");
  FILE* tar = popen(cmd.c_str(), "r");
  if (tar == nullptr) {
    std::cerr << "cannot run tar: " << std::strerror(errno) << "\n";
    return false;
  }
  std::string said;
  char buffer[4096];
  for (size_t n; (n = std::fread(buffer, 1, sizeof buffer, tar)) > 0;) said.append(buffer, n);
  const bool unpacked = pclose(tar) == 0 && fs::exists(work / marker);
  if (!unpacked) {
    std::cerr << said;
  } else if (!said.empty()) {
    const auto lines = std::count(said.begin(), said.end(), '\n');
    std::cerr << "  tar warned " << lines << (lines == 1 ? " time" : " times")
              << "; the first: " << said.substr(0, said.find('\n')) << "\n";
  }
  return unpacked;
}

bool add_song(const Score& score, Split* split, CorpusCount* count, const std::string& what) {
  absl::StatusOr<std::vector<TokenId>> tokens = encode(score);
  if (!tokens.ok()) {
    std::cerr << "skipping " << what << ": " << tokens.status().message() << "\n";
    return false;
  }
  for (TokenId t : *tokens) split->tokens.push_back(static_cast<uint16_t>(t));
  ++split->sequences;
  split->bars += static_cast<int64_t>(score.bars.size());
  count->tokens += static_cast<int64_t>(tokens->size());
  return true;
}

// One line per POP909 song of pairing.tsv.
std::string pairing_line(const std::string& id, const std::string& split, const DrumPairing& p,
                         bool plain) {
  std::string sources;
  for (const std::string& s : p.sources) absl::StrAppend(&sources, sources.empty() ? "" : ";", s);
  return absl::StrFormat("%s\t%s\t%s\t%.1f\t%.2f\t%d\t%d\t%s\t%s\n", id, split,
                         plain      ? "plain"
                         : p.paired ? "paired"
                                    : "unpaired",
                         p.song_tempo_bpm, p.tolerance, p.candidates, p.drum_bars, p.style,
                         sources);
}

void prepare_pop909(const Options& o, const DrumPool& drums, std::map<std::string, Split>* splits,
                    CorpusCount* count, std::string* pairing_tsv) {
  std::vector<fs::path> songs;
  for (const auto& entry : fs::directory_iterator(fs::path(o.work_dir) / "POP909")) {
    if (entry.is_directory()) songs.push_back(entry.path());
  }
  std::sort(songs.begin(), songs.end());
  for (const fs::path& dir : songs) {
    if (o.limit >= 0 && count->songs + count->failed >= o.limit) break;
    const std::string id = dir.filename().string();
    absl::StatusOr<Score> song = load_pop909_song(dir.string());
    if (!song.ok()) {
      std::cerr << "skipping POP909 " << id << ": " << song.status().message() << "\n";
      ++count->failed;
      continue;
    }
    const std::string split = split_of("pop909/" + id);
    if (o.human) {
      if (const std::optional<Role> human = human_part_of("pop909/" + id)) {
        play_as_human(&*song, *human);
        ++count->human_parts[role_name(*human)];
      }
    }
    if (o.pair_drums) {
      const bool plain = static_cast<int>(hash_of("pop909/" + id + "/plain") % 100) < o.plain_share;
      DrumPairing pairing;
      if (!plain) pairing = pair_drums(&*song, drums, split, "pop909/" + id, o.pair_seed);
      *pairing_tsv += pairing_line(id, split, pairing, plain);
      count->plain += plain ? 1 : 0;
      count->paired += pairing.paired ? 1 : 0;
      count->unpaired += !plain && !pairing.paired ? 1 : 0;
      count->drum_bars += pairing.drum_bars;
      if (pairing.paired) ++count->paired_styles[pairing.style];
    }
    const int n = split == "train" ? o.transpose : 0;
    bool ok = true;
    for (int semitones = -n; semitones <= n && ok; ++semitones) {
      ok = add_song(semitones == 0 ? *song : transpose(*song, semitones), &(*splits)[split], count,
                    absl::StrCat("POP909 ", id));
    }
    if (!ok) {
      ++count->failed;
      continue;
    }
    ++count->songs;
    ++count->songs_per_split[split];
    count->bars += static_cast<int64_t>(song->bars.size());
  }
}

// Groove performances as drums-only sequences; each beat performance also goes into `drums`.
void prepare_groove(const Options& o, std::map<std::string, Split>* splits, CorpusCount* count,
                    DrumPool* drums) {
  const fs::path dir = fs::path(o.work_dir) / "groove";
  absl::StatusOr<std::vector<GrooveEntry>> index = read_groove_index((dir / "info.csv").string());
  if (!index.ok()) {
    std::cerr << "skipping Groove: " << index.status().message() << "\n";
    return;
  }
  for (const GrooveEntry& e : *index) {
    if (o.limit >= 0 && count->songs + count->failed >= o.limit) break;
    absl::StatusOr<Score> beat = load_groove_performance(dir.string(), e);
    if (!beat.ok() || !add_song(*beat, &(*splits)[e.split], count, e.midi_filename)) {
      if (!beat.ok())
        std::cerr << "skipping " << e.midi_filename << ": " << beat.status().message() << "\n";
      ++count->failed;
      continue;
    }
    drums->add(*beat, e);
    ++count->songs;
    ++count->songs_per_split[e.split];
    count->bars += static_cast<int64_t>(beat->bars.size());
  }
}

void prepare_nottingham(const Options& o, std::map<std::string, Split>* splits,
                        CorpusCount* count) {
  std::vector<fs::path> tunes;
  for (const auto& entry : fs::directory_iterator(fs::path(o.work_dir) / "MIDI")) {
    if (entry.is_regular_file() && entry.path().extension() == ".mid")
      tunes.push_back(entry.path());
  }
  std::sort(tunes.begin(), tunes.end());
  for (const fs::path& path : tunes) {
    if (o.limit >= 0 && count->songs + count->failed >= o.limit) break;
    const std::string key = "nottingham/" + path.stem().string();
    absl::StatusOr<Score> tune = load_nottingham_tune(path.string());
    if (tune.ok() && o.human && hash_of(key + "/human") % 2 == 0) {
      play_as_human(&*tune, Role::kLead);
      ++count->human_parts["lead"];
    }
    const std::string split = split_of(key);
    if (!tune.ok() || !add_song(*tune, &(*splits)[split], count, key)) {
      if (!tune.ok()) std::cerr << "skipping " << key << ": " << tune.status().message() << "\n";
      ++count->failed;
      continue;
    }
    ++count->songs;
    ++count->songs_per_split[split];
    count->bars += static_cast<int64_t>(tune->bars.size());
  }
}

std::string json_counts(const std::map<std::string, int>& counts) {
  std::string out;
  for (const auto& [name, n] : counts) {
    absl::StrAppend(&out, out.empty() ? "" : ", ", "\"", name, "\": ", n);
  }
  return absl::StrCat("{", out, "}");
}

std::string corpus_json(const CorpusCount& c) {
  return absl::StrFormat(
      "{\"songs\": %d, \"failed\": %d, \"bars\": %d, \"tokens\": %d, "
      "\"songs_per_split\": %s, \"human_plays\": %s}",
      c.songs, c.failed, c.bars, c.tokens, json_counts(c.songs_per_split),
      json_counts(c.human_parts));
}

// Writes the three token files and vocab.txt; returns the splits' JSON and the data hash.
absl::StatusOr<std::pair<std::string, uint64_t>> write_splits(
    const Options& o, const std::map<std::string, Split>& splits) {
  fs::create_directories(o.out_dir);
  const Vocabulary& v = Vocabulary::get();
  std::ofstream names(fs::path(o.out_dir) / "vocab.txt");
  for (TokenId id = 0; id < v.size(); ++id) names << v.name(id) << "\n";
  uint64_t data_hash = 0xcbf29ce484222325ull;  // FNV-1a offset basis: the files chain on
  std::string json;
  for (const char* name : {"train", "validation", "test"}) {
    const Split& s = splits.at(name);
    const std::string path = (fs::path(o.out_dir) / absl::StrCat(name, ".tok")).string();
    if (absl::Status st = write_token_file(path, s.tokens, s.sequences); !st.ok()) return st;
    data_hash = fnv1a64(std::as_bytes(std::span(s.tokens)), data_hash);
    absl::StrAppendFormat(&json, "%s\"%s\": {\"sequences\": %d, \"bars\": %d, \"tokens\": %d}",
                          json.empty() ? "" : ", ", name, s.sequences, s.bars, s.tokens.size());
    std::cout << absl::StrFormat("%-10s %6d sequences %8d bars %10d tokens (%.1f per bar)\n", name,
                                 s.sequences, s.bars, s.tokens.size(),
                                 s.bars ? static_cast<double>(s.tokens.size()) / s.bars : 0.0);
  }
  return std::pair(json, data_hash);
}

int run(const Options& o) {
  const fs::path data(o.data_dir);
  if (o.include_nottingham &&
      !unpack(data / "nottingham/nottingham-midi.tar.gz", o.work_dir, "MIDI/jigs1.mid")) {
    std::cerr << "cannot unpack the Nottingham set from " << data << "/nottingham\n";
    return 1;
  }
  if (!unpack(data / "pop909/pop909-midi-annotations.tar.gz", o.work_dir, "POP909/001") ||
      !unpack(data / "groove/groove-midi-v1.0.0.tar.gz", o.work_dir, "groove/info.csv")) {
    std::cerr << "cannot unpack the corpora from " << data << " into " << o.work_dir
              << "; check --data (it should hold pop909/ and groove/) and that tar works\n";
    return 1;
  }
  std::map<std::string, Split> splits = {{"train", {}}, {"validation", {}}, {"test", {}}};
  CorpusCount pop;
  CorpusCount groove;
  CorpusCount nottingham;
  // Groove first: its beat performances are the drums POP909 songs are paired with.
  DrumPool drums;
  std::string pairing_tsv =
      "song\tsplit\tdrums\tsong_bpm\ttempo_tolerance\tcandidates\tdrum_bars\tstyle\tgroove_files\n";
  prepare_groove(o, &splits, &groove, &drums);
  prepare_pop909(o, drums, &splits, &pop, &pairing_tsv);
  if (o.include_nottingham) prepare_nottingham(o, &splits, &nottingham);

  absl::StatusOr<std::pair<std::string, uint64_t>> written = write_splits(o, splits);
  if (!written.ok()) {
    std::cerr << written.status().message() << "\n";
    return 1;
  }
  if (o.pair_drums) std::ofstream(fs::path(o.out_dir) / "pairing.tsv") << pairing_tsv;
  const std::string pairing_json =
      o.pair_drums
          ? absl::StrFormat(
                "{\"scheme\": \"POP909 songs + Groove beat bars of the same split and metre, "
                "tempo within 10 %% (else 25 %%); docs/vocabulary.md\", \"seed\": %d, "
                "\"plain_share_percent\": %d, \"groove_beats_in_pool\": %d, \"paired_songs\": %d, "
                "\"plain_songs\": %d, \"unpaired_songs\": %d, \"drum_bars\": %d, "
                "\"styles\": %s, \"per_song\": \"pairing.tsv\"}",
                o.pair_seed, o.plain_share, drums.sources().size(), pop.paired, pop.plain,
                pop.unpaired, pop.drum_bars, json_counts(pop.paired_styles))
          : std::string("null");
  const Vocabulary& v = Vocabulary::get();
  std::ofstream meta(fs::path(o.out_dir) / "metadata.json");
  meta << absl::StrFormat(
      "{\n  \"format\": \"jamd token files v%d (docs/vocabulary.md)\",\n"
      "  \"vocab_size\": %d,\n  \"vocab_hash\": \"%016x\",\n  \"data_hash\": \"%016x\",\n"
      "  \"transpose_semitones\": %d,\n  \"drum_pairing\": %s,\n  \"splits\": {%s},\n"
      "  \"corpora\": {\"pop909\": %s, \"groove\": %s%s},\n"
      "  \"licences\": {\"pop909\": \"MIT\", \"groove\": \"CC BY 4.0 (attribution: Groove MIDI "
      "Dataset, Google LLC / Magenta)\"%s}\n}\n",
      kTokenFileVersion, v.size(), v.hash(), written->second, o.transpose, pairing_json,
      written->first, corpus_json(pop), corpus_json(groove),
      o.include_nottingham ? absl::StrCat(", \"nottingham\": ", corpus_json(nottingham)) : "",
      o.include_nottingham ? ", \"nottingham\": \"GPL-3.0 (copyleft: see its PROVENANCE.md)\""
                           : "");
  std::cout << "POP909: " << pop.songs << " songs (" << pop.failed << " skipped";
  if (o.pair_drums) {
    std::cout << "; drums paired " << pop.paired << ", plain " << pop.plain << ", unpaired "
              << pop.unpaired;
  }
  std::cout << "); Groove: " << groove.songs << " performances (" << groove.failed << " skipped)";
  if (o.include_nottingham) {
    std::cout << "; Nottingham: " << nottingham.songs << " tunes (" << nottingham.failed
              << " skipped)";
  }
  std::cout << "; wrote " << o.out_dir << "\n";
  return 0;
}

}  // namespace
}  // namespace jamd::models::data

int main(int argc, char** argv) {
  jamd::models::data::Options options;
  for (int i = 1; i < argc; ++i) {
    if (std::string(argv[i]) == "--help") {
      std::cout << jamd::models::data::kUsage;
      return 0;
    }
  }
  if (!jamd::models::data::parse_args(argc, argv, &options)) return 2;
  return jamd::models::data::run(options);
}
