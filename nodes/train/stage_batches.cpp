#include "stage_batches.hpp"

#include <algorithm>
#include <map>

namespace presence::nodes::train {

namespace tr = presence::models::training;

namespace {

std::vector<int64_t> shapeOf(const at::Tensor& t) {
  return t.defined() ? t.sizes().vec() : std::vector<int64_t>{-1};
}

// Batches hold clips of equal latent shapes (and reference layout), so they stack.
std::vector<int64_t> bucketKey(const EncodedClip& c, tr::Stage stage) {
  std::vector<int64_t> key;
  auto add = [&](const std::vector<int64_t>& v) { key.insert(key.end(), v.begin(), v.end()); key.push_back(-7); };
  if (tr::stageUsesVideo(stage)) {
    add(shapeOf(c.video));
    for (const auto& f : c.facesFor(stage == tr::Stage::Stage3MultiView)) add(shapeOf(f));
    add(c.faceSlots);
  }
  if (tr::stageUsesAudio(stage)) {
    add(shapeOf(c.audio));
    for (const auto& v : c.voices) add(shapeOf(v));
    add(c.voiceSlots);
  }
  return key;
}

}  // namespace

tr::TrainingBatch makeBatch(const std::vector<const EncodedClip*>& clips, tr::Stage stage) {
  tr::TrainingBatch b;
  std::vector<at::Tensor> video, audio, text, faces;
  for (const auto* c : clips) {
    if (tr::stageUsesVideo(stage)) {
      video.push_back(c->video);
      const auto& own = c->facesFor(stage == tr::Stage::Stage3MultiView);
      if (!own.empty()) faces.push_back(at::cat(own, 2));
    }
    if (tr::stageUsesAudio(stage)) audio.push_back(c->audio);
    text.push_back(c->text);
    b.textLengths.push_back(c->textTokens);
  }
  if (!video.empty()) {
    b.video = at::cat(video, 0);
    // Face covers where any clip has one; a clip without gets none (zeros: weighted as the frame).
    if (std::any_of(clips.begin(), clips.end(), [](const EncodedClip* c) { return c->faceCover.defined(); })) {
      std::vector<at::Tensor> covers;
      for (const auto* c : clips)
        covers.push_back(c->faceCover.defined()
                             ? c->faceCover
                             : at::zeros({1, 1, 1, c->video.size(3), c->video.size(4)}, c->video.options()));
      b.faceCover = at::cat(covers, 0);
    }
  }
  if (!audio.empty()) b.audio = at::cat(audio, 0);
  b.text = at::cat(text, 0);
  const auto& first = *clips.front();
  if (!faces.empty()) {
    b.references.faces = at::cat(faces, 0);
    b.references.faceSubjects = first.faceSlots;
  }
  if (tr::stageUsesAudio(stage) && !first.voices.empty()) {
    for (std::size_t k = 0; k < first.voices.size(); ++k) {
      std::vector<at::Tensor> v;
      for (const auto* c : clips) v.push_back(c->voices[k]);
      b.references.voices.push_back(at::cat(v, 0));
    }
    b.references.voiceSubjects = first.voiceSlots;
  }
  return b;
}

// Clips grouped by shape, cut into batches of up to `batchSize`.
std::vector<std::vector<const EncodedClip*>> bucketed(const std::vector<const EncodedClip*>& clips, tr::Stage stage,
                                                      int64_t batchSize) {
  std::map<std::vector<int64_t>, std::vector<const EncodedClip*>> groups;
  for (const auto* c : clips) groups[bucketKey(*c, stage)].push_back(c);
  std::vector<std::vector<const EncodedClip*>> out;
  for (auto& [key, group] : groups)
    for (std::size_t i = 0; i < group.size(); i += batchSize)
      out.emplace_back(group.begin() + i, group.begin() + std::min<std::size_t>(group.size(), i + batchSize));
  return out;
}

}  // namespace presence::nodes::train
