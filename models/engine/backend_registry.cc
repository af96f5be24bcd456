// Chooses the model backend. The only file that knows whether CUDA was built in.
#include "models/engine/backend_registry.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

#if defined(JAMD_HAVE_CUDA)
#include "models/cuda/cuda_backend_factory.h"
#endif

namespace jamd::models {

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
  (void)kind;
  (void)weights;
  (void)options;
  return absl::UnimplementedError("model backends are not built yet");
}

}  // namespace jamd::models
