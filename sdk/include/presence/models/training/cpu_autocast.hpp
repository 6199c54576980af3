// CPU autocast to bfloat16 for a scope: matrix products and convolutions run in bf16 (oneDNN),
// master weights and the optimiser stay float32. LibTorch 2.4 replaced the CPU-specific setters
// by device-type ones; this guard hides the difference and restores what it found.
#pragma once

#include <ATen/autocast_mode.h>

namespace presence::models::training {

class CpuAutocast {
 public:
  explicit CpuAutocast(bool on) : on_(on) {
    if (!on_) return;
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
    wasEnabled_ = at::autocast::is_autocast_enabled(at::kCPU);
    wasDtype_ = at::autocast::get_autocast_dtype(at::kCPU);
    at::autocast::set_autocast_enabled(at::kCPU, true);
    at::autocast::set_autocast_dtype(at::kCPU, at::kBFloat16);
#else
    wasEnabled_ = at::autocast::is_cpu_enabled();
    wasDtype_ = at::autocast::get_autocast_cpu_dtype();
    at::autocast::set_cpu_enabled(true);
    at::autocast::set_autocast_cpu_dtype(at::kBFloat16);
#endif
    at::autocast::increment_nesting();
  }
  ~CpuAutocast() {
    if (!on_) return;
    if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
    at::autocast::set_autocast_enabled(at::kCPU, wasEnabled_);
    at::autocast::set_autocast_dtype(at::kCPU, wasDtype_);
#else
    at::autocast::set_cpu_enabled(wasEnabled_);
    at::autocast::set_autocast_cpu_dtype(wasDtype_);
#endif
  }
  CpuAutocast(const CpuAutocast&) = delete;
  CpuAutocast& operator=(const CpuAutocast&) = delete;

  /// Whether CPU autocast is on in this thread now (tests check it is restored).
  static bool enabled() {
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
    return at::autocast::is_autocast_enabled(at::kCPU);
#else
    return at::autocast::is_cpu_enabled();
#endif
  }

 private:
  bool on_, wasEnabled_ = false;
  at::ScalarType wasDtype_ = at::kBFloat16;
};

}  // namespace presence::models::training
