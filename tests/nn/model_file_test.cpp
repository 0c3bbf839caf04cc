#include "mystyle/nn/model_file.h"

#include <gtest/gtest.h>

#include <cstring>
#include <fstream>

#include "mystyle/core/error.h"
#include "support/test_support.h"

namespace mystyle::nn {
namespace {

std::string slurp(const std::filesystem::path& p) {
  std::string bytes(std::filesystem::file_size(p), '\0');
  std::ifstream(p, std::ios::binary).read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  return bytes;
}

void spit(const std::filesystem::path& p, const std::string& bytes) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << bytes;
}

std::vector<float> test_images(int count, int side) {
  std::vector<float> x(static_cast<std::size_t>(count) * 3 * side * side);
  Rng rng(9);
  for (auto& v : x) v = rng.uniform_float();
  return x;
}

// With batch norm, whose moving statistics a training step has changed, so they are saved too.
TEST(ModelFile, SavedAndLoadedGivesBitIdenticalOutputs) {
  mystyle::testing::TempDir dir;
  Model model(parse_model_spec("model small\ninput 3 16\nconv 8 relu\nbatchnorm\nmaxpool\nlatent\n"
                               "conv 8 relu\nupsample\nconv 3 sigmoid\n"),
              4);
  const auto x = test_images(4, 16);
  model.compute_gradients(x, x, 4, LossKind::kBinaryCrossEntropy);  // moves the BN statistics
  save_model(dir / "m.msm", model);
  Model loaded = load_model(dir / "m.msm");
  EXPECT_EQ(loaded.spec(), model.spec());
  std::vector<float> a(x.size()), b(x.size());
  model.reconstruct(x, 4, a);
  loaded.reconstruct(x, 4, b);
  EXPECT_EQ(std::memcmp(a.data(), b.data(), a.size() * sizeof(float)), 0);
  std::vector<float> za(4 * model.feature_size(LatentPooling::kFlat)), zb(za.size());
  model.encode(x, 4, LatentPooling::kFlat, za);
  loaded.encode(x, 4, LatentPooling::kFlat, zb);
  EXPECT_EQ(za, zb);
  // Nothing but the file is left behind (the temporary was renamed).
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir.path()), {}), 1);
}

class CorruptFile : public ::testing::Test {
 protected:
  void SetUp() override {
    Model model(builtin_model_spec("seed64"), 1);
    save_model(path_, model);
    bytes_ = slurp(path_);
  }
  void expect_refused(const std::string& bytes, const std::string& message_part) {
    spit(path_, bytes);
    try {
      load_model(path_);
      FAIL() << "loaded a corrupt file";
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::kCorrupt) << e.what();
      EXPECT_NE(std::string(e.what()).find(message_part), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find(path_.string()), std::string::npos) << e.what();
    }
  }
  mystyle::testing::TempDir dir_;
  std::filesystem::path path_ = dir_ / "seed64.msm";
  std::string bytes_;
};

TEST_F(CorruptFile, FlippedByte) {
  for (const std::size_t at : {std::size_t{40}, bytes_.size() / 2, bytes_.size() - 1}) {
    std::string b = bytes_;
    b[at] = static_cast<char>(b[at] ^ 0x10);
    expect_refused(b, "checksum");
  }
}
TEST_F(CorruptFile, Truncated) {
  expect_refused(bytes_.substr(0, bytes_.size() - 7), "truncated");
}
TEST_F(CorruptFile, TooShortForAHeader) {
  expect_refused(bytes_.substr(0, 10), "magic");
}
TEST_F(CorruptFile, WrongMagic) {
  std::string b = bytes_;
  b[0] = 'X';
  expect_refused(b, "magic");
}
TEST_F(CorruptFile, WrongVersion) {
  std::string b = bytes_;
  b[8] = 99;
  expect_refused(b, "version 99");
}

TEST(ModelFile, WeightsOfAnotherSpecAreRefused) {
  mystyle::testing::TempDir dir;
  Model seed64(builtin_model_spec("seed64"), 1);
  save_model(dir / "a.msm", seed64);
  Model other(parse_model_spec("model other\ninput 3 64\nconv 8 relu\n"), 1);
  try {
    load_weights(dir / "a.msm", other);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kCorrupt);
    EXPECT_NE(std::string(e.what()).find("spec mismatch"), std::string::npos) << e.what();
  }
}

TEST(ModelFile, MissingFileIsNotFound) {
  try {
    load_model("/nonexistent/model.msm");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kNotFound);
  }
}

}  // namespace
}  // namespace mystyle::nn
