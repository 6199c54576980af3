// presence.save_model: writes a model's DiT weights (e.g. after training) as a checkpoint that
// presence.load_model reads back.
#include <algorithm>
#include <regex>
#include <utility>

#include <nlohmann/json.hpp>

#include "node_util.hpp"
#include "presence/models/dit/dit_checkpoint.hpp"
#include "presence/models/generation/payloads.hpp"
#include "presence/runtime/checkpoint_reader.hpp"
#include "presence/runtime/model_key.hpp"
#include "train_nodes.hpp"

namespace presence::nodes::train {
namespace {

using namespace presence::core;
using media::enumParam;
using media::intParam;
using media::port;
using media::stringParam;
namespace gen = presence::models::generation;

/// Shards of an earlier save into the same folder that the new index no longer names (it had more
/// shards), so the folder holds exactly one checkpoint.
void removeStaleShards(const std::filesystem::path& folder, const std::vector<std::filesystem::path>& current) {
  static const std::regex shardName(R"(model-\d{5}-of-\d{5}\.safetensors)");
  for (const auto& entry : std::filesystem::directory_iterator(folder)) {
    const auto name = entry.path().filename().string();
    if (!std::regex_match(name, shardName)) continue;
    if (std::find(current.begin(), current.end(), entry.path()) == current.end()) std::filesystem::remove(entry.path());
  }
}

/// What the weights were made with, the same wherever the run happened: the preset, the seed of
/// random components, and each component file by its path relative to the checkpoint and the
/// content hash of its bytes when saving (every shard of a sharded one). The model cache key
/// names absolute paths and modification times, so writing it gave different bytes on every run.
/// A component that can no longer be read gets a null hash and a warning: the trained weights
/// are saved anyway.
std::string provenance(NodeContext& ctx, const gen::GenerationModel& model,
                       const std::filesystem::path& folder) {
  namespace fs = std::filesystem;
  const auto& spec = model.spec();
  nlohmann::ordered_json j;
  j["preset"] = spec.preset;
  j["seed"] = spec.seed;
  j["random"] = model.randomComponents();
  auto& files = j["files"] = nlohmann::ordered_json::object();
  const fs::path base = fs::absolute(folder).lexically_normal();
  // Lexical, so symlinks on the way are not resolved into the machine's own folder names.
  auto relative = [&](const fs::path& p) {
    const auto r = fs::absolute(p).lexically_normal().lexically_relative(base);
    return (r.empty() ? p.filename() : r).generic_string();
  };
  const std::pair<const char*, const fs::path*> components[] = {
      {"text", &spec.textCheckpoint},          {"tokenizer", &spec.tokenizer},
      {"video_vae", &spec.videoVaeCheckpoint}, {"audio_vae", &spec.audioVaeCheckpoint},
      {"vocoder", &spec.vocoderCheckpoint}};
  for (const auto& [name, path] : components) {
    if (path->empty()) continue;
    nlohmann::ordered_json entry = {{"file", relative(*path)}};
    try {
      if (path->extension() == ".json") {  // a sharded checkpoint: its index and every shard
        auto& shards = entry["xxh3"] = nlohmann::ordered_json::object();
        for (const auto& f : runtime::CheckpointReader(*path).files())
          shards[relative(f)] = runtime::fileContentHash(f);
      } else {
        entry["xxh3"] = runtime::fileContentHash(*path);
      }
    } catch (const std::exception& e) {
      entry["xxh3"] = nullptr;
      ctx.log(LogLevel::Warning, std::string("the ") + name + " file is not recorded with a hash: " + e.what());
    }
    files[name] = std::move(entry);
  }
  return j.dump();
}

class SaveModelNode final : public Node {
 public:
  void execute(NodeContext& ctx) override {
    const auto& model = *ctx.inputAs<gen::ModelHandle>("model").model;
    const auto maxShardMb = ctx.paramInt("max_shard_mb");
    // Sharded: '<prefix>/' holds model-0000i-of-0000N.safetensors and model.safetensors.index.json.
    const auto target = media::outputFile(ctx, "filename_prefix", maxShardMb > 0 ? "" : ".safetensors");
    models::dit::DitSaveOptions options;
    options.maxShardBytes = static_cast<std::uint64_t>(maxShardMb) << 20;
    const std::string dtype = ctx.paramString("dtype");
    options.dtype = dtype == "bf16" ? at::kBFloat16 : dtype == "f16" ? at::kHalf : at::kFloat;
    // The `_prime` twins the forward pass never reads are filled from their twins on loading.
    options.includeStoredOnly = false;
    options.metadata["presence.model"] =
        provenance(ctx, model, maxShardMb > 0 ? target : target.parent_path());
    options.metadata[gen::GuidanceTraining::kMetadataKey] = model.guidanceTraining().toMetadata();
    ctx.progress(0.0, "writing " + target.string());
    const auto written = models::dit::saveDitCheckpoint(model.dit()->weights(), target, options);
    FileList files;
    std::uintmax_t bytes = 0;
    if (maxShardMb > 0) {
      const auto current = runtime::CheckpointReader(written).files();  // the index and its shards
      removeStaleShards(target, current);
      for (const auto& file : current) {
        files.paths.push_back(file.string());
        bytes += std::filesystem::file_size(file);
      }
    } else {
      files.paths.push_back(written.string());
      bytes = std::filesystem::file_size(written);
    }
    ctx.log(LogLevel::Info, "wrote " + written.string() + " (" + dtype + ", " + std::to_string(files.paths.size()) +
                                (files.paths.size() == 1 ? " file, " : " files, ") + std::to_string(bytes / 1024) +
                                " KiB)");
    ctx.setOutput("path", Value::make(types::Path, written.string()));
    ctx.setOutput("files", Value::make(types::Files, std::move(files)));
  }
};

}  // namespace

void registerSaveModelNode(NodeRegistry& registry, const std::string& origin) {
  auto d = media::describe(
      "presence.save_model", "Save Model", "train", "PresenceSaveModel",
      "Writes the model's DiT weights (for example the output of a training stage) to "
      "'<filename_prefix>.safetensors' in the official layout, atomically; presence.load_model reads it as "
      "its dit_checkpoint. With max_shard_mb set it writes shards of at most that size and their index "
      "'<filename_prefix>/model.safetensors.index.json' instead (the Hugging Face layout). The encoders and "
      "decoders are not written: they have files of their own, which the metadata entry 'presence.model' "
      "names by path relative to the checkpoint and content hash (XXH3, taken when saving; null, with a "
      "warning, for a file that can no longer be read), with the preset and seed. The entry "
      "'presence.guidance_training' records whether training taught the negative pass without faces, which "
      "presence.sampler's negative_pass_faces 'as_trained' then uses.");
  d.inputs = {port("model", types::Model, "The model whose DiT weights to write.")};
  d.params = {enumParam("dtype", {"bf16", "f16", "f32"}, "bf16", "Stored precision (bf16 halves the file)."),
              intParam("max_shard_mb", 0, 0, 1 << 20,
                       "0 writes one file; otherwise shards of at most this many MiB (a tensor larger than that "
                       "gets a shard of its own) and an index, in the folder '<filename_prefix>'."),
              stringParam("filename_prefix", "models/dit", "Output file (without .safetensors) inside the output directory.")};
  d.outputs = {port("path", types::Path, "The written file (the index when sharded)."),
               port("files", types::Files, "Every written file.")};
  d.sideEffects = true;
  registry.add<SaveModelNode>(std::move(d), origin);
}

}  // namespace presence::nodes::train
