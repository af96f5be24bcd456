// The deleters for the C handles realtime/ owns (FluidSynth, libsndfile), so each is a
// std::unique_ptr and is released exactly once. Add new C handles here, not elsewhere.
//
//   FluidSettingsPtr settings(new_fluid_settings());
//   SndFilePtr wav(sf_open(path, SFM_WRITE, &info));
//
// Thread safety: the deleters are stateless; the handles they free are owned by one thread.
#pragma once

#include <fluidsynth.h>
#include <jack/jack.h>
#include <sndfile.h>

#include <memory>

namespace jamd::realtime {

struct FluidSettingsDeleter {
  void operator()(fluid_settings_t* p) const { delete_fluid_settings(p); }
};
struct FluidSynthDeleter {
  void operator()(fluid_synth_t* p) const { delete_fluid_synth(p); }
};
struct SndFileDeleter {
  void operator()(SNDFILE* p) const { sf_close(p); }
};

struct JackClientDeleter {
  void operator()(jack_client_t* p) const { jack_client_close(p); }
};

using FluidSettingsPtr = std::unique_ptr<fluid_settings_t, FluidSettingsDeleter>;
using FluidSynthPtr = std::unique_ptr<fluid_synth_t, FluidSynthDeleter>;
using SndFilePtr = std::unique_ptr<SNDFILE, SndFileDeleter>;
using JackClientPtr = std::unique_ptr<jack_client_t, JackClientDeleter>;

}  // namespace jamd::realtime
