#include "train_node_util.hpp"

#include <cstring>
#include <sstream>

#include "node_util.hpp"

namespace presence::nodes::train {

std::filesystem::path datasetFolder(core::NodeContext& ctx) {
  std::filesystem::path folder;
  if (ctx.hasInput("path")) {
    folder = ctx.inputAs<std::string>("path");
  } else {
    if (ctx.paramString("folder").find_first_not_of(" \t") == std::string::npos)
      ctx.fail("folder", "no dataset folder given");
    folder = ctx.inputPath("folder");
  }
  if (!std::filesystem::is_directory(folder)) ctx.fail("folder", "dataset folder not found: " + folder.string());
  return folder;
}

core::ImageBatch plotImage(const at::Tensor& plot) {
  const at::Tensor p = plot.to(at::kCPU, at::kFloat).contiguous();
  core::ImageBatch out(1, static_cast<int>(p.size(0)), static_cast<int>(p.size(1)), 3);
  std::memcpy(out.pixels.data(), p.data_ptr<float>(), out.pixels.size() * sizeof(float));
  return out;
}

std::string secondsText(double seconds) {
  std::ostringstream o;
  o.precision(seconds < 10 ? 2 : 0);
  o << std::fixed << seconds << " s";
  return o.str();
}

core::ParamSpec threadsParam() {
  return media::intParam("threads", 0, 0, 256,
                         "LibTorch's intra-op CPU threads while this node trains; 0: LibTorch's setting (one thread "
                         "with Debian's LibTorch 1.13). On a 2-core machine 2 threads with bf16 on trained the DiT "
                         "stages about 1.25 times and the video VAE 1.5-2.6 times as fast as float32 on one; the DiT "
                         "stages in float32 ran slower on 2, as OpenBLAS's own threads contend with them "
                         "(docs/benchmarks.md). More than one thread runs on the process's one intra-op thread, so "
                         "two such nodes train one after the other; nodes beside it keep their setting.");
}

int trainingThreads(core::NodeContext& ctx, bool float32MatrixProducts) {
  const auto threads = static_cast<int>(ctx.paramInt("threads"));
  if (threads > 1 && float32MatrixProducts)
    ctx.log(core::LogLevel::Warning,
            "threads " + std::to_string(threads) + " in float32: OpenBLAS's own threads contend with LibTorch's, "
            "and the DiT stages ran 2–3 times slower with 2 threads than with 1 (docs/benchmarks.md); set bf16 or "
            "leave threads at 0");
  return threads;
}

}  // namespace presence::nodes::train
