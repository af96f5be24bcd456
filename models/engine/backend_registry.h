// The one place that chooses a model backend: "GPU first, CPU always". No other file asks
// whether CUDA exists.
#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "models/engine/backend.h"

namespace jamd::models {

enum class BackendKind { kAuto, kCpu, kCuda };

struct BackendChoice {
  std::unique_ptr<Backend> backend;
  // Why this backend: "cuda: NVIDIA H100 (sm_90)", "cpu: built without CUDA", "cpu: no CUDA
  // device (cudaGetDeviceCount: no CUDA-capable device is detected)". Logged and in status.
  std::string reason;
};

// kAuto tries CUDA when it is built and a device works, else the CPU. kCuda fails with
// UNAVAILABLE and the reason when it cannot run.
absl::StatusOr<BackendChoice> create_backend(BackendKind kind,
                                             std::shared_ptr<const WeightFile> weights,
                                             const BackendOptions& options);

// Parses "auto", "cpu" or "cuda" (command lines and config files).
absl::StatusOr<BackendKind> parse_backend_kind(absl::string_view text);

}  // namespace jamd::models
