// Safetensors: round trips, views, and a corpus of corrupted files that must all be refused.
#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include "presence/runtime/dtype.hpp"
#include "presence/runtime/safetensors.hpp"
#include "presence/runtime/safetensors_writer.hpp"
#include "presence/runtime/tensor_util.hpp"
#include "test_util.hpp"

using namespace presence::runtime;
using namespace presence::runtime::test;

namespace {

std::map<std::string, at::Tensor> sampleTensors() {
  std::map<std::string, at::Tensor> t;
  t["a.f32"] = at::arange(6, at::kFloat).reshape({2, 3}).div(7);
  t["b.bf16"] = at::linspace(-3, 3, 10).to(at::kBFloat16);
  t["c.f16"] = at::linspace(-1, 1, 8).to(at::kHalf).reshape({2, 2, 2});
  t["d.f64"] = at::tensor({1e-300, -2.5, 3.25}, at::kDouble);
  t["e.i64"] = at::tensor({INT64_MIN, int64_t{-1}, INT64_MAX}, at::kLong);
  t["f.i32"] = at::arange(-4, 4, at::kInt);
  t["g.i16"] = at::arange(-3, 3, at::kShort);
  t["h.i8"] = at::arange(-128, 128, 37, at::kChar);
  t["i.u8"] = at::arange(0, 256, 51, at::kByte);
  t["j.bool"] = at::tensor({1, 0, 1}, at::kByte).to(at::kBool);
  t["k.scalar"] = at::scalar_tensor(42.5, at::kFloat);     // 0-d
  t["l.empty"] = at::empty({0, 4}, at::kBFloat16);         // no elements
  t["m.nan"] = at::tensor({std::nanf(""), -0.0f, INFINITY}, at::kFloat);
  t["n.strided"] = at::arange(12, at::kFloat).reshape({3, 4}).t();  // not contiguous
  return t;
}

/// The FormatError message for opening `bytes` written as `name` in `dir`.
std::string openError(const TempDir& dir, const std::string& name, const std::string& bytes) {
  const auto path = dir / name;
  writeBytes(path, bytes);
  try {
    SafetensorsFile::open(path);
  } catch (const FormatError& e) {
    EXPECT_EQ(e.file(), path.string());
    return e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << name << ": not a FormatError: " << e.what();
    return {};
  }
  ADD_FAILURE() << name << " was accepted";
  return {};
}

}  // namespace

TEST(Safetensors, RoundTripIsBitExactForEveryDtype) {
  TempDir dir;
  const auto tensors = sampleTensors();
  saveSafetensors(dir / "model.safetensors", tensors);
  const auto file = SafetensorsFile::open(dir / "model.safetensors");
  ASSERT_EQ(file->size(), tensors.size());
  for (const auto& [name, t] : tensors) {
    SCOPED_TRACE(name);
    EXPECT_TRUE(sameBits(file->view(name), t.contiguous()));
    EXPECT_TRUE(sameBits(file->load(name), t.contiguous()));
    const auto spec = file->spec(name);
    EXPECT_EQ(spec.dtype, t.scalar_type());
    EXPECT_EQ(at::IntArrayRef(spec.shape), t.sizes());
    EXPECT_EQ(spec.bytes, tensorBytes(t));
  }
  EXPECT_EQ(file->view("k.scalar").dim(), 0);
  EXPECT_EQ(file->view("l.empty").sizes(), at::IntArrayRef({0, 4}));
}

TEST(Safetensors, HeaderIsAlignedSortedAndSpacePadded) {
  TempDir dir;
  const auto tensors = sampleTensors();
  saveSafetensors(dir / "m.safetensors", tensors);
  const auto bytes = readBytes(dir / "m.safetensors");
  std::uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | static_cast<unsigned char>(bytes[static_cast<std::size_t>(i)]);
  EXPECT_EQ((8 + n) % 8, 0u);
  const std::string json = bytes.substr(8, n);
  EXPECT_EQ(json.front(), '{');
  EXPECT_EQ(json.find_last_not_of(' '), json.rfind('}'));
  EXPECT_EQ(bytes.substr(0, 8 + n), safetensorsHeaderBytes(tensors));
  // Data follows in name order.
  const auto header = parseSafetensorsHeader(std::as_bytes(std::span(bytes.data(), bytes.size())), "m");
  std::uint64_t offset = 0;
  for (const auto& t : header.tensors) {
    EXPECT_EQ(t.begin, offset) << t.name;
    offset = t.end;
  }
  EXPECT_EQ(offset, header.dataBytes);
}

TEST(Safetensors, MetadataRoundTrip) {
  TempDir dir;
  SafetensorsWriteOptions options;
  options.metadata = {{"format", "pt"}, {"preset", "tiny"}, {"unicode", "caf\xc3\xa9 \xe2\x9c\x93"}, {"empty", ""}};
  saveSafetensors(dir / "m.safetensors", {{"w", at::ones({2})}}, options);
  const auto file = SafetensorsFile::open(dir / "m.safetensors");
  EXPECT_EQ(file->metadata(), options.metadata);
  saveSafetensors(dir / "none.safetensors", {{"w", at::ones({2})}});
  EXPECT_TRUE(SafetensorsFile::open(dir / "none.safetensors")->metadata().empty());
}

TEST(Safetensors, ListsWithoutMaterialisingAndViewsOutliveTheFile) {
  TempDir dir;
  saveSafetensors(dir / "m.safetensors", {{"x", at::arange(1000, at::kFloat)}, {"y", at::zeros({3, 5}, at::kBFloat16)}});
  at::Tensor view;
  {
    const auto file = SafetensorsFile::open(dir / "m.safetensors");
    EXPECT_EQ(file->names(), (std::vector<std::string>{"x", "y"}));
    const auto specs = file->specs();
    ASSERT_EQ(specs.size(), 2u);
    EXPECT_EQ(specs[1].dtype, at::kBFloat16);
    EXPECT_EQ(specs[1].shape, (std::vector<std::int64_t>{3, 5}));
    view = file->view("x");
    EXPECT_EQ(view.data_ptr(), static_cast<const void*>(file->rawBytes("x").data()));  // no copy
  }
  std::filesystem::remove(dir / "m.safetensors");  // the mapping keeps the data
  EXPECT_FLOAT_EQ(view[999].item<float>(), 999.0f);
}

TEST(Safetensors, WritingIntoAViewChangesNeitherTheFileNorOtherReaders) {
  TempDir dir;
  saveSafetensors(dir / "m.safetensors", {{"x", at::zeros({4})}});
  const auto a = SafetensorsFile::open(dir / "m.safetensors");
  const auto b = SafetensorsFile::open(dir / "m.safetensors");
  a->view("x").fill_(5);
  EXPECT_EQ(b->view("x").sum().item<float>(), 0.0f);
  EXPECT_EQ(SafetensorsFile::open(dir / "m.safetensors")->view("x").sum().item<float>(), 0.0f);
}

TEST(Safetensors, LoadConvertsDtypeAndOwnsItsMemory) {
  TempDir dir;
  const auto w = at::linspace(-2, 2, 9).to(at::kBFloat16);
  saveSafetensors(dir / "m.safetensors", {{"w", w}});
  const auto file = SafetensorsFile::open(dir / "m.safetensors");
  const auto f32 = file->load("w", c10::Device(c10::DeviceType::CPU), at::kFloat);
  EXPECT_EQ(f32.scalar_type(), at::kFloat);
  EXPECT_TRUE(at::equal(f32, w.to(at::kFloat)));
  auto same = file->load("w");
  EXPECT_NE(same.data_ptr(), file->view("w").data_ptr());
}

TEST(Safetensors, MisalignedDataIsCopiedNotViewed) {
  // A third-party writer that does not pad: data starts at an odd offset.
  TempDir dir;
  std::string padded = R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
  if ((8 + padded.size()) % 2 == 0) padded += ' ';  // the data buffer starts at an odd offset
  float values[2] = {1.5f, -2.25f};
  const std::string data(reinterpret_cast<const char*>(values), sizeof values);
  writeBytes(dir / "odd.safetensors", safetensorsBytes(padded, data));
  const auto file = SafetensorsFile::open(dir / "odd.safetensors");
  const auto t = file->view("w");
  EXPECT_FLOAT_EQ(t[0].item<float>(), 1.5f);
  EXPECT_FLOAT_EQ(t[1].item<float>(), -2.25f);
}

TEST(Safetensors, BoolBytesAreNormalised) {
  TempDir dir;
  const std::string json = R"({"b":{"dtype":"BOOL","shape":[3],"data_offsets":[0,3]}})";
  writeBytes(dir / "b.safetensors", safetensorsBytes(json, std::string("\x00\x07\x01", 3)));
  const auto t = SafetensorsFile::open(dir / "b.safetensors")->view("b");
  EXPECT_TRUE(at::equal(t, at::tensor({0, 1, 1}, at::kByte).to(at::kBool)));
}

TEST(Safetensors, MissingTensorAndMissingFileNameTheFile) {
  TempDir dir;
  saveSafetensors(dir / "m.safetensors", {{"x", at::zeros({1})}});
  const auto file = SafetensorsFile::open(dir / "m.safetensors");
  try {
    file->view("nope");
    FAIL();
  } catch (const FormatError& e) {
    EXPECT_NE(std::string(e.what()).find("m.safetensors: no tensor named 'nope'"), std::string::npos) << e.what();
  }
  try {
    SafetensorsFile::open(dir / "absent.safetensors");
    FAIL();
  } catch (const FormatError& e) {
    EXPECT_NE(std::string(e.what()).find("absent.safetensors: cannot open"), std::string::npos) << e.what();
  }
  EXPECT_THROW(SafetensorsFile::open(dir.path()), FormatError);  // a folder
}

// Each case: a file name, its bytes, and words the message must contain.
struct Corrupt {
  std::string name, bytes, expect;
};

TEST(Safetensors, CorruptedFilesAreRefusedWithTheFileAndTheProblem) {
  const std::string ok = R"({"a":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]}})";
  const std::string data24(24, '\x01');
  auto header = [](const std::string& entry) { return "{\"a\":" + entry + "}"; };
  const std::vector<Corrupt> corpus = {
      {"empty.safetensors", "", "too short"},
      {"seven-bytes.safetensors", std::string(7, '\0'), "too short"},
      {"length-only.safetensors", u64le(0), "not valid JSON"},
      {"header-longer-than-file.safetensors", safetensorsBytes(ok, data24, 1000), "header length 1000 is larger than"},
      {"huge-length.safetensors", safetensorsBytes(ok, data24, INT64_MAX), "is larger than"},
      {"invalid-json.safetensors", safetensorsBytes("{\"a\": [1, 2", ""), "not valid JSON"},
      {"not-utf8.safetensors", safetensorsBytes("{\"\xff\":1}", ""), "not valid JSON"},
      // Found by the fuzzer: a number no double holds made nlohmann-json throw out_of_range.
      {"number-out-of-range.safetensors", safetensorsBytes(R"({"s":{"dtype":2E624}})", ""), "not valid JSON"},
      {"array-json.safetensors", safetensorsBytes("[1, 2, 3]", ""), "not a JSON object (it is array)"},
      {"string-json.safetensors", safetensorsBytes("\"hello\"", ""), "not a JSON object"},
      {"entry-not-object.safetensors", safetensorsBytes(header("7"), ""), "tensor 'a': entry is not an object"},
      {"no-dtype.safetensors", safetensorsBytes(header(R"({"shape":[1],"data_offsets":[0,4]})"), "abcd"),
       "tensor 'a': no dtype"},
      {"unknown-dtype.safetensors",
       safetensorsBytes(header(R"({"dtype":"F8_E4M3","shape":[1],"data_offsets":[0,1]})"), "a"),
       "tensor 'a': unknown dtype 'F8_E4M3'"},
      {"lowercase-dtype.safetensors",
       safetensorsBytes(header(R"({"dtype":"f32","shape":[1],"data_offsets":[0,4]})"), "abcd"), "unknown dtype 'f32'"},
      {"negative-dim.safetensors",
       safetensorsBytes(header(R"({"dtype":"F32","shape":[2,-3],"data_offsets":[0,24]})"), data24),
       "tensor 'a': shape [2,-3] has a negative dimension"},
      {"fractional-dim.safetensors",
       safetensorsBytes(header(R"({"dtype":"F32","shape":[2.5],"data_offsets":[0,8]})"), data24), "not an integer"},
      {"shape-not-array.safetensors",
       safetensorsBytes(header(R"({"dtype":"F32","shape":6,"data_offsets":[0,24]})"), data24), "is not an array"},
      {"three-offsets.safetensors",
       safetensorsBytes(header(R"({"dtype":"F32","shape":[6],"data_offsets":[0,12,24]})"), data24),
       "is not a pair [begin, end]"},
      {"negative-offset.safetensors",
       safetensorsBytes(header(R"({"dtype":"F32","shape":[6],"data_offsets":[-8,16]})"), data24),
       "are not non-negative integers"},
      {"reversed-offsets.safetensors",
       safetensorsBytes(header(R"({"dtype":"F32","shape":[0],"data_offsets":[8,0]})"), data24), "end before they begin"},
      {"offsets-past-end.safetensors",
       safetensorsBytes(header(R"({"dtype":"F32","shape":[2,3],"data_offsets":[8,32]})"), data24),
       "tensor 'a': data_offsets [8, 32] run past the end of the data (24 bytes"},
      {"truncated-data.safetensors", safetensorsBytes(ok, data24.substr(0, 20)), "run past the end of the data (20 bytes"},
      {"shape-bytes-mismatch.safetensors",
       safetensorsBytes(header(R"({"dtype":"F32","shape":[2,3],"data_offsets":[0,10]})"), data24),
       "tensor 'a': data_offsets [0, 10] do not match shape [2, 3] x F32 = 24 bytes"},
      {"overflowing-shape.safetensors",
       safetensorsBytes(header(R"({"dtype":"F64","shape":[4294967296,4294967296],"data_offsets":[0,0]})"), ""),
       "too large to address"},
      {"overlapping.safetensors",
       safetensorsBytes(R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},)"
                        R"("b":{"dtype":"F32","shape":[4],"data_offsets":[8,24]}})",
                        data24),
       "tensors 'a' [0, 16] and 'b' [8, 24] overlap"},
      {"duplicate-name.safetensors",
       safetensorsBytes(R"({"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},)"
                        R"("a":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}})",
                        "xy"),
       "tensor 'a' appears twice"},
      {"metadata-not-object.safetensors", safetensorsBytes(R"({"__metadata__":[1]})", ""), "__metadata__ is not an object"},
      {"metadata-number.safetensors", safetensorsBytes(R"({"__metadata__":{"epoch":3}})", ""),
       "__metadata__ value of 'epoch' is not a string"},
      {"deep-nesting.safetensors", safetensorsBytes(std::string(5000, '[') + std::string(5000, ']'), ""),
       "nested deeper"},
  };
  TempDir dir;
  for (const auto& c : corpus) {
    SCOPED_TRACE(c.name);
    const auto message = openError(dir, c.name, c.bytes);
    EXPECT_NE(message.find(c.name + ": "), std::string::npos) << message;
    EXPECT_NE(message.find(c.expect), std::string::npos) << message;
  }
}

TEST(Safetensors, HostileNamesAreShortenedAndEscapedInMessages) {
  const std::string longName(5000, 'n');
  const std::string json = "{\"\\n" + longName + "\":{\"dtype\":\"X\",\"shape\":[],\"data_offsets\":[0,0]}}";
  const auto bytes = safetensorsBytes(json, "");
  try {
    parseSafetensorsHeader(std::as_bytes(std::span(bytes.data(), bytes.size())), "f");
    FAIL();
  } catch (const FormatError& e) {
    EXPECT_LT(std::string(e.what()).size(), 400u);
    EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("'\\x0annnn"), std::string::npos) << e.what();
  }
}

TEST(Safetensors, AcceptsWhatTheFormatAllows) {
  // Gaps between tensors, zero-size tensors anywhere, unknown fields, no tensors at all.
  const std::string json =
      R"({"z":{"dtype":"F32","shape":[0],"data_offsets":[4,4]},)"
      R"("b":{"dtype":"U8","shape":[2],"data_offsets":[6,8],"extra":"ignored"},)"
      R"("a":{"dtype":"I16","shape":[],"data_offsets":[0,2]}})";
  const auto bytes = safetensorsBytes(json, std::string(10, '\0'));
  const auto h = parseSafetensorsHeader(std::as_bytes(std::span(bytes.data(), bytes.size())), "f");
  ASSERT_EQ(h.tensors.size(), 3u);
  EXPECT_EQ(h.tensors[0].name, "a");  // sorted by name
  EXPECT_EQ(h.tensors[0].numel(), 1u);
  EXPECT_EQ(h.dataBytes, 10u);
  EXPECT_NE(h.find("z"), nullptr);
  EXPECT_EQ(h.find("q"), nullptr);
  const auto emptyBytes = safetensorsBytes("{}", "");
  EXPECT_TRUE(parseSafetensorsHeader(std::as_bytes(std::span(emptyBytes.data(), emptyBytes.size())), "f").tensors.empty());
}
