// Entry points of the CUDA backend, in plain C++ so the registry can call them without CUDA
// headers. Only models/engine/backend_registry.cc includes this, and only in CUDA builds (the
// CUDA tests and benchmarks too).
//
//   if (probe_cuda_device(0).ok()) backend = *make_cuda_backend(weights, options);
//   backend->decode(steps, logits);
//   CudaStepTiming t = *cuda_last_step_timing(*backend);  // where the last decode's time went
//
// Thread safety: probe_cuda_device() from any thread; a backend belongs to one thread.
#pragma once

#include <memory>
#include <span>
#include <string>

#include "absl/status/statusor.h"
#include "models/engine/backend.h"

namespace jamd::models {

// OK with a one-line description ("NVIDIA H100 80GB HBM3, sm_90, 79 GiB") when the device can
// run the backend; UNAVAILABLE saying why not (no device, driver too old, kernel image missing).
absl::StatusOr<std::string> probe_cuda_device(int device_index);

absl::StatusOr<std::unique_ptr<Backend>> make_cuda_backend(
    std::shared_ptr<const WeightFile> weights, const BackendOptions& options);

// Where the last decode() of a CUDA backend spent its time (CUDA events, milliseconds).
struct CudaStepTiming {
  int32_t rows = 0;           // decode rows after padding to the graph's batch bucket
  double device_step_ms = 0;  // the decode graph on the device
  double logits_copy_ms = 0;  // device-to-host copy of the logits
};
// INVALID_ARGUMENT when `backend` is not a CUDA backend.
absl::StatusOr<CudaStepTiming> cuda_last_step_timing(const Backend& backend);

}  // namespace jamd::models
