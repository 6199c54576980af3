// presence::media: reading and writing images, audio and video for the media nodes.
//
// Images go through OpenImageIO (PNG, JPEG, TIFF, EXR, ...), EXR sequences through OpenEXR,
// audio and video through FFmpeg (libavformat, libavcodec, libswresample, libswscale).
// Payloads are the core media types: ImageBatch [N,H,W,C] float, Audio planar [C,T] float,
// Video (frames + fps + optional audio).
//
// Errors: every function throws presence::core::InputError whose message names the file and the
// cause ("cannot read image 'x.png': not a PNG file (corrupt or truncated)"). Bad input (a
// missing, corrupt, truncated or empty file, a text file given as audio) never crashes.
//
// Writers: every file is written to a temporary file beside its target and renamed into place
// at the end (core::AtomicFile / AtomicFileSet). A failure or a cancellation leaves neither a
// half-written target nor the temporary file behind; a sequence appears all together or not at
// all.
//
// Long operations take an optional progress callback (fraction 0..1) and an optional
// cancellation check; when the check returns true they throw core::Cancelled.
//
// Threading: all functions are reentrant; they may be called from several threads at once on
// different data. Callbacks are called on the calling thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "presence/core/media.hpp"

namespace presence::media {

using core::Audio;
using core::ImageBatch;
using core::Video;

/// Progress of a long operation, 0..1.
using ProgressFn = std::function<void(double)>;
/// Returns true when the caller wants the operation stopped (it then throws core::Cancelled).
using CancelFn = std::function<bool()>;

// ---------------------------------------------------------------------------------------------
// Images (image_io.cpp, exr_writer.cpp)

/// Reads one image (PNG, JPEG, TIFF, EXR and the other formats OpenImageIO knows) as an
/// ImageBatch with N=1 and 3 channels: grey is copied to R, G and B, alpha and further channels
/// are dropped. Integer formats are scaled to 0..1. Float formats (EXR, float TIFF) keep their
/// values as they are (linear scene data, possibly outside 0..1 and not clamped). Only the
/// first subimage and its full-resolution level are read. Alpha is read unassociated, so the
/// colour of a transparent pixel is its stored colour (as ComfyUI's loader, which drops alpha).
/// No colour conversion happens: an 8-bit PNG's sRGB-encoded values arrive as they are, which
/// is what ComfyUI's IMAGE holds.
ImageBatch readImage(const std::filesystem::path& path);

/// What readImages does when the views differ in size.
enum class FitMode {
  Error,   ///< throw InputError naming both files and their sizes
  Resize,  ///< resize every view to the first one's size (see resize())
};
/// "error" | "resize"; throws InputError for anything else.
FitMode parseFitMode(std::string_view text);

/// Reads several images (views of one subject) into one batch, N = paths.size() >= 1, in order.
ImageBatch readImages(const std::vector<std::filesystem::path>& paths, FitMode fit = FitMode::Error,
                      const ProgressFn& progress = {}, const CancelFn& cancelled = {});

/// "prefix_00042.ext": the name of frame `index` of a sequence.
std::string sequenceFileName(std::string_view prefix, int index, std::string_view extension);

/// Metadata written into every EXR of a sequence.
struct ExrMetadata {
  double fps = 0.0;    ///< > 0: OpenEXR's framesPerSecond, as an exact rational (guessExactFps)
  std::string source;  ///< where the frames came from (a graph, a node); "source" attribute
  std::string software = "Presence";  ///< "software" attribute
  std::string comments;               ///< OpenEXR standard "comments" (empty: a sentence naming the source)
  std::string owner;                  ///< OpenEXR standard "owner" (copyright holder); omitted when empty
};

/// Writes each frame as `folder/prefix_NNNNN.exr` through OpenEXR: HALF channels R, G, B, ZIP
/// compression, the metadata above, a "frameNumber" int attribute. Channel 0 is copied to R, G
/// and B when the batch is grey; channels after the third are dropped. Values are written as
/// they are, without colour conversion (half range: about +-65504), so readImage gives them back
/// within half precision; frames that came from 8-bit PNG or JPEG hold sRGB-encoded values.
/// All files are committed together. Returns their paths.
std::vector<std::string> writeExr(const ImageBatch& frames, const std::filesystem::path& folder,
                                  std::string_view prefix, const ExrMetadata& metadata = {},
                                  const ProgressFn& progress = {}, const CancelFn& cancelled = {});

/// Writes each frame as `folder/prefix_NNNNN.png` through OpenImageIO, RGB, 8 or 16 bits per
/// channel (values clamped to 0..1 and rounded). All files are committed together.
std::vector<std::string> writePng(const ImageBatch& frames, const std::filesystem::path& folder,
                                  std::string_view prefix, int bitsPerChannel = 8,
                                  const ProgressFn& progress = {}, const CancelFn& cancelled = {});

// ---------------------------------------------------------------------------------------------
// Image operations (image_ops.cpp). All work frame by frame on any channel count; they throw
// InputError for an empty batch or a target size below 1.

/// Resizes every frame to width x height with OpenImageIO's filtered resize (lanczos3 when
/// shrinking, blackman-harris when enlarging). The aspect ratio is not kept.
ImageBatch resize(const ImageBatch& images, int width, int height);

/// Crops the largest centred region with the target's aspect ratio from every frame, then
/// resizes it to width x height.
ImageBatch centerCrop(const ImageBatch& images, int width, int height);

/// An axis-aligned rectangle in pixels.
struct Rect {
  int x = 0, y = 0, width = 0, height = 0;
  bool operator==(const Rect&) const = default;
};

/// Where packViewsGrid put each view: cells[i] is view i's rectangle, row-major.
struct GridLayout {
  int rows = 0, cols = 0;
  std::vector<Rect> cells;
};

/// The dense near-square grid for n views in a width x height canvas: cols = ceil(sqrt(n)),
/// rows = ceil(n / cols). Cells tile the canvas exactly: every column is width / cols wide and
/// every row height / rows high (integer division), the last column and row absorb the rest.
GridLayout gridLayout(int n, int width, int height);

struct PackedViews {
  ImageBatch image;  ///< N=1, height x width
  GridLayout layout;
};

/// The paper's dense near-square packing: the N views of `views` are each centre-cropped and
/// resized into their cell of one width x height image (gridLayout(N, width, height)); cells
/// without a view stay black.
PackedViews packViewsGrid(const ImageBatch& views, int width, int height);

/// The batch repeated `count` times in order (a loop: f0 f1 f0 f1 ... for count 2), as
/// ComfyUI's RepeatImageBatch does; a still becomes `count` identical frames.
ImageBatch repeatFrames(const ImageBatch& images, int count);

/// A copy with exactly 3 channels (grey replicated, further channels dropped); `images` itself
/// when it already has 3.
ImageBatch toRgb(const ImageBatch& images);

/// A copy of an RGB batch with every colour turned by `radians` about the grey axis (r = g = b):
/// greys stay, hues rotate (a third of a turn sends red to green, green to blue, blue to red),
/// the mean of the channels is kept; results are clamped to 0..1. Training uses it to recolour a
/// clip and its face references alike, so that a face's colours come only from its reference.
ImageBatch rotateHue(const ImageBatch& images, double radians);

// ---------------------------------------------------------------------------------------------
// Audio (audio_io.cpp)

/// Decodes the best audio stream of any container and codec FFmpeg reads (WAV, OGG, MP3, FLAC,
/// MP4/AAC, a video file's sound track, ...) and resamples it with libswresample to float planar
/// at `sampleRate` (0: the file's rate) and `channels` (1 or 2; 0: the file's count when it is 1
/// or 2, else 2). The resampler is flushed, so the duration is preserved. Down-mixes are
/// normalised so they never clip (stereo to mono is the mean of the two channels); mono to
/// stereo copies the channel.
Audio loadAudio(const std::filesystem::path& path, int sampleRate = 0, int channels = 0,
                const CancelFn& cancelled = {});

/// Resamples (and up- or down-mixes to `channels`, 1 or 2) an Audio in memory with
/// libswresample; returns it unchanged when rate and channels already match.
Audio resampleAudio(const Audio& audio, int sampleRate, int channels);

/// Writes a WAV file (16-bit PCM, samples clamped to -1..1, scaled by 32768 as FFmpeg does, so
/// loadAudio gives them back within half a step) through FFmpeg's wav muxer.
void writeWav(const Audio& audio, const std::filesystem::path& path);

/// `seconds` of silence.
Audio silentAudio(double seconds, int sampleRate, int channels = 1);

// ---------------------------------------------------------------------------------------------
// Video (video_io.cpp, mp4_muxer.cpp)

struct VideoLoadOptions {
  int maxFrames = 0;        ///< 0: every frame
  int audioSampleRate = 0;  ///< 0: the audio stream's own rate
  int audioChannels = 0;    ///< 0: the stream's count when it is 1 or 2, else 2
  /// Frames take width x height x 3 floats each (24 MiB for 1080p); decoding stops with an
  /// InputError ("set max_frames") before the frames would exceed this many bytes.
  std::size_t maxBytes = std::size_t(16) << 30;
};

/// Decodes the best video stream (frames converted with swscale to RGB float 0..1, honouring
/// the stream's colour matrix and range; BT.601 when untagged) and, when the file has one, the
/// best audio stream. fps comes from the stream's average frame rate. With maxFrames the sound
/// is cut at the same time as the pictures.
Video loadVideo(const std::filesystem::path& path, const VideoLoadOptions& options = {},
                const ProgressFn& progress = {}, const CancelFn& cancelled = {});

struct Mp4Options {
  int crf = 20;                   ///< x264 constant rate factor, 0 (lossless) .. 51
  std::string preset = "medium";  ///< x264 preset ("ultrafast" ... "veryslow")
  int audioBitrate = 128000;      ///< AAC bit rate in bits per second
  /// Put the index (moov) before the media data, so players and browsers can start before the
  /// whole file has arrived; costs a second pass over the (temporary) file.
  bool faststart = true;
};

/// What muxMp4 did, for the host's summary.
struct Mp4Report {
  int width = 0, height = 0;  ///< the encoded size (even; see muxMp4)
  bool padded = false;        ///< a column and/or row was added to make the size even
  int frames = 0;
  double fps = 0.0;
  bool hasAudio = false;
  int audioSampleRate = 0, audioChannels = 0;
  std::int64_t audioSamplesAdded = 0;    ///< silence appended to reach the video's duration
  std::int64_t audioSamplesRemoved = 0;  ///< samples cut to match the video's duration
};

/// Writes an MP4: H.264 video (libx264, yuv420p, BT.709 tagged, limited range) at `fps`
/// (fractional rates are kept exactly as a rational, e.g. 23.976 -> 24000/1001) and, when
/// `audio` is not null, AAC sound (FFmpeg's native encoder; the audio's own rate when AAC
/// supports it, else 48 kHz; mono or stereo). H.264 in 4:2:0 needs an even width and height:
/// an odd size is padded by one pixel on the right and/or bottom, repeating the edge pixels.
/// The sound is trimmed, or padded with silence, so that its duration equals frames / fps.
Mp4Report muxMp4(const ImageBatch& frames, double fps, const Audio* audio, const std::filesystem::path& path,
                 const Mp4Options& options = {}, const ProgressFn& progress = {},
                 const CancelFn& cancelled = {});

// ---------------------------------------------------------------------------------------------
// Probing (media_probe.cpp)

struct StreamInfo {
  int index = 0;
  std::string mediaType;             ///< "video", "audio", "subtitle", "data", ...
  std::string codec;                 ///< FFmpeg codec name: "h264", "aac", "pcm_s16le", ...
  double durationSeconds = 0.0;      ///< 0 when unknown
  std::int64_t frameCount = 0;       ///< from the container, else by counting packets
  int sampleRate = 0, channels = 0;  ///< audio
  int width = 0, height = 0;         ///< video
  double fps = 0.0;                  ///< video: average frame rate
};

struct MediaInfo {
  std::string path;
  std::string format;  ///< demuxer name(s), e.g. "mov,mp4,m4a,3gp,3g2,mj2"
  double durationSeconds = 0.0;
  std::vector<StreamInfo> streams;

  int count(std::string_view mediaType) const;
  /// The first stream of that type, or null.
  const StreamInfo* first(std::string_view mediaType) const;
};

/// Reads a media file's container and streams with libavformat.
MediaInfo probeMedia(const std::filesystem::path& path);

}  // namespace presence::media
