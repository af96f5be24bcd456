// Entry points of the CUDA backend, in plain C++ so the registry can call them without CUDA
// headers. Only models/engine/backend_registry.cc includes this, and only in CUDA builds.
#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "models/engine/backend.h"

namespace jamd::models {

// OK with a one-line description ("NVIDIA H100 80GB HBM3, sm_90, 79 GiB") when the device can
// run the backend; UNAVAILABLE saying why not (no device, driver too old, kernel image missing).
absl::StatusOr<std::string> probe_cuda_device(int device_index);

absl::StatusOr<std::unique_ptr<Backend>> make_cuda_backend(
    std::shared_ptr<const WeightFile> weights, const BackendOptions& options);

}  // namespace jamd::models
