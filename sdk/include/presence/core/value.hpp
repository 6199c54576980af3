// Value: an immutable, shared, type-erased payload carried along a link.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <typeinfo>
#include <utility>

#include "presence/core/error.hpp"
#include "presence/core/media.hpp"
#include "presence/core/types.hpp"

namespace presence::core {

/// Approximate memory a payload holds; the executor's cache budget counts these bytes.
/// Overload `payloadBytes` for your own payload types to make them count correctly.
inline std::size_t payloadBytes(const ImageBatch& v) { return v.pixels.size() * sizeof(float); }
inline std::size_t payloadBytes(const Audio& v) { return v.samples.size() * sizeof(float); }
inline std::size_t payloadBytes(const Video& v) {
  return payloadBytes(v.frames) + (v.audio ? payloadBytes(*v.audio) : 0);
}
inline std::size_t payloadBytes(const std::string& v) { return v.size(); }
inline std::size_t payloadBytes(const FileList& v) {
  std::size_t n = 0;
  for (const auto& p : v.paths) n += p.size();
  return n;
}
template <class T>
std::size_t payloadBytes(const T&) {
  return sizeof(T);
}

/// A value of some TypeId. Copies share the payload (it is never mutated after creation), so
/// passing values between nodes and caching them costs no copy. Thread-safe to read.
class Value {
 public:
  Value() = default;

  template <class T>
  static Value make(std::string_view type, T payload) {
    Value v;
    v.type_ = std::string(type);
    v.bytes_ = payloadBytes(payload) + sizeof(T);
    v.info_ = &typeid(T);
    v.data_ = std::make_shared<const T>(std::move(payload));
    return v;
  }

  bool empty() const { return data_ == nullptr; }
  const TypeId& type() const { return type_; }
  std::size_t byteSize() const { return bytes_; }

  template <class T>
  bool holds() const {
    // Names, not addresses: type_info objects may differ across shared libraries.
    return info_ != nullptr && (*info_ == typeid(T) || std::string_view(info_->name()) == typeid(T).name());
  }

  /// The payload; throws Error naming both types when it holds something else.
  template <class T>
  const T& as() const {
    if (!holds<T>())
      throw Error("value of type " + (type_.empty() ? std::string("<empty>") : type_) +
                  " does not hold the requested payload");
    return *static_cast<const T*>(data_.get());
  }

 private:
  TypeId type_;
  std::shared_ptr<const void> data_;
  const std::type_info* info_ = nullptr;
  std::size_t bytes_ = 0;
};

}  // namespace presence::core
