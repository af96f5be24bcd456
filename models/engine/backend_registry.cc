// Chooses the model backend. The only file that knows whether CUDA was built in.
#include "models/engine/backend_registry.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "models/engine/cpu_backend.h"

#if defined(JAMD_HAVE_CUDA)
#include "models/cuda/cuda_backend_factory.h"
#endif

namespace jamd::models {
namespace {

absl::StatusOr<BackendChoice> choose_cpu(std::shared_ptr<const WeightFile> weights,
                                         const BackendOptions& options, const std::string& why) {
  auto cpu = make_cpu_backend(std::move(weights), options);
  if (!cpu.ok()) return cpu.status();
  return BackendChoice{std::move(*cpu), absl::StrCat("cpu: ", why)};
}

}  // namespace

absl::StatusOr<BackendKind> parse_backend_kind(absl::string_view text) {
  if (text == "auto") return BackendKind::kAuto;
  if (text == "cpu") return BackendKind::kCpu;
  if (text == "cuda") return BackendKind::kCuda;
  return absl::InvalidArgumentError(
      absl::StrCat("unknown backend '", text, "'; use auto, cpu or cuda"));
}

absl::StatusOr<BackendChoice> create_backend(BackendKind kind,
                                             std::shared_ptr<const WeightFile> weights,
                                             const BackendOptions& options) {
  if (weights == nullptr) return absl::InvalidArgumentError("create_backend: no weights");
  if (kind == BackendKind::kCpu) return choose_cpu(std::move(weights), options, "asked for");
#if defined(JAMD_HAVE_CUDA)
  absl::StatusOr<std::string> device = probe_cuda_device(options.device_index);
  if (device.ok()) {
    auto cuda = make_cuda_backend(weights, options);
    if (cuda.ok()) return BackendChoice{std::move(*cuda), absl::StrCat("cuda: ", *device)};
    if (kind == BackendKind::kCuda) return cuda.status();
    return choose_cpu(
        std::move(weights), options,
        absl::StrCat("the CUDA backend failed to start (", cuda.status().message(), ")"));
  }
  if (kind == BackendKind::kCuda) return device.status();
  return choose_cpu(std::move(weights), options,
                    absl::StrCat("no usable CUDA device (", device.status().message(), ")"));
#else
  if (kind == BackendKind::kCuda) {
    return absl::UnavailableError(
        "this jamd was built without CUDA; rebuild with -DJAMD_CUDA=ON or use --backend cpu");
  }
  return choose_cpu(std::move(weights), options, "built without CUDA");
#endif
}

}  // namespace jamd::models
