#include "presence/runtime/checkpoint_reader.hpp"

#include <fstream>
#include <sstream>

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

namespace presence::runtime {

namespace {
constexpr std::uintmax_t kMaxIndexBytes = 100'000'000;

bool endsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}
}  // namespace

bool CheckpointReader::isIndexPath(const std::filesystem::path& path) {
  return endsWith(path.filename().string(), ".index.json");
}

CheckpointReader::CheckpointReader(const std::filesystem::path& path) : path_(path) {
  if (isIndexPath(path)) {
    sharded_ = true;
    openIndex();
    return;
  }
  shards_.push_back(SafetensorsFile::open(path));
  for (const auto& t : shards_.front()->header().tensors) where_.emplace(t.name, 0);
  metadata_ = shards_.front()->metadata();
}

void CheckpointReader::openIndex() {
  const std::string label = path_.string();
  auto fail = [&](const std::string& problem) { throw FormatError(label, problem); };

  std::error_code ec;
  const auto size = std::filesystem::file_size(path_, ec);
  if (ec) fail("cannot read: " + ec.message());
  if (size > kMaxIndexBytes) fail("index is " + std::to_string(size) + " bytes, larger than any real index");
  std::ifstream in(path_, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  if (!in) fail("cannot read");

  nlohmann::json root;
  try {
    root = nlohmann::json::parse(text.str());
  } catch (const nlohmann::json::parse_error& e) {
    std::string what = e.what();
    if (auto pos = what.find("] "); pos != std::string::npos) what = what.substr(pos + 2);
    fail("index is not valid JSON: " + what);
  }
  if (!root.is_object()) fail("index is not a JSON object");
  if (auto it = root.find("metadata"); it != root.end() && !it->is_null()) {
    if (!it->is_object()) fail("index 'metadata' is not an object");
    for (const auto& [k, v] : it->items()) metadata_[k] = v.is_string() ? v.get<std::string>() : v.dump();
  }
  const auto mapIt = root.find("weight_map");
  if (mapIt == root.end() || !mapIt->is_object()) fail("index has no 'weight_map' object");

  // shard file -> tensors the index puts there
  std::map<std::string, std::vector<std::string>> byShard;
  for (const auto& [tensor, file] : mapIt->items()) {
    if (!file.is_string()) fail("weight_map entry of tensor '" + tensor + "' is not a file name");
    const auto& name = file.get_ref<const std::string&>();
    const std::filesystem::path rel(name);
    bool escapes = name.empty() || rel.is_absolute();
    for (const auto& part : rel) escapes = escapes || part == "..";
    if (escapes) fail("weight_map names shard '" + name + "' for tensor '" + tensor + "': shards must be files beside the index");
    byShard[name].push_back(tensor);
  }

  const auto folder = path_.parent_path();
  std::map<std::string, std::string, std::less<>> seenIn;  // tensor -> shard holding it
  for (const auto& [shardName, tensors] : byShard) {
    const auto shardPath = folder / shardName;
    if (!std::filesystem::is_regular_file(shardPath, ec))
      fail("shard '" + shardName + "' (holding '" + tensors.front() + "'" +
           (tensors.size() > 1 ? " and " + std::to_string(tensors.size() - 1) + " more" : "") + ") is missing");
    auto shard = SafetensorsFile::open(shardPath);
    const std::size_t index = shards_.size();
    for (const auto& t : shard->header().tensors) {
      if (auto [it, fresh] = seenIn.emplace(t.name, shardName); !fresh)
        fail("tensor '" + t.name + "' is in two shards, '" + it->second + "' and '" + shardName + "'");
      const auto mapped = mapIt->find(t.name);
      if (mapped == mapIt->end())
        fail("shard '" + shardName + "' holds tensor '" + t.name + "' that the weight_map does not list");
      if (mapped->get_ref<const std::string&>() != shardName)
        fail("tensor '" + t.name + "' is in shard '" + shardName + "' but the weight_map says '" +
             mapped->get_ref<const std::string&>() + "'");
      where_.emplace(t.name, index);
    }
    for (const auto& t : tensors)
      if (!shard->contains(t)) fail("weight_map puts tensor '" + t + "' in '" + shardName + "', which does not have it");
    shards_.push_back(std::move(shard));
  }
}

std::vector<std::filesystem::path> CheckpointReader::files() const {
  std::vector<std::filesystem::path> out;
  if (sharded_) out.push_back(path_);
  for (const auto& s : shards_) out.push_back(s->path());
  return out;
}

std::vector<std::string> CheckpointReader::names() const {
  std::vector<std::string> out;
  out.reserve(where_.size());
  for (const auto& [name, shard] : where_) out.push_back(name);
  return out;
}

const SafetensorsFile& CheckpointReader::shardOf(std::string_view name) const {
  const auto it = where_.find(name);
  if (it == where_.end()) throw FormatError(path_.string(), "no tensor named '" + std::string(name) + "'");
  return *shards_[it->second];
}

TensorSpec CheckpointReader::spec(std::string_view name) const { return shardOf(name).spec(name); }

std::vector<TensorSpec> CheckpointReader::specs() const {
  std::vector<TensorSpec> out;
  out.reserve(where_.size());
  for (const auto& [name, shard] : where_) out.push_back(shards_[shard]->spec(name));
  return out;
}

std::map<std::string, at::Tensor> CheckpointReader::loadAll(c10::Device device, std::optional<c10::ScalarType> dtype) const {
  std::map<std::string, at::Tensor> out;
  for (const auto& [name, shard] : where_) out.emplace(name, shards_[shard]->load(name, device, dtype));
  return out;
}

}  // namespace presence::runtime
