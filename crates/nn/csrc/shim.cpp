// Small C entry points into libtorch's global context that the tch crate does not expose:
// deterministic-algorithm flags, cuDNN benchmarking, TF32, inter-op threads and the libtorch
// version. Every function catches C++ exceptions and reports failure through its return value.
#include <ATen/Context.h>
#include <ATen/Parallel.h>
#include <torch/headeronly/version.h>

extern "C" {

int pmlnn_set_deterministic(int on, int warn_only) {
  try {
    auto& ctx = at::globalContext();
    ctx.setDeterministicAlgorithms(on != 0, warn_only != 0);
    ctx.setDeterministicCuDNN(on != 0);
    ctx.setBenchmarkCuDNN(false);
    ctx.setAllowTF32CuBLAS(false);
    ctx.setAllowTF32CuDNN(false);
    return 0;
  } catch (...) {
    return 1;
  }
}

int pmlnn_deterministic(void) {
  try {
    return at::globalContext().deterministicAlgorithms() ? 1 : 0;
  } catch (...) {
    return -1;
  }
}

int pmlnn_set_interop_threads(int n) {
  try {
    at::set_num_interop_threads(n);
    return 0;
  } catch (...) {
    return 1;
  }
}

int pmlnn_version_major(void) { return TORCH_VERSION_MAJOR; }
int pmlnn_version_minor(void) { return TORCH_VERSION_MINOR; }
int pmlnn_version_patch(void) { return TORCH_VERSION_PATCH; }

}  // extern "C"
