// Owners for CUDA and cuBLAS handles (streams, events, graphs, device and pinned memory), and the
// one place that turns their error codes into absl::Status. CUDA headers stay under models/cuda/.
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace jamd::models::cuda {

struct StreamDeleter {
  void operator()(cudaStream_t s) const { cudaStreamDestroy(s); }
};
struct EventDeleter {
  void operator()(cudaEvent_t e) const { cudaEventDestroy(e); }
};
struct GraphDeleter {
  void operator()(cudaGraph_t g) const { cudaGraphDestroy(g); }
};
struct GraphExecDeleter {
  void operator()(cudaGraphExec_t g) const { cudaGraphExecDestroy(g); }
};
struct CublasDeleter {
  void operator()(cublasHandle_t h) const { cublasDestroy(h); }
};
struct DeviceMemoryDeleter {
  void operator()(void* p) const { cudaFree(p); }
};
struct PinnedMemoryDeleter {
  void operator()(void* p) const { cudaFreeHost(p); }
};

using UniqueStream = std::unique_ptr<std::remove_pointer_t<cudaStream_t>, StreamDeleter>;
using UniqueEvent = std::unique_ptr<std::remove_pointer_t<cudaEvent_t>, EventDeleter>;
using UniqueGraph = std::unique_ptr<std::remove_pointer_t<cudaGraph_t>, GraphDeleter>;
using UniqueGraphExec = std::unique_ptr<std::remove_pointer_t<cudaGraphExec_t>, GraphExecDeleter>;
using UniqueCublas = std::unique_ptr<std::remove_pointer_t<cublasHandle_t>, CublasDeleter>;
using DeviceMemory = std::unique_ptr<void, DeviceMemoryDeleter>;
using PinnedMemory = std::unique_ptr<void, PinnedMemoryDeleter>;

inline absl::Status cuda_status(cudaError_t error, const char* what) {
  if (error == cudaSuccess) return absl::OkStatus();
  return absl::InternalError(
      absl::StrCat(what, ": ", cudaGetErrorName(error), " (", cudaGetErrorString(error), ")"));
}

inline absl::Status cublas_status(cublasStatus_t status, const char* what) {
  if (status == CUBLAS_STATUS_SUCCESS) return absl::OkStatus();
  return absl::InternalError(absl::StrCat(what, ": cuBLAS ", cublasGetStatusName(status), " (",
                                          cublasGetStatusString(status), ")"));
}

// Device memory of `bytes`; RESOURCE_EXHAUSTED names what did not fit.
inline absl::Status allocate_device(size_t bytes, const char* what, DeviceMemory* out) {
  void* p = nullptr;
  const cudaError_t e = cudaMalloc(&p, bytes == 0 ? 1 : bytes);
  if (e != cudaSuccess) {
    cudaGetLastError();  // clear the sticky-free allocation error
    return absl::ResourceExhaustedError(
        absl::StrCat("CUDA: cannot allocate ", bytes >> 20, " MiB for ", what, " (",
                     cudaGetErrorString(e), "); lower max_streams or use reduced precision"));
  }
  out->reset(p);
  return absl::OkStatus();
}

inline absl::Status allocate_pinned(size_t bytes, const char* what, PinnedMemory* out) {
  void* p = nullptr;
  if (absl::Status s = cuda_status(cudaMallocHost(&p, bytes == 0 ? 1 : bytes), what); !s.ok()) {
    return s;
  }
  out->reset(p);
  return absl::OkStatus();
}

}  // namespace jamd::models::cuda

#define JAMD_CUDA_TRY(expr)                                                                     \
  do {                                                                                          \
    if (absl::Status jamd_s_ = ::jamd::models::cuda::cuda_status((expr), #expr); !jamd_s_.ok()) \
      return jamd_s_;                                                                           \
  } while (0)

#define JAMD_CUBLAS_TRY(expr)                                                                     \
  do {                                                                                            \
    if (absl::Status jamd_s_ = ::jamd::models::cuda::cublas_status((expr), #expr); !jamd_s_.ok()) \
      return jamd_s_;                                                                             \
  } while (0)
