// The CPU backend: the reference every other backend is tested against, and always available.
// Design: docs/engine.md. Most callers go through create_backend() (backend_registry.h).
//
//   BackendOptions options;                          // threads = 1: batching beats threads here
//   auto cpu = make_cpu_backend(weights, options);   // StatusOr<unique_ptr<Backend>>
//
// Thread safety: as every Backend, one thread at a time (the conductor).
#pragma once

#include <memory>

#include "absl/status/statusor.h"
#include "models/engine/backend.h"

namespace jamd::models {

absl::StatusOr<std::unique_ptr<Backend>> make_cpu_backend(std::shared_ptr<const WeightFile> weights,
                                                          const BackendOptions& options);

}  // namespace jamd::models
