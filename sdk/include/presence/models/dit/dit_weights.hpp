// The dual-tower DiT's weights: one tensor per manifest entry, by its official name.
//
// DitWeights is a name -> at::Tensor map that follows the manifest (dit_manifest.hpp) exactly:
// it never invents, renames or reshapes a parameter. `allocate` initialises every tensor the
// forward pass reads (roles Forward and Extension) the way the public code does; the StoredOnly
// `_prime` copies of the released checkpoint are only allocated on request (a saver that must
// write a complete public file asks for them). A checkpoint loader starts from `empty`, `set`s
// what the file holds, then calls `fillPrimeFromTwins` and `initialiseMissing`.
//
// Ownership: tensors are reference-counted LibTorch tensors; copying a DitWeights shares them.
// Threading: const members may be called from several threads; mutating members may not run
// concurrently with anything else. Errors: presence::core::Error naming the weight and the cause.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "presence/models/dit/dit_config.hpp"
#include "presence/models/dit/dit_manifest.hpp"

namespace presence::models::dit {

/// Where `allocate` draws random initial values.
enum class RandomSource {
  /// float32 on the CPU from one generator per tensor: the same values on every device and
  /// machine (what training and tests use).
  Cpu,
  /// On the target device from its default generator, reseeded per tensor with the same
  /// (seed, name) seed: fast for large models on a GPU (the `iap` preset's 21.5 billion values
  /// take minutes on one CPU core), reproducible on the same kind of device only. Not
  /// thread-safe against other users of that device's default generator. Same as Cpu on the CPU.
  Device,
};

class DitWeights {
 public:
  /// No tensors yet; `set` fills it (a checkpoint loader's starting point).
  static DitWeights empty(const DitConfig& config);

  /// Every Forward and Extension tensor, initialised per its spec.init:
  ///   "xavier_uniform" on the weight viewed as [out, rest]; "zeros"; "ones";
  ///   "normal_<std>" (e.g. "normal_0.02"; plain "normal" is std 1); "modulation" = randn / sqrt(dim).
  /// Each tensor draws from its own generator seeded by (seed, name), so a tensor's initial value
  /// does not depend on which other tensors exist (a one-block variant shares block 0 with the
  /// full config). Values are drawn in float32 on the CPU, then converted to `dtype` on `device`.
  /// StoredOnly tensors are allocated (initialised as copies of their twins) only when asked.
  /// RandomSource::Device draws on `device` instead (see RandomSource).
  static DitWeights allocate(const DitConfig& config, at::Device device, at::ScalarType dtype, uint64_t seed,
                             bool allocateStoredOnly = false, RandomSource source = RandomSource::Cpu);
  /// As above with the config's weightDtype.
  static DitWeights allocate(const DitConfig& config, at::Device device, uint64_t seed,
                             bool allocateStoredOnly = false);

  const DitConfig& config() const { return config_; }
  const Manifest& manifest() const { return manifest_; }

  bool contains(const std::string& name) const;
  /// Throws core::Error naming the weight when it is not present.
  const at::Tensor& get(const std::string& name) const;
  /// Stores a tensor under a manifest name. Throws core::Error when the name is not in the
  /// manifest or the shape differs from the manifest's.
  void set(const std::string& name, at::Tensor tensor);

  /// Names present, in manifest order.
  std::vector<std::string> names() const;
  /// Forward/Extension names that are absent (a model cannot run until this is empty).
  std::vector<std::string> missing() const;
  /// StoredOnly names that are not held (never read by the forward pass).
  std::vector<std::string> ignoredStoredOnly() const;

  /// Copies each absent `_prime` tensor from its twin (spec.twin), as the released loader does.
  /// Twins that are absent themselves are skipped. Returns how many were filled.
  int64_t fillPrimeFromTwins();
  /// Allocates every still-missing Forward/Extension tensor per its init kind (the identity table
  /// of a public checkpoint, for example), on the device and dtype of the tensors already held
  /// (CPU / the config's weightDtype when there are none). Returns how many were created.
  int64_t initialiseMissing(uint64_t seed);

  /// Sets requires_grad on every held tensor (training), or only on those whose name contains
  /// `nameFilter` when it is not empty.
  void setRequiresGrad(bool requiresGrad, const std::string& nameFilter = {});
  /// The held tensors, in manifest order (for an optimiser).
  std::vector<at::Tensor> parameters() const;
  /// Elements held in total.
  int64_t parameterCount() const;
  /// Converts every held tensor (not differentiable; call before setRequiresGrad).
  void to(at::Device device, at::ScalarType dtype);

 private:
  DitWeights(DitConfig config, Manifest manifest);
  at::Tensor initialise(const ParameterSpec& spec, uint64_t seed, at::Device device, at::ScalarType dtype,
                        RandomSource source = RandomSource::Cpu) const;

  DitConfig config_;
  Manifest manifest_;
  std::unordered_map<std::string, int64_t> index_;  // name -> manifest position
  std::unordered_map<std::string, at::Tensor> tensors_;
};

/// "bf16" / "f16" / "f32" -> the ScalarType; throws core::InputError otherwise.
at::ScalarType dtypeFromString(const std::string& name);

}  // namespace presence::models::dit
