// The CPU backend: the reference every other backend is tested against, and always available.
#pragma once

#include <memory>

#include "absl/status/statusor.h"
#include "models/engine/backend.h"

namespace jamd::models {

absl::StatusOr<std::unique_ptr<Backend>> make_cpu_backend(std::shared_ptr<const WeightFile> weights,
                                                          const BackendOptions& options);

}  // namespace jamd::models
