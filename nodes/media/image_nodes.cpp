// Image nodes: loading reference views, saving frame sequences, and the operations that shape
// identity references (resize, centre crop, dense near-square grid) and stills into clips.
#include <string>

#include "media_nodes.hpp"
#include "node_util.hpp"

namespace presence::nodes::media {

namespace {

std::string sizeText(const ImageBatch& b) {
  return std::to_string(b.count) + " x " + std::to_string(b.width) + "x" + std::to_string(b.height);
}

class LoadImageNode final : public Node {
 public:
  void execute(NodeContext& ctx) override {
    const auto paths = inputPaths(ctx, "paths");
    const auto fit = io::parseFitMode(ctx.paramString("fit"));
    ImageBatch images = blameParam(ctx, "paths", [&] {
      return io::readImages(paths, fit, progressOf(ctx, "image", static_cast<int>(paths.size())),
                            cancelOf(ctx));
    });
    ctx.log(LogLevel::Info, "loaded " + sizeText(images));
    Value value = Value::make(types::Image, std::move(images));
    ctx.preview(value);
    ctx.setOutput("image", value);
  }
};

class SaveImageSequenceNode final : public Node {
 public:
  void execute(NodeContext& ctx) override {
    const auto& images = ctx.inputAs<ImageBatch>("image");
    const std::string format = ctx.paramString("format");
    // The prefix may name subfolders: split it into folder and file name prefix.
    const auto base = outputFile(ctx, "filename_prefix", "");
    const auto folder = base.parent_path();
    const auto prefix = base.filename().string();
    const auto progress = progressOf(ctx, "frame", images.count);
    FileList files;
    if (format == "exr") {
      io::ExrMetadata meta;
      meta.fps = ctx.paramFloat("fps");
      meta.source = "Presence graph node '" + ctx.nodeId() + "' (" + ctx.descriptor().id + ")";
      files.paths = io::writeExr(images, folder, prefix, meta, progress, cancelOf(ctx));
    } else if (format == "png") {
      files.paths = io::writePng(images, folder, prefix, 8, progress, cancelOf(ctx));
    } else {
      ctx.fail("format", "unknown format '" + format + "'");
    }
    ctx.log(LogLevel::Info,
            "wrote " + std::to_string(files.paths.size()) + " " + format + " files to " + folder.string());
    ctx.setOutput("files", Value::make(types::Files, std::move(files)));
  }
};

class ImageResizeNode final : public Node {
 public:
  void execute(NodeContext& ctx) override {
    const auto& images = ctx.inputAs<ImageBatch>("image");
    ctx.setOutput("image",
                  Value::make(types::Image, io::resize(images, static_cast<int>(ctx.paramInt("width")),
                                                       static_cast<int>(ctx.paramInt("height")))));
  }
};

class ImageCenterCropNode final : public Node {
 public:
  void execute(NodeContext& ctx) override {
    const auto& images = ctx.inputAs<ImageBatch>("image");
    ctx.setOutput("image",
                  Value::make(types::Image, io::centerCrop(images, static_cast<int>(ctx.paramInt("width")),
                                                           static_cast<int>(ctx.paramInt("height")))));
  }
};

class PackViewsGridNode final : public Node {
 public:
  void execute(NodeContext& ctx) override {
    const auto& views = ctx.inputAs<ImageBatch>("image");
    const int width = static_cast<int>(ctx.paramInt("width")),
              height = static_cast<int>(ctx.paramInt("height"));
    auto packed = blameParam(ctx, "width", [&] { return io::packViewsGrid(views, width, height); });
    ctx.log(LogLevel::Info, std::to_string(views.count) + " views in a " +
                                std::to_string(packed.layout.rows) + "x" +
                                std::to_string(packed.layout.cols) + " grid (rows x columns)");
    Value value = Value::make(types::Image, std::move(packed.image));
    ctx.preview(value);
    ctx.setOutput("image", value);
  }
};

class RepeatFramesNode final : public Node {
 public:
  void execute(NodeContext& ctx) override {
    const auto& images = ctx.inputAs<ImageBatch>("image");
    ctx.setOutput("image", Value::make(types::Image,
                                       io::repeatFrames(images, static_cast<int>(ctx.paramInt("count")))));
  }
};

ParamSpec sizeParam(const std::string& name, const std::string& tooltip) {
  return intParam(name, 512, 1, 16384, tooltip);
}

}  // namespace

void registerImageNodes(NodeRegistry& registry, const std::string& origin) {
  {
    auto d =
        describe("presence.load_image", "Load Image", "media/image", "PresenceLoadImage",
                 "Loads one or several images (PNG, JPEG, TIFF, EXR, ...) as an IMAGE batch, one image per "
                 "path: the reference views of a subject. Images are converted to RGB; 8- and 16-bit images "
                 "are scaled to 0..1, float images (EXR) keep their linear values.");
    auto paths =
        pathParam("paths",
                  "Image files, one per line; relative paths are resolved against the graph's folder. "
                  "Blank lines and lines starting with # are skipped.",
                  true);
    d.params = {paths,
                enumParam("fit", {"error", "resize"}, "error",
                          "When the images differ in size: 'error' stops with a message naming both files, "
                          "'resize' resizes every image to the first one's size.")};
    d.outputs = {
        port("image", types::Image, "The images as a batch [N,H,W,3], N = number of paths, in order.")};
    registry.add<LoadImageNode>(std::move(d), origin);
  }
  {
    auto d = describe(
        "presence.save_image_sequence", "Save Image Sequence", "media/image", "PresenceSaveImageSequence",
        "Saves every image of the batch as a numbered file (prefix_00000.exr, ...) in the output "
        "folder: half-float EXR with ZIP compression and frame rate metadata, or 8-bit PNG. The "
        "files appear all together or not at all.");
    d.inputs = {port("image", types::Image, "The frames to save, one file per image of the batch.")};
    d.params = {
        enumParam("format", {"exr", "png"}, "exr",
                  "exr: linear half-float RGB, ZIP compressed, with framesPerSecond metadata. png: 8-bit "
                  "RGB, values clamped to 0..1."),
        stringParam("filename_prefix", "frame",
                    "File name prefix inside the output folder; frames are named <prefix>_00000.<ext>. "
                    "May start with subfolders (shots/take1)."),
        floatParam("fps", 25.0, 1.0, 240.0,
                   "Frame rate stored in the EXR files' framesPerSecond attribute (23.976 is stored as "
                   "24000/1001). Not used for PNG.")};
    d.outputs = {port("files", types::Files, "The paths of the files written, in frame order.")};
    d.sideEffects = true;
    registry.add<SaveImageSequenceNode>(std::move(d), origin);
  }
  {
    auto d =
        describe("presence.image_resize", "Resize Image", "media/image", "PresenceImageResize",
                 "Resizes every image of the batch to width x height with a high-quality filter (lanczos3 "
                 "when shrinking, blackman-harris when enlarging). The aspect ratio is not kept; use Center "
                 "Crop Image to keep it.");
    d.inputs = {port("image", types::Image, "The images to resize.")};
    d.params = {sizeParam("width", "Width of the result in pixels."),
                sizeParam("height", "Height of the result in pixels.")};
    d.outputs = {port("image", types::Image, "The resized images, [N,height,width,C].")};
    registry.add<ImageResizeNode>(std::move(d), origin);
  }
  {
    auto d =
        describe("presence.image_center_crop", "Center Crop Image", "media/image", "PresenceImageCenterCrop",
                 "Crops the largest centred region with the target's aspect ratio from every image, then "
                 "resizes it to width x height: a square face reference from a portrait photo, without "
                 "distortion.");
    d.inputs = {port("image", types::Image, "The images to crop.")};
    d.params = {sizeParam("width", "Width of the result in pixels."),
                sizeParam("height", "Height of the result in pixels.")};
    d.outputs = {port("image", types::Image, "The cropped images, [N,height,width,C].")};
    registry.add<ImageCenterCropNode>(std::move(d), origin);
  }
  {
    auto d =
        describe("presence.pack_views_grid", "Pack Views Grid", "media/image", "PresencePackViewsGrid",
                 "Packs several reference views of one subject into a single image with the paper's dense "
                 "near-square packing: ceil(sqrt(N)) columns, ceil(N / columns) rows, each view centre-"
                 "cropped and resized into its cell, empty cells black.");
    d.inputs = {
        port("image", types::Image, "The views to pack, one per image of the batch (row-major order).")};
    d.params = {sizeParam("width", "Width of the packed image in pixels."),
                sizeParam("height", "Height of the packed image in pixels.")};
    d.outputs = {
        port("image", types::Image, "One image [1,height,width,C] holding every view in its grid cell.")};
    registry.add<PackViewsGridNode>(std::move(d), origin);
  }
  {
    auto d =
        describe("presence.repeat_frames", "Repeat Frames", "media/image", "PresenceRepeatFrames",
                 "Repeats the image batch count times in order (a loop, as ComfyUI's RepeatImageBatch): a "
                 "still becomes count identical frames for a clip.");
    d.inputs = {port("image", types::Image, "The image or frames to repeat.")};
    d.params = {intParam("count", 25, 1, 100000,
                         "How many times the batch is repeated; the result has N x count "
                         "frames (25 frames is one second at 25 fps).")};
    d.outputs = {port("image", types::Image, "The repeated frames, [N x count,H,W,C].")};
    registry.add<RepeatFramesNode>(std::move(d), origin);
  }
}

}  // namespace presence::nodes::media
