// Safetensors reading and writing: hand-made files, round trips, sharding, and every kind of corrupt file.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <random>

#include "r1/core/error.h"
#include "r1/model/decoder.h"
#include "r1/model/safetensors.h"
#include "test_util.h"

namespace r1 {
namespace {

using test::TempDir;
namespace fs = std::filesystem;

std::string le64(uint64_t n) {
  std::string s(8, '\0');
  for (int i = 0; i < 8; ++i) s[i] = static_cast<char>((n >> (8 * i)) & 0xff);
  return s;
}

// A file: 8-byte length, the header, then the data bytes.
std::string st_file(const std::string& header, const std::string& data) { return le64(header.size()) + header + data; }

std::string floats(std::initializer_list<float> v) {
  std::string s(v.size() * 4, '\0');
  std::memcpy(s.data(), std::data(v), s.size());
  return s;
}

TEST(Safetensors, ReadsAHandMadeFile) {
  TempDir dir;
  // "b" (BF16 0x3F80 = 1.0, 0xC000 = -2.0) sits before "a" in the data section.
  std::string header =
      R"({"__metadata__":{"format":"pt"},"a":{"dtype":"F32","shape":[2],"data_offsets":[4,12]},)"
      R"("b":{"dtype":"BF16","shape":[2,1],"data_offsets":[0,4]}})";
  std::string data = std::string("\x80\x3f\x00\xc0", 4) + floats({1.5f, -3.25f});
  auto path = dir.write("x.safetensors", st_file(header, data));
  auto f = SafetensorsFile::open(path);
  ASSERT_EQ(f.entries().size(), 2u);
  EXPECT_EQ(f.metadata().at("format"), "pt");
  auto a = f.view(*f.find("a"));
  EXPECT_EQ(a.scalar_type(), torch::kFloat32);
  EXPECT_EQ(a[0].item<float>(), 1.5f);
  EXPECT_EQ(a[1].item<float>(), -3.25f);
  auto b = f.view(*f.find("b"));
  EXPECT_EQ(b.sizes().vec(), (std::vector<int64_t>{2, 1}));
  EXPECT_EQ(b.to(torch::kFloat32)[0][0].item<float>(), 1.0f);
  EXPECT_EQ(b.to(torch::kFloat32)[1][0].item<float>(), -2.0f);
  EXPECT_EQ(f.find("c"), nullptr);
}

TEST(Safetensors, WriteThenReadRoundTripsEveryDtypeAndTheMetadata) {
  TempDir dir;
  auto f32 = torch::arange(6, torch::kFloat32).view({2, 3}) / 7;
  auto bf16 = torch::arange(5, torch::kFloat32).to(torch::kBFloat16) - 2;
  auto i64 = torch::tensor({int64_t{-5}, int64_t{1} << 40});
  auto scalar = torch::scalar_tensor(2.5, torch::kFloat16);
  write_safetensors(dir.path / "t.safetensors",
                    {{"f32", f32}, {"bf16", bf16}, {"i64", i64}, {"scalar", scalar}, {"strided", f32.t()}},
                    {{"step", "7"}});
  std::string bytes = test::read_file(dir.path / "t.safetensors");
  uint64_t n = 0;
  std::memcpy(&n, bytes.data(), 8);
  EXPECT_EQ(n % 8, 0u) << "data section aligned to 8 bytes";
  auto f = SafetensorsFile::open(dir.path / "t.safetensors");
  EXPECT_EQ(f.metadata().at("format"), "pt");
  EXPECT_EQ(f.metadata().at("step"), "7");
  EXPECT_TRUE(torch::equal(f.view(*f.find("f32")), f32));
  EXPECT_TRUE(torch::equal(f.view(*f.find("bf16")), bf16));
  EXPECT_TRUE(torch::equal(f.view(*f.find("i64")), i64));
  EXPECT_TRUE(torch::equal(f.view(*f.find("scalar")), scalar));
  EXPECT_TRUE(torch::equal(f.view(*f.find("strided")), f32.t()));
  EXPECT_EQ(f.find("bf16")->dtype, "BF16");
  EXPECT_TRUE(f.find("scalar")->shape.empty());
}

TEST(Safetensors, ShardsAboveTheThresholdWithAnIndex) {
  TempDir dir;
  std::vector<std::pair<std::string, torch::Tensor>> tensors;
  for (int i = 0; i < 5; ++i) tensors.emplace_back(fmt::format("w{}", i), torch::full({10}, float(i)));  // 40 B each
  write_safetensors_sharded(dir.path, tensors, 100);  // 2 tensors per shard: 3 shards
  EXPECT_TRUE(fs::exists(dir.path / "model-00001-of-00003.safetensors"));
  EXPECT_TRUE(fs::exists(dir.path / "model-00003-of-00003.safetensors"));
  EXPECT_FALSE(fs::exists(dir.path / "model.safetensors"));
  auto index = nlohmann::json::parse(test::read_file(dir.path / "model.safetensors.index.json"));
  EXPECT_EQ(index["metadata"]["total_size"], 200);
  EXPECT_EQ(index["weight_map"]["w4"], "model-00003-of-00003.safetensors");
  auto set = SafetensorsSet::open(dir.path);
  EXPECT_EQ(set.names().size(), 5u);
  EXPECT_EQ(set.total_bytes(), 200u);
  EXPECT_EQ(set.file_of("w3").path().filename(), "model-00002-of-00003.safetensors");
  EXPECT_TRUE(torch::equal(set.file_of("w3").view(set.entry("w3")), torch::full({10}, 3.0f)));

  TempDir single;
  write_safetensors_sharded(single.path, tensors, 1000);
  EXPECT_TRUE(fs::exists(single.path / "model.safetensors"));
  EXPECT_FALSE(fs::exists(single.path / "model.safetensors.index.json"));
}

struct BadFile {
  const char* what;
  std::string bytes;
  std::string expected;  // substring of the message (after the file name)
};

TEST(Safetensors, CorruptFilesAreInputErrorsNamingTheFileAndProblem) {
  const std::string ok_entry = R"("a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]})";
  const std::string data = floats({1, 2});
  const std::vector<BadFile> cases = {
      {"empty", "", "truncated safetensors file (0 bytes"},
      {"short length", std::string("\x10\x00\x00", 3), "truncated safetensors file (3 bytes"},
      {"length past EOF", le64(1000) + "{}", "header length 1000 runs past the end of the file (10 bytes)"},
      {"huge length", le64(~0ull) + "{}", "header length 18446744073709551615 runs past the end"},
      {"malformed JSON", st_file(R"({"a":{"dtype":"F32",)", data), "malformed header JSON"},
      {"not an object", st_file("[1,2]", data), "malformed header: expected a JSON object"},
      {"deep nesting", st_file(std::string(5000, '[') + std::string(5000, ']'), ""), "nested too deeply"},
      {"unknown dtype", st_file(R"({"a":{"dtype":"F8","shape":[2],"data_offsets":[0,2]}})", "xx"),
       "tensor 'a': unknown dtype 'F8' (known: F64, F32, F16, BF16"},
      {"missing shape", st_file(R"({"a":{"dtype":"F32","data_offsets":[0,8]}})", data), "missing or non-array shape"},
      {"negative dim", st_file(R"({"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", data),
       "shape entries must be non-negative integers"},
      {"offsets past data", st_file(R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})", data),
       "tensor 'a': data_offsets [0, 16] out of range (data section is 8 bytes)"},
      {"offsets reversed", st_file(R"({"a":{"dtype":"F32","shape":[0],"data_offsets":[8,0]}})", data),
       "data_offsets [8, 0] out of range"},
      {"size mismatch", st_file(R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", data),
       "data_offsets span 8 bytes but dtype F32 and shape need 12"},
      {"shape overflow",
       st_file(R"({"a":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,8]}})", data),
       "shape overflows"},
      {"overlap",
       st_file("{" + ok_entry + R"(,"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", data),
       "tensors 'a' and 'b' overlap"},
      {"bad metadata", st_file(R"({"__metadata__":{"format":3}})", ""), "__metadata__.format must be a string"},
  };
  for (const auto& c : cases) {
    TempDir dir;
    auto path = dir.write("bad.safetensors", c.bytes);
    try {
      SafetensorsFile::open(path);
      ADD_FAILURE() << c.what << ": no error";
    } catch (const InputError& e) {
      std::string msg = e.what();
      EXPECT_NE(msg.find(path.string()), std::string::npos) << c.what << ": " << msg;
      EXPECT_NE(msg.find(c.expected), std::string::npos) << c.what << ": " << msg;
    }
  }
}

TEST(Safetensors, MissingFilesAndBrokenIndexAreInputErrors) {
  TempDir dir;
  EXPECT_THROW(SafetensorsFile::open(dir.path / "nope.safetensors"), InputError);
  try {
    SafetensorsSet::open(dir.path);
    ADD_FAILURE();
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("no model weights"), std::string::npos) << e.what();
  }
  dir.write("model.safetensors.index.json", R"({"weight_map":{"w":"model-00001-of-00002.safetensors"}})");
  try {
    SafetensorsSet::open(dir.path);
    ADD_FAILURE();
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("shard model-00001-of-00002.safetensors"), std::string::npos) << e.what();
  }
  dir.write("model.safetensors.index.json", R"({"weight_map":{"w":"../etc/passwd"}})");
  EXPECT_THROW(SafetensorsSet::open(dir.path), InputError);
}

// Random byte flips in the header and random truncations of a real model file: loading must
// either succeed or throw InputError, never crash or throw anything else.
TEST(Safetensors, FuzzedRealFilesNeverCrash) {
  const fs::path source = test::source_dir() / "tests/fixtures/models/qwen2_bias";
  const std::string original = test::read_file(source / "model.safetensors");
  uint64_t header_len = 0;
  std::memcpy(&header_len, original.data(), 8);
  std::mt19937 rng(5);
  TempDir dir;
  fs::copy_file(source / "config.json", dir.path / "config.json");
  int ok = 0, rejected = 0;
  for (int round = 0; round < 300; ++round) {
    std::string bytes = original;
    if (round % 3 == 0) {
      bytes.resize(std::uniform_int_distribution<size_t>(0, bytes.size() - 1)(rng));
    } else {
      int flips = 1 + static_cast<int>(rng() % 4);
      for (int i = 0; i < flips; ++i) {
        size_t at = std::uniform_int_distribution<size_t>(0, 8 + header_len - 1)(rng);
        bytes[at] = static_cast<char>(rng() & 0xff);
      }
    }
    dir.write("model.safetensors", bytes);
    try {
      auto loaded = load_model(dir.path, torch::kFloat32, torch::kCPU);
      ++ok;
    } catch (const InputError& e) {
      ++rejected;
      EXPECT_NE(std::string(e.what()).find(dir.path.string()), std::string::npos) << e.what();
    } catch (const std::exception& e) {
      ADD_FAILURE() << "round " << round << ": not an InputError: " << e.what();
    }
  }
  EXPECT_GT(rejected, 150);  // nearly every mutation of the header or the length breaks it
  EXPECT_EQ(ok + rejected, 300);
}

}  // namespace
}  // namespace r1
