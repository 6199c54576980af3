#include "presence/models/training/training_checkpoint.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "presence/core/error.hpp"
#include "presence/runtime/checkpoint_reader.hpp"
#include "presence/runtime/safetensors_writer.hpp"

namespace presence::models::training {
namespace fs = std::filesystem;
namespace {

constexpr const char* kStateFile = "state.safetensors";
constexpr const char* kInfoFile = "trainer.json";
constexpr const char* kFormat = "presence-training-checkpoint";

std::string stepFolderName(int64_t step) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "step-%08lld", static_cast<long long>(step));
  return buf;
}

// FNV-1a over the file: catches a truncated or overwritten state file that still parses.
uint64_t fileChecksum(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw core::InputError("cannot read " + path.string());
  uint64_t h = 1469598103934665603ULL;
  std::vector<char> buf(1 << 20);
  while (in) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    for (std::streamsize i = 0; i < in.gcount(); ++i) h = (h ^ static_cast<unsigned char>(buf[i])) * 1099511628211ULL;
  }
  return h;
}

void fsyncPath(const fs::path& path, bool directory) {
  const int fd = ::open(path.c_str(), directory ? O_RDONLY | O_DIRECTORY : O_RDONLY);
  if (fd < 0) throw core::InputError("cannot open " + path.string() + " to flush it");
  const int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) throw core::InputError("cannot flush " + path.string() + " to disk");
}

void writeSynced(const fs::path& path, const std::string& text) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) throw core::InputError("cannot write " + path.string());
  size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n <= 0) {
      ::close(fd);
      throw core::InputError("cannot write " + path.string());
    }
    done += static_cast<size_t>(n);
  }
  const int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) throw core::InputError("cannot flush " + path.string() + " to disk");
}

bool isStepFolder(const fs::directory_entry& e) {
  const std::string n = e.path().filename().string();
  return e.is_directory() && n.size() == 13 && n.rfind("step-", 0) == 0 &&
         std::all_of(n.begin() + 5, n.end(), [](char c) { return c >= '0' && c <= '9'; });
}

double jsonDouble(const nlohmann::json& j) {
  return j.is_number() ? j.get<double>() : std::numeric_limits<double>::quiet_NaN();
}

}  // namespace

fs::path saveTrainingCheckpoint(const fs::path& folder, const TrainingCheckpoint& ckpt, int64_t keep,
                                const CheckpointHook& hook) {
  std::error_code ec;
  fs::create_directories(folder, ec);
  if (ec) throw core::InputError("cannot create checkpoint folder " + folder.string() + ": " + ec.message());
  // Temporary folders of a killed save: never complete, never read.
  for (const auto& e : fs::directory_iterator(folder))
    if (e.path().filename().string().rfind(".tmp-step-", 0) == 0) fs::remove_all(e.path(), ec);

  const fs::path target = folder / stepFolderName(ckpt.step);
  const fs::path temp = folder / (".tmp-" + stepFolderName(ckpt.step));
  fs::create_directories(temp);
  runtime::saveSafetensors(temp / kStateFile, ckpt.tensors, {{{"format", kFormat}}, {}});
  nlohmann::json info;
  info["format"] = kFormat;
  info["version"] = 1;
  info["step"] = ckpt.step;
  info["state_file"] = kStateFile;
  info["state_bytes"] = fs::file_size(temp / kStateFile);
  info["state_fnv1a64"] = std::to_string(fileChecksum(temp / kStateFile));
  info["config"] = ckpt.config;
  nlohmann::json hist = nlohmann::json::array();
  auto orNull = [](double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); };
  for (const auto& r : ckpt.history) {
    hist.push_back({{"step", r.step},
                    {"train_loss", r.trainLoss},
                    {"val_loss", orNull(r.valLoss)},
                    {"learning_rate", r.learningRate},
                    {"seconds", r.seconds},
                    {"val_video_loss", orNull(r.valVideoLoss)},
                    {"val_audio_loss", orNull(r.valAudioLoss)}});
  }
  info["history"] = hist;
  writeSynced(temp / kInfoFile, info.dump(1));
  fsyncPath(temp / kStateFile, false);
  fsyncPath(temp, true);
  if (hook) hook("checkpoint.staged", ckpt.step);
  if (fs::exists(target)) fs::remove_all(target);  // a re-save of the same step: same contents
  fs::rename(temp, target, ec);
  if (ec) throw core::InputError("cannot move checkpoint into " + target.string() + ": " + ec.message());
  fsyncPath(folder, true);
  // Only now, with the new one complete, drop the oldest.
  auto all = listTrainingCheckpoints(folder);
  for (size_t i = 0; i + static_cast<size_t>(std::max<int64_t>(keep, 1)) < all.size(); ++i) fs::remove_all(all[i], ec);
  return target;
}

std::vector<fs::path> listTrainingCheckpoints(const fs::path& folder) {
  std::vector<fs::path> out;
  std::error_code ec;
  if (!fs::is_directory(folder, ec)) return out;
  for (const auto& e : fs::directory_iterator(folder))
    if (isStepFolder(e)) out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

std::optional<fs::path> latestTrainingCheckpoint(const fs::path& folder) {
  auto all = listTrainingCheckpoints(folder);
  if (all.empty()) return std::nullopt;
  return all.back();
}

TrainingCheckpoint loadTrainingCheckpoint(const fs::path& dir) {
  const fs::path infoPath = dir / kInfoFile, statePath = dir / kStateFile;
  auto corrupt = [](const fs::path& p, const std::string& why) {
    return core::InputError("training checkpoint file " + p.string() + " is incomplete or corrupt: " + why);
  };
  std::ifstream in(infoPath);
  if (!in) throw corrupt(infoPath, "missing");
  std::stringstream text;
  text << in.rdbuf();
  nlohmann::json info;
  try {
    info = nlohmann::json::parse(text.str());
  } catch (const std::exception& e) {
    throw corrupt(infoPath, e.what());
  }
  for (const char* key : {"format", "step", "state_bytes", "state_fnv1a64", "config", "history"})
    if (!info.contains(key)) throw corrupt(infoPath, std::string("no '") + key + "'");
  if (info["format"] != kFormat) throw corrupt(infoPath, "not a " + std::string(kFormat));
  std::error_code ec;
  const auto bytes = fs::file_size(statePath, ec);
  if (ec) throw corrupt(statePath, "missing");
  if (bytes != info["state_bytes"].get<uint64_t>())
    throw corrupt(statePath, std::to_string(bytes) + " bytes, " + infoPath.filename().string() + " records " +
                                 std::to_string(info["state_bytes"].get<uint64_t>()));
  if (std::to_string(fileChecksum(statePath)) != info["state_fnv1a64"].get<std::string>())
    throw corrupt(statePath, "checksum mismatch");
  TrainingCheckpoint ck;
  try {
    runtime::CheckpointReader reader(statePath);
    ck.tensors = reader.loadAll();
    ck.step = info["step"].get<int64_t>();
    ck.config = info["config"];
    // The per-tower losses are absent from checkpoints written before they were recorded.
    for (const auto& r : info["history"])
      ck.history.push_back({r.at("step").get<int64_t>(), jsonDouble(r.at("train_loss")), jsonDouble(r.at("val_loss")),
                            jsonDouble(r.at("learning_rate")), jsonDouble(r.at("seconds")),
                            jsonDouble(r.value("val_video_loss", nlohmann::json())),
                            jsonDouble(r.value("val_audio_loss", nlohmann::json()))});
  } catch (const core::InputError&) {
    throw;
  } catch (const std::exception& e) {
    throw corrupt(statePath, e.what());
  }
  return ck;
}

}  // namespace presence::models::training
