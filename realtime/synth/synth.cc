// Synth: FluidSynth settings, SoundFont loading with actionable errors, and the RT-side
// message dispatch and rendering.
#include "realtime/synth/synth.h"

#include <sys/stat.h>

#include <atomic>
#include <cstdio>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"

namespace jamd::realtime {
namespace {

static_assert(static_cast<int>(Interpolation::kNone) == FLUID_INTERP_NONE &&
              static_cast<int>(Interpolation::kLinear) == FLUID_INTERP_LINEAR &&
              static_cast<int>(Interpolation::kFourthOrder) == FLUID_INTERP_4THORDER &&
              static_cast<int>(Interpolation::kSeventhOrder) == FLUID_INTERP_7THORDER);

// FluidSynth logs to stderr by default, which would be I/O on the RT thread. Errors and panics
// are kept here instead (the latest, for the load error message) and counted. Warnings, info and
// debug messages get no handler at all: FluidSynth formats a message (vsnprintf) only when its
// level has one, and it logs at info level on the RT thread every time it steals a voice.
char g_last_fluid_error[256] = {0};
std::atomic<uint64_t> g_fluid_log_messages{0};

void keep_fluid_log(int level, const char* message, void* /*data*/) {
  g_fluid_log_messages.fetch_add(1, std::memory_order_relaxed);
  if (level <= FLUID_ERR && message != nullptr) {
    std::strncpy(g_last_fluid_error, message, sizeof(g_last_fluid_error) - 1);
  }
}

void quiet_fluid_logs() {
  static const bool installed = [] {
    for (int level : {FLUID_PANIC, FLUID_ERR}) {
      fluid_set_log_function(level, keep_fluid_log, nullptr);
    }
    for (int level : {FLUID_WARN, FLUID_INFO, FLUID_DBG}) {
      fluid_set_log_function(level, nullptr, nullptr);
    }
    return true;
  }();
  (void)installed;
}

// FluidSynth's default modulators from CC 91 and CC 93 feed its own reverb and chorus sends,
// which are off: removing them spares every voice start their evaluation (its modulator list is
// merged and evaluated per voice, on the RT thread). Band's effects take the whole mix instead.
void remove_effect_send_modulators(fluid_synth_t* synth) {
  for (const auto& [cc, send] : {std::pair{91, GEN_REVERBSEND}, std::pair{93, GEN_CHORUSSEND}}) {
    fluid_mod_t* mod = new_fluid_mod();
    if (mod == nullptr) return;
    fluid_mod_set_source1(
        mod, cc, FLUID_MOD_CC | FLUID_MOD_LINEAR | FLUID_MOD_UNIPOLAR | FLUID_MOD_POSITIVE);
    fluid_mod_set_source2(mod, 0, 0);
    fluid_mod_set_dest(mod, send);
    fluid_synth_remove_default_mod(synth, mod);  // FLUID_FAILED if absent: nothing to spare
    delete_fluid_mod(mod);
  }
}

// A SoundFont 2 file is a RIFF file of form "sfbk". Checked up front because FluidSynth hands
// anything else to libinstpatch, which prints GLib warnings to stderr instead of failing cleanly.
bool has_soundfont_header(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) return false;
  char header[12] = {0};
  const size_t n = std::fread(header, 1, sizeof(header), f);
  std::fclose(f);
  return n == sizeof(header) && std::memcmp(header, "RIFF", 4) == 0 &&
         std::memcmp(header + 8, "sfbk", 4) == 0;
}

bool is_readable_file(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

void apply_settings(fluid_settings_t* s, const SynthOptions& o) {
  fluid_settings_setnum(s, "synth.sample-rate", o.sample_rate_hz);
  fluid_settings_setint(s, "synth.polyphony", o.polyphony);
  fluid_settings_setnum(s, "synth.gain", o.gain);
  fluid_settings_setint(s, "synth.midi-channels", 16);
  // One RT thread drives the synth: no API mutex, no helper threads.
  fluid_settings_setint(s, "synth.threadsafe-api", 0);
  fluid_settings_setint(s, "synth.cpu-cores", 1);
  // Samples all in memory up front: no loading (I/O, allocation) on a note on.
  fluid_settings_setint(s, "synth.dynamic-sample-loading", 0);
  // No effects inside FluidSynth: Debian builds it with OpenMP, and its reverb and chorus run in
  // a parallel region whose team libgomp allocates and frees on every render call. Band applies
  // the band's own allocation-free reverb and chorus to the mix instead.
  fluid_settings_setint(s, "synth.reverb.active", 0);
  fluid_settings_setint(s, "synth.chorus.active", 0);
}

}  // namespace

absl::StatusOr<std::string> resolve_soundfont(std::string_view name) {
  if (name.empty() || name == "default" || name == "timgm6mb") {
    if (is_readable_file(kDefaultSoundFontPath)) return std::string(kDefaultSoundFontPath);
    return absl::NotFoundError(absl::StrCat(
        "the default SoundFont ", kDefaultSoundFontPath,
        " is missing: install it (apt-get install timgm6mb-soundfont) or pass --soundfont PATH"));
  }
  if (name == "fluidr3") {
    if (is_readable_file(kFluidR3SoundFontPath)) return std::string(kFluidR3SoundFontPath);
    return absl::NotFoundError(absl::StrCat(
        "the FluidR3 SoundFont ", kFluidR3SoundFontPath,
        " is not installed: apt-get install fluid-soundfont-gm, or use --soundfont default"));
  }
  std::string path(name);
  if (!is_readable_file(path)) {
    return absl::NotFoundError(
        absl::StrCat("SoundFont '", path,
                     "' not found: pass an existing .sf2 file, 'default' (TimGM6mb) or 'fluidr3'"));
  }
  if (!has_soundfont_header(path)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "'", path, "' is not a SoundFont 2 file (no RIFF 'sfbk' header): pass a .sf2 file, ",
        "'default' (TimGM6mb) or 'fluidr3'"));
  }
  return path;
}

absl::StatusOr<std::unique_ptr<Synth>> Synth::create(const SynthOptions& options) {
  quiet_fluid_logs();
  absl::StatusOr<std::string> path = resolve_soundfont(options.soundfont);
  if (!path.ok()) return path.status();
  if (options.sample_rate_hz < 8000 || options.sample_rate_hz > 96000) {
    return absl::InvalidArgumentError(absl::StrCat("sample rate ", options.sample_rate_hz,
                                                   " Hz is outside FluidSynth's 8000..96000 Hz"));
  }
  std::unique_ptr<Synth> synth(new Synth());
  synth->soundfont_path_ = *path;
  synth->options_ = options;
  synth->settings_.reset(new_fluid_settings());
  if (!synth->settings_) return absl::ResourceExhaustedError("FluidSynth: out of memory");
  apply_settings(synth->settings_.get(), options);
  synth->synth_.reset(new_fluid_synth(synth->settings_.get()));
  if (!synth->synth_) {
    return absl::InternalError(absl::StrCat("FluidSynth could not start: ", g_last_fluid_error));
  }
  g_last_fluid_error[0] = '\0';
  if (fluid_synth_sfload(synth->synth_.get(), path->c_str(), /*reset_presets=*/1) == FLUID_FAILED) {
    return absl::InvalidArgumentError(
        absl::StrCat("SoundFont '", *path, "' could not be loaded (is it a valid .sf2 file?)",
                     g_last_fluid_error[0] != '\0' ? ": " : "", g_last_fluid_error));
  }
  for (int ch = 0; ch < 16; ++ch) {
    fluid_synth_set_channel_type(synth->synth_.get(), ch,
                                 ch == kGmDrumChannel ? CHANNEL_TYPE_DRUM : CHANNEL_TYPE_MELODIC);
  }
  remove_effect_send_modulators(synth->synth_.get());
  fluid_synth_set_interp_method(synth->synth_.get(), /*chan=all*/ -1,
                                static_cast<int>(options.interpolation));
  fluid_synth_bank_select(synth->synth_.get(), kGmDrumChannel, 128);
  fluid_synth_program_change(synth->synth_.get(), kGmDrumChannel, 0);
  return synth;
}

void Synth::handle(const MidiMessage& message) {
  fluid_synth_t* s = synth_.get();
  const int status = message.bytes[0] & 0xF0;
  const int ch = message.bytes[0] & 0x0F;
  const int d1 = message.bytes[1];
  const int d2 = message.bytes[2];
  switch (status) {
    case 0x80:
      fluid_synth_noteoff(s, ch, d1);
      break;
    case 0x90:
      if (d2 == 0) {
        fluid_synth_noteoff(s, ch, d1);
      } else {
        fluid_synth_noteon(s, ch, d1, d2);
      }
      break;
    case 0xA0:
      fluid_synth_key_pressure(s, ch, d1, d2);
      break;
    case 0xB0:
      fluid_synth_cc(s, ch, d1, d2);
      break;
    case 0xC0:
      fluid_synth_program_change(s, ch, d1);
      break;
    case 0xD0:
      fluid_synth_channel_pressure(s, ch, d1);
      break;
    case 0xE0:
      fluid_synth_pitch_bend(s, ch, d1 | (d2 << 7));
      break;
    default:
      break;  // system messages do not reach the synth
  }
}

void Synth::render(float* left, float* right, uint32_t n_frames) {
  fluid_synth_write_float(synth_.get(), static_cast<int>(n_frames), left, 0, 1, right, 0, 1);
}

int Synth::active_voices() const { return fluid_synth_get_active_voice_count(synth_.get()); }

}  // namespace jamd::realtime
