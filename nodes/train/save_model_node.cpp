// presence.save_model: writes a model's DiT weights (e.g. after training) as a checkpoint that
// presence.load_model reads back.
#include "node_util.hpp"
#include "presence/models/dit/dit_checkpoint.hpp"
#include "presence/models/generation/payloads.hpp"
#include "train_nodes.hpp"

namespace presence::nodes::train {
namespace {

using namespace presence::core;
using media::enumParam;
using media::port;
using media::stringParam;
namespace gen = presence::models::generation;

class SaveModelNode final : public Node {
 public:
  void execute(NodeContext& ctx) override {
    const auto& model = *ctx.inputAs<gen::ModelHandle>("model").model;
    const auto target = media::outputFile(ctx, "filename_prefix", ".safetensors");
    models::dit::DitSaveOptions options;
    const std::string dtype = ctx.paramString("dtype");
    options.dtype = dtype == "bf16" ? at::kBFloat16 : dtype == "f16" ? at::kHalf : at::kFloat;
    // The `_prime` twins the forward pass never reads are filled from their twins on loading.
    options.includeStoredOnly = false;
    options.metadata["presence.model"] = model.key();
    ctx.progress(0.0, "writing " + target.string());
    const auto written = models::dit::saveDitCheckpoint(model.dit()->weights(), target, options);
    ctx.log(LogLevel::Info, "wrote " + written.string() + " (" + dtype + ", " +
                                std::to_string(std::filesystem::file_size(written) / 1024) + " KiB)");
    FileList files;
    files.paths.push_back(written.string());
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
      "its dit_checkpoint. The encoders and decoders are not written: they have files of their own.");
  d.inputs = {port("model", types::Model, "The model whose DiT weights to write.")};
  d.params = {enumParam("dtype", {"bf16", "f16", "f32"}, "bf16", "Stored precision (bf16 halves the file)."),
              stringParam("filename_prefix", "models/dit", "Output file (without .safetensors) inside the output directory.")};
  d.outputs = {port("path", types::Path, "The written file."), port("files", types::Files, "The written file.")};
  d.sideEffects = true;
  registry.add<SaveModelNode>(std::move(d), origin);
}

}  // namespace presence::nodes::train
