#include "presence/models/dit/dit_checkpoint.hpp"

#include "presence/core/error.hpp"
#include "presence/runtime/checkpoint_reader.hpp"
#include "presence/runtime/safetensors_writer.hpp"

namespace presence::models::dit {

LoadedDit loadDitCheckpoint(const DitConfig& config, const std::filesystem::path& path,
                            const DitLoadOptions& options) {
  auto reader = std::make_shared<const runtime::CheckpointReader>(path);
  std::vector<CheckpointTensorInfo> infos;
  for (const auto& spec : reader->specs()) infos.push_back({spec.name, spec.shape, std::string(c10::toString(spec.dtype))});

  DitWeights weights = DitWeights::empty(config);
  CheckpointPlan plan = planCheckpointLoad(weights.manifest(), infos, options.loadStoredOnly);
  if (!plan.ok(options.strict))
    throw core::InputError(path.string() + ": does not fit DiT preset '" + config.name + "':\n" + plan.report());

  for (const auto& a : plan.assignments) {
    const ParameterSpec& p = weights.manifest().parameters[a.parameter];
    weights.set(p.name, reader->load(a.fileKey, options.device, options.dtype));
  }
  // Only the `_prime` weights the plan names: the stored-only ones stay unallocated.
  for (const auto& [param, twin] : plan.copiedFromTwin) {
    const auto& specs = weights.manifest().parameters;
    weights.set(specs[param].name, weights.get(specs[twin].name).clone());
  }
  weights.initialiseMissing(options.seed);
  if (!weights.missing().empty())
    throw core::Error(path.string() + ": weights still missing after loading: " + weights.missing().front());
  return {std::move(weights), std::move(plan), std::move(reader)};
}

std::filesystem::path saveDitCheckpoint(const DitWeights& weights, const std::filesystem::path& path,
                                        const DitSaveOptions& options, const runtime::CheckpointReader* source) {
  const at::ScalarType dtype = options.dtype ? *options.dtype : dtypeFromString(weights.config().weightDtype);
  std::map<std::string, at::Tensor> tensors;
  for (const ParameterSpec& p : weights.manifest().parameters) {
    if (p.role == ParameterRole::Extension && !options.includeExtensions) continue;
    if (p.role == ParameterRole::StoredOnly && !options.includeStoredOnly) continue;
    at::Tensor t;
    if (weights.contains(p.name)) {
      t = weights.get(p.name);
    } else if (p.role == ParameterRole::StoredOnly && source && source->contains(p.name)) {
      t = source->view(p.name);
    } else if (!p.twin.empty() && weights.contains(p.twin)) {
      t = weights.get(p.twin);
    } else {
      throw core::Error(path.string() + ": cannot save '" + p.name + "': it is not held and has no source");
    }
    tensors.emplace(p.name, t.detach().to(at::kCPU, dtype).contiguous());
  }
  runtime::SafetensorsWriteOptions write;
  write.metadata = options.metadata;
  write.metadata.emplace("presence.dit_preset", weights.config().name);
  if (options.maxShardBytes > 0)
    return runtime::saveShardedSafetensors(path, "model", tensors, options.maxShardBytes, write);
  runtime::saveSafetensors(path, tensors, write);
  return path;
}

}  // namespace presence::models::dit
