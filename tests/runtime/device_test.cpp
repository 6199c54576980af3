// Devices and dtypes: parsing what users type, and the compute-dtype policy.
#include <gtest/gtest.h>

#include "presence/core/error.hpp"
#include "presence/runtime/device.hpp"
#include "presence/runtime/dtype.hpp"

using namespace presence::runtime;
using presence::core::InputError;

namespace {
std::string errorOf(const std::function<void()>& f) {
  try {
    f();
  } catch (const InputError& e) {
    return e.what();
  }
  return "(no error)";
}
}  // namespace

TEST(DeviceSpec, ParsesTheAcceptedForms) {
  EXPECT_EQ(DeviceSpec::parse("cpu").kind, DeviceSpec::Kind::Cpu);
  EXPECT_EQ(DeviceSpec::parse("auto").kind, DeviceSpec::Kind::Auto);
  EXPECT_EQ(DeviceSpec::parse("cuda").kind, DeviceSpec::Kind::Cuda);
  EXPECT_FALSE(DeviceSpec::parse("cuda").index.has_value());
  const auto spec = DeviceSpec::parse(" CUDA:3 ");
  EXPECT_EQ(spec.kind, DeviceSpec::Kind::Cuda);
  EXPECT_EQ(spec.index, 3);
  EXPECT_EQ(spec.str(), "cuda:3");
  EXPECT_EQ(DeviceSpec::parse("Cpu").str(), "cpu");
}

TEST(DeviceSpec, RejectsBadStringsNamingThemAndTheAcceptedForms) {
  for (const char* bad : {"", "gpu", "cuda:", "cuda:-1", "cuda:x", "cuda:1x", "cuda:1:2", "cpu:0", "mps", "cuda:99999"}) {
    const auto message = errorOf([&] { DeviceSpec::parse(bad); });
    EXPECT_NE(message.find("'" + std::string(bad) + "'"), std::string::npos) << message;
    EXPECT_NE(message.find("cpu, cuda, cuda:N or auto"), std::string::npos) << message;
  }
}

TEST(ResolveDevice, AutoPicksCudaZeroOnlyWhenThereIsOne) {
  EXPECT_EQ(resolveDevice(DeviceSpec::parse("auto"), 0), c10::Device(c10::DeviceType::CPU));
  EXPECT_EQ(resolveDevice(DeviceSpec::parse("auto"), 2), c10::Device(c10::DeviceType::CUDA, 0));
  EXPECT_EQ(resolveDevice(DeviceSpec::parse("cuda"), 1), c10::Device(c10::DeviceType::CUDA, 0));
  EXPECT_EQ(resolveDevice(DeviceSpec::parse("cuda:1"), 2), c10::Device(c10::DeviceType::CUDA, 1));
  EXPECT_EQ(resolveDevice(DeviceSpec::parse("cpu"), 2), c10::Device(c10::DeviceType::CPU));
}

TEST(ResolveDevice, UnavailableCudaIsAClearError) {
  auto message = errorOf([] { resolveDevice(DeviceSpec::parse("cuda"), 0); });
  EXPECT_NE(message.find("no CUDA device is available"), std::string::npos) << message;
  message = errorOf([] { resolveDevice(DeviceSpec::parse("cuda:2"), 2); });
  EXPECT_NE(message.find("only 2 CUDA devices are available"), std::string::npos) << message;
  message = errorOf([] { resolveDevice(DeviceSpec::parse("cuda:1"), 1); });
  EXPECT_NE(message.find("only 1 CUDA device is available"), std::string::npos) << message;
}

TEST(ResolveDevice, AgainstThisMachine) {
  const auto device = resolveDevice("auto");
  EXPECT_EQ(device.is_cuda(), cudaDeviceCount() > 0);
  EXPECT_EQ(resolveDevice("cpu"), c10::Device(c10::DeviceType::CPU));
  if (cudaDeviceCount() == 0) {
    EXPECT_THROW(resolveDevice("cuda"), InputError);
  }
  EXPECT_EQ(deviceName(c10::Device(c10::DeviceType::CUDA, 1)), "cuda:1");
  EXPECT_EQ(deviceName(c10::Device(c10::DeviceType::CPU)), "cpu");
}

TEST(Dtype, ShortNamesBothWays) {
  const std::vector<std::pair<c10::ScalarType, std::string>> table = {
      {c10::ScalarType::Float, "f32"}, {c10::ScalarType::BFloat16, "bf16"}, {c10::ScalarType::Half, "f16"},
      {c10::ScalarType::Double, "f64"}, {c10::ScalarType::Long, "i64"},    {c10::ScalarType::Int, "i32"},
      {c10::ScalarType::Short, "i16"},  {c10::ScalarType::Char, "i8"},     {c10::ScalarType::Byte, "u8"},
      {c10::ScalarType::Bool, "bool"}};
  for (const auto& [type, name] : table) {
    EXPECT_EQ(dtypeName(type), name);
    EXPECT_EQ(parseDtype(name), type) << name;
  }
  EXPECT_EQ(parseDtype("float32"), c10::ScalarType::Float);
  EXPECT_EQ(parseDtype("BFloat16"), c10::ScalarType::BFloat16);
  EXPECT_EQ(parseDtype("half"), c10::ScalarType::Half);
  EXPECT_EQ(parseDtype("BF16"), c10::ScalarType::BFloat16);
  EXPECT_THROW(dtypeName(c10::ScalarType::ComplexFloat), InputError);
  const auto message = errorOf([] { parseDtype("f8"); });
  EXPECT_NE(message.find("'f8'"), std::string::npos) << message;
}

TEST(Dtype, SafetensorsNamesBothWays) {
  const std::vector<std::pair<c10::ScalarType, std::string>> table = {
      {c10::ScalarType::Float, "F32"}, {c10::ScalarType::BFloat16, "BF16"}, {c10::ScalarType::Half, "F16"},
      {c10::ScalarType::Double, "F64"}, {c10::ScalarType::Long, "I64"},    {c10::ScalarType::Int, "I32"},
      {c10::ScalarType::Short, "I16"},  {c10::ScalarType::Char, "I8"},     {c10::ScalarType::Byte, "U8"},
      {c10::ScalarType::Bool, "BOOL"}};
  for (const auto& [type, name] : table) {
    EXPECT_EQ(safetensorsDtypeName(type), name);
    EXPECT_EQ(scalarTypeFromSafetensors(name), type) << name;
    EXPECT_EQ(toScalarType(toStDtype(type)), type);
    EXPECT_EQ(stDtypeSize(toStDtype(type)), c10::elementSize(type));
  }
  EXPECT_FALSE(scalarTypeFromSafetensors("f32").has_value());  // the format's names are upper case
  EXPECT_FALSE(scalarTypeFromSafetensors("F8_E4M3").has_value());
  EXPECT_THROW(safetensorsDtypeName(c10::ScalarType::ComplexDouble), InputError);
}

TEST(DtypePolicy, Bf16OnCudaAndTheModelsChoiceOnCpu) {
  const c10::Device cpu(c10::DeviceType::CPU), cuda(c10::DeviceType::CUDA, 0);
  const DtypePolicy byDefault;
  EXPECT_EQ(byDefault.computeDtype(cpu), c10::ScalarType::Float);
  EXPECT_EQ(byDefault.computeDtype(cuda), c10::ScalarType::BFloat16);
  const auto bf16Model = DtypePolicy::forModel("bf16");
  EXPECT_EQ(bf16Model.computeDtype(cpu), c10::ScalarType::BFloat16);
  EXPECT_EQ(bf16Model.computeDtype(cuda), c10::ScalarType::BFloat16);
  EXPECT_EQ(DtypePolicy::forModel("float32").computeDtype(cpu), c10::ScalarType::Float);
  EXPECT_THROW(DtypePolicy::forModel("f16"), InputError);
  EXPECT_THROW(DtypePolicy::forModel("i8"), InputError);

  EXPECT_EQ(byDefault.resolve(cpu, "auto"), c10::ScalarType::Float);
  EXPECT_EQ(byDefault.resolve(cuda, ""), c10::ScalarType::BFloat16);
  EXPECT_EQ(byDefault.resolve(cuda, "f32"), c10::ScalarType::Float);  // a user override wins
  EXPECT_EQ(byDefault.resolve(cpu, "f16"), c10::ScalarType::Half);
  EXPECT_THROW(byDefault.resolve(cpu, "i64"), InputError);
}
