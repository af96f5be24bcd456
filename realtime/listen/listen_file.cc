// Offline listening: WAV (libsndfile) and MIDI file input, the feeding loop, and the JSON report.
#include "realtime/listen/listen_file.h"

#include <sndfile.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "realtime/core/c_handles.h"
#include "realtime/core/tempo_map.h"

namespace jamd::realtime {
namespace {

using Clock = std::chrono::steady_clock;

// Paces a loop to the input's clock when real_time is set.
class Pacer {
 public:
  Pacer(bool real_time, uint32_t rate) : real_time_(real_time), rate_(rate) {}
  void wait_until(int64_t frame) const {
    if (!real_time_) return;
    std::this_thread::sleep_until(start_ + std::chrono::microseconds(frame * 1000000 / rate_));
  }
  double elapsed_s() const { return std::chrono::duration<double>(Clock::now() - start_).count(); }

 private:
  bool real_time_;
  uint32_t rate_;
  Clock::time_point start_ = Clock::now();
};

// What the RIFF header promises against what the file holds: a truncated WAV still plays (what
// is there is analysed) but the report says so.
std::string truncation_warning(const std::string& path, int channels, int bytes_per_sample,
                               uint32_t rate) {
  std::ifstream in(path, std::ios::binary);
  char header[12];
  if (!in.read(header, 12) || std::string(header, 4) != "RIFF" ||
      std::string(header + 8, 4) != "WAVE") {
    return "";
  }
  in.seekg(0, std::ios::end);
  const int64_t file_size = in.tellg();
  int64_t pos = 12;
  while (pos + 8 <= file_size) {
    in.seekg(pos);
    unsigned char chunk[8];
    if (!in.read(reinterpret_cast<char*>(chunk), 8)) break;
    const int64_t size =
        chunk[4] | (chunk[5] << 8) | (chunk[6] << 16) | (static_cast<int64_t>(chunk[7]) << 24);
    if (std::string(reinterpret_cast<char*>(chunk), 4) == "data") {
      const int64_t held = file_size - pos - 8;
      if (size > held && bytes_per_sample > 0 && size != 0xFFFFFFFF) {
        const double per_s = static_cast<double>(channels) * bytes_per_sample * rate;
        return absl::StrFormat(
            "truncated WAV: the header promises %.2f s of audio but the file holds %.2f s; "
            "analysed what is there",
            static_cast<double>(size) / per_s, static_cast<double>(held) / per_s);
      }
      return "";
    }
    pos += 8 + size + (size & 1);
  }
  return "";
}

int bytes_per_sample(int format) {
  switch (format & SF_FORMAT_SUBMASK) {
    case SF_FORMAT_PCM_U8:
    case SF_FORMAT_PCM_S8:
      return 1;
    case SF_FORMAT_PCM_16:
      return 2;
    case SF_FORMAT_PCM_24:
      return 3;
    case SF_FORMAT_PCM_32:
    case SF_FORMAT_FLOAT:
      return 4;
    case SF_FORMAT_DOUBLE:
      return 8;
    default:
      return 0;
  }
}

absl::StatusOr<ListenResult> listen_wav(const std::string& path, const ListenFileOptions& options) {
  SF_INFO info{};
  SndFilePtr file(sf_open(path.c_str(), SFM_READ, &info));
  if (!file) {
    return absl::InvalidArgumentError(absl::StrCat(
        "'", path, "' is not audio jamd can read (", sf_strerror(nullptr),
        "); jamd listen takes a WAV file (PCM 16/24-bit or float, any rate, mono or stereo) or a "
        "Standard MIDI File"));
  }
  if (info.channels < 1 || info.channels > 2) {
    return absl::InvalidArgumentError(absl::StrCat("'", path, "' has ", info.channels,
                                                   " channels; jamd listen takes mono or stereo: "
                                                   "mix it down first"));
  }
  if (info.samplerate < 8000 || info.samplerate > 384000) {
    return absl::InvalidArgumentError(absl::StrCat("'", path, "' has a sample rate of ",
                                                   info.samplerate,
                                                   " Hz; jamd listen takes 8 kHz to 384 kHz"));
  }
  std::vector<float> samples;
  std::vector<float> block(static_cast<size_t>(info.channels) * 4096);
  sf_count_t got = 0;
  while ((got = sf_readf_float(file.get(), block.data(), 4096)) > 0) {
    samples.insert(samples.end(), block.begin(), block.begin() + got * info.channels);
  }
  if (samples.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", path, "' holds no audio frames (an empty or truncated WAV)"));
  }
  ListenResult r =
      listen_audio(samples, info.channels, static_cast<uint32_t>(info.samplerate), options);
  r.path = path;
  const std::string warning = truncation_warning(path, info.channels, bytes_per_sample(info.format),
                                                 static_cast<uint32_t>(info.samplerate));
  if (!warning.empty()) r.warnings.push_back(warning);
  return r;
}

void json_string(std::string& out, const std::string& s) {
  out += '"';
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      out += absl::StrFormat("\\u%04x", c);
    } else {
      out += c;
    }
  }
  out += '"';
}

const char* source_name(HeardSource s) {
  switch (s) {
    case HeardSource::kAudio:
      return "audio";
    case HeardSource::kMidi:
      return "midi";
    case HeardSource::kMidiClock:
      return "midi_clock";
  }
  return "?";
}

}  // namespace

std::vector<TimedMidiMessage> midi_timeline(const MidiFile& file, uint32_t rate,
                                            int64_t* end_frame) {
  TempoMap map(rate, file.ticks_per_quarter);
  struct Tagged {
    uint64_t tick;
    size_t order;
    const MidiEvent* event;
  };
  std::vector<Tagged> all;
  uint64_t end_tick = 0;
  for (const MidiTrack& track : file.tracks) {
    for (const MidiEvent& e : track.events) {
      all.push_back({e.tick, all.size(), &e});
      end_tick = std::max(end_tick, e.tick);
    }
    end_tick = std::max(end_tick, track.end_tick);
  }
  std::stable_sort(all.begin(), all.end(),
                   [](const Tagged& a, const Tagged& b) { return a.tick < b.tick; });
  for (const Tagged& t : all) {
    const MidiEvent& e = *t.event;
    if (e.is_meta() && e.meta_type == kMetaTempo && e.data.size() == 3) {
      const int us = (e.data[0] << 16) | (e.data[1] << 8) | e.data[2];
      if (us > 0) map.set_tempo(static_cast<int64_t>(e.tick), 60e6 / us);
    }
  }
  std::vector<TimedMidiMessage> out;
  for (const Tagged& t : all) {
    const MidiEvent& e = *t.event;
    if (e.status < 0x80 || e.status >= 0xF0 || e.data.size() > 2) continue;
    TimedMidiMessage m;
    m.frame =
        static_cast<uint64_t>(std::max<int64_t>(0, map.frame_at(static_cast<int64_t>(e.tick))));
    m.message.size = static_cast<uint8_t>(1 + e.data.size());
    m.message.bytes[0] = e.status;
    for (size_t i = 0; i < e.data.size(); ++i) m.message.bytes[i + 1] = e.data[i];
    out.push_back(m);
  }
  if (end_frame != nullptr) *end_frame = map.frame_at(static_cast<int64_t>(end_tick));
  return out;
}

ListenResult listen_audio(std::span<const float> interleaved, int channels, uint32_t rate,
                          const ListenFileOptions& options) {
  ListenResult r;
  r.kind = "audio";
  r.sample_rate_hz = rate;
  r.channels = channels;
  const size_t n_frames = interleaved.size() / static_cast<size_t>(channels);
  r.duration_s = static_cast<double>(n_frames) / rate;
  ListenerOptions lo = options.listener;
  lo.sample_rate_hz = rate;
  Listener listener(lo);
  std::vector<float> left(options.block_frames), right(channels == 2 ? options.block_frames : 0);
  Pacer pacer(options.real_time, rate);
  for (size_t start = 0; start < n_frames; start += options.block_frames) {
    const size_t n = std::min<size_t>(options.block_frames, n_frames - start);
    pacer.wait_until(static_cast<int64_t>(start + n));
    for (size_t i = 0; i < n; ++i) {
      left[i] = interleaved[(start + i) * static_cast<size_t>(channels)];
      if (channels == 2) right[i] = interleaved[(start + i) * 2 + 1];
    }
    listener.feed_audio(std::span<const float>(left.data(), n),
                        std::span<const float>(right.data(), channels == 2 ? n : 0));
    for (const HeardEvent& e : listener.drain()) r.events.push_back(e);
  }
  listener.finish();
  for (const HeardEvent& e : listener.drain()) r.events.push_back(e);
  r.wall_s = pacer.elapsed_s();
  return r;
}

ListenResult listen_midi(const MidiFile& file, const ListenFileOptions& options) {
  ListenResult r;
  r.kind = "midi";
  const uint32_t rate = options.midi_sample_rate_hz;
  r.sample_rate_hz = rate;
  int64_t end_frame = 0;
  const std::vector<TimedMidiMessage> timeline = midi_timeline(file, rate, &end_frame);
  r.duration_s = static_cast<double>(end_frame) / rate;
  for (const MidiTrack& track : file.tracks) {
    for (const MidiEvent& e : track.events) {
      if (r.time_signature.empty() && e.is_meta() && e.meta_type == kMetaTimeSignature &&
          e.data.size() >= 2) {
        r.time_signature = absl::StrCat(e.data[0], "/", 1 << std::min<int>(e.data[1], 6));
      }
    }
  }
  ListenerOptions lo = options.listener;
  lo.sample_rate_hz = rate;
  Listener listener(lo);
  Pacer pacer(options.real_time, rate);
  size_t next = 0;
  // A little past the last event so the last beats and chords are decided.
  const int64_t stop = end_frame + rate;
  for (int64_t frame = options.block_frames; frame < stop + options.block_frames;
       frame += options.block_frames) {
    pacer.wait_until(frame);
    const size_t first = next;
    while (next < timeline.size() && static_cast<int64_t>(timeline[next].frame) < frame) ++next;
    listener.feed_midi(std::span<const TimedMidiMessage>(timeline.data() + first, next - first));
    listener.advance_to(frame);
    for (const HeardEvent& e : listener.drain()) r.events.push_back(e);
  }
  listener.finish();
  for (const HeardEvent& e : listener.drain()) r.events.push_back(e);
  r.wall_s = pacer.elapsed_s();
  return r;
}

absl::StatusOr<ListenResult> listen_file(const std::string& path,
                                         const ListenFileOptions& options) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::NotFoundError(
        absl::StrCat("cannot open '", path, "': no such file, or not readable"));
  }
  char magic[4] = {0, 0, 0, 0};
  in.read(magic, 4);
  if (in.gcount() == 4 && std::string(magic, 4) == "MThd") {
    absl::StatusOr<MidiFile> midi = read_midi_file(path);
    if (!midi.ok()) return midi.status();
    ListenResult r = listen_midi(*midi, options);
    r.path = path;
    bool any_note = false;
    for (const HeardEvent& e : r.events) any_note |= e.kind == HeardKind::kNoteOn;
    if (!any_note) r.warnings.push_back("the MIDI file has no notes: nothing to hear");
    return r;
  }
  return listen_wav(path, options);
}

std::string listen_result_json(const ListenResult& r) {
  const double rate = r.sample_rate_hz;
  auto secs = [&](int64_t frame) { return static_cast<double>(frame) / rate; };
  auto latency_ms = [&](const HeardEvent& e) {
    return 1000.0 * static_cast<double>(e.decided_frame - e.frame) / rate;
  };
  std::string out = "{\n  \"file\": ";
  json_string(out, r.path);
  absl::StrAppendFormat(&out,
                        ",\n  \"kind\": \"%s\",\n  \"sample_rate_hz\": %u,\n  \"channels\": %d,\n"
                        "  \"duration_s\": %.3f,\n  \"wall_s\": %.3f,\n",
                        r.kind, r.sample_rate_hz, r.channels, r.duration_s, r.wall_s);
  if (!r.time_signature.empty()) {
    absl::StrAppendFormat(&out, "  \"time_signature\": \"%s\",\n", r.time_signature);
  }
  out += "  \"warnings\": [";
  for (size_t i = 0; i < r.warnings.size(); ++i) {
    if (i) out += ", ";
    json_string(out, r.warnings[i]);
  }
  out += "],\n";
  std::string beats, chords, keys, onsets, other;
  std::map<std::pair<int, int>, const HeardEvent*> open_notes;  // (source, pitch)
  std::vector<std::pair<const HeardEvent*, int64_t>> notes;     // note on, off frame
  const HeardEvent* last_key = nullptr;
  auto sep = [](std::string& s) { s += s.empty() ? "\n    " : ",\n    "; };
  for (const HeardEvent& e : r.events) {
    switch (e.kind) {
      case HeardKind::kBeat:
        sep(beats);
        absl::StrAppendFormat(&beats,
                              "{\"time_s\": %.4f, \"tempo_bpm\": %.2f, \"confidence\": %.2f, "
                              "\"latency_ms\": %.1f, \"source\": \"%s\"}",
                              secs(e.frame), e.tempo_bpm, e.confidence, latency_ms(e),
                              source_name(e.source));
        break;
      case HeardKind::kChord:
        sep(chords);
        absl::StrAppendFormat(&chords,
                              "{\"time_s\": %.4f, \"chord\": \"%s\", \"confidence\": %.2f, "
                              "\"latency_ms\": %.1f, \"source\": \"%s\"}",
                              secs(e.frame), chord_name(e.chord), e.confidence, latency_ms(e),
                              source_name(e.source));
        break;
      case HeardKind::kKey:
        sep(keys);
        absl::StrAppendFormat(&keys, "{\"time_s\": %.4f, \"key\": \"%s\", \"confidence\": %.2f}",
                              secs(e.frame), key_name(e.key), e.confidence);
        last_key = &e;
        break;
      case HeardKind::kOnset:
        sep(onsets);
        absl::StrAppendFormat(&onsets, "%.4f", secs(e.frame));
        break;
      case HeardKind::kNoteOn: {
        const auto k = std::make_pair(static_cast<int>(e.source), e.pitch);
        if (auto it = open_notes.find(k); it != open_notes.end()) {
          notes.push_back({it->second, e.frame});
        }
        open_notes[k] = &e;
        break;
      }
      case HeardKind::kNoteOff: {
        const auto k = std::make_pair(static_cast<int>(e.source), e.pitch);
        if (auto it = open_notes.find(k); it != open_notes.end()) {
          notes.push_back({it->second, e.frame});
          open_notes.erase(it);
        }
        break;
      }
      case HeardKind::kNoBeat:
      case HeardKind::kSilence:
      case HeardKind::kSound:
        sep(other);
        absl::StrAppendFormat(&other, "{\"kind\": \"%s\", \"time_s\": %.4f}",
                              heard_kind_name(e.kind), secs(e.frame));
        break;
    }
  }
  for (const auto& [k, on] : open_notes) notes.push_back({on, -1});
  std::sort(notes.begin(), notes.end(),
            [](const auto& a, const auto& b) { return a.first->frame < b.first->frame; });
  std::string note_json;
  for (const auto& [on, off] : notes) {
    sep(note_json);
    absl::StrAppendFormat(&note_json,
                          "{\"onset_s\": %.4f, \"offset_s\": %s, \"pitch\": %d, \"velocity\": %d, "
                          "\"latency_ms\": %.1f, \"source\": \"%s\"}",
                          secs(on->frame), off < 0 ? "null" : absl::StrFormat("%.4f", secs(off)),
                          on->pitch, on->velocity, latency_ms(*on), source_name(on->source));
  }
  auto array = [&](const char* name, const std::string& body, bool last) {
    absl::StrAppendFormat(&out, "  \"%s\": [%s%s]%s\n", name, body, body.empty() ? "" : "\n  ",
                          last ? "" : ",");
  };
  if (last_key != nullptr) {
    absl::StrAppendFormat(&out, "  \"key\": {\"key\": \"%s\", \"confidence\": %.2f},\n",
                          key_name(last_key->key), last_key->confidence);
  } else {
    out += "  \"key\": null,\n";
  }
  array("beats", beats, false);
  array("chords", chords, false);
  array("notes", note_json, false);
  array("keys", keys, false);
  array("onsets", onsets, false);
  array("events", other, true);
  out += "}\n";
  return out;
}

}  // namespace jamd::realtime
