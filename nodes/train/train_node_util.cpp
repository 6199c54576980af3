#include "train_node_util.hpp"

#include <cstring>
#include <sstream>

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

}  // namespace presence::nodes::train
