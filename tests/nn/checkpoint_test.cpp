#include "mystyle/nn/checkpoint.h"

#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <numeric>

#include "mystyle/core/byte_io.h"
#include "mystyle/core/error.h"
#include "mystyle/nn/model_file.h"
#include "mystyle/nn/style_trainer.h"
#include "mystyle/nn/trainer.h"
#include "support/test_support.h"

namespace mystyle::nn {
namespace {

const char* const kAutoencoderSpec =
    "model tiny\ninput 3 16\nconv 8 relu\nbatchnorm\nmaxpool\nlatent\nconv 8 relu\nupsample\nconv 3 "
    "sigmoid\n";
const char* const kEncoderSpec =
    "model enc\ninput 3 16\nconv 8 relu\nbatchnorm\nmaxpool\nlinear 12\nlatent\nl2norm\n";

std::string slurp(const std::filesystem::path& p) {
  std::string bytes(std::filesystem::file_size(p), '\0');
  std::ifstream(p, std::ios::binary).read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  return bytes;
}

void spit(const std::filesystem::path& p, const std::string& bytes) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << bytes;
}

std::vector<float> test_images(int count, int side, std::uint64_t seed) {
  std::vector<float> x(static_cast<std::size_t>(count) * 3 * side * side);
  Rng rng(seed);
  for (auto& v : x) v = rng.uniform_float();
  return x;
}

std::vector<std::uint32_t> iota(int n) {
  std::vector<std::uint32_t> v(static_cast<std::size_t>(n));
  std::iota(v.begin(), v.end(), 0u);
  return v;
}

// Two Adam steps on reconstruction gradients: non-zero moments and step count.
void train_two_steps(Model& model, Adam& adam) {
  const auto x = test_images(2, 16, 3);
  for (int i = 0; i < 2; ++i) {
    model.compute_gradients(x, x, 2, LossKind::kBinaryCrossEntropy);
    adam.step();
  }
}

bool same_floats(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

void expect_same_weights(Model& a, Model& b) {
  const auto pa = a.params(), pb = b.params();
  ASSERT_EQ(pa.size(), pb.size());
  for (std::size_t i = 0; i < pa.size(); ++i)
    EXPECT_TRUE(same_floats(pa[i]->value, pb[i]->value)) << pa[i]->name;
}

void expect_same_adam(Adam& a, Adam& b) {
  EXPECT_EQ(a.step_count(), b.step_count());
  ASSERT_EQ(a.first_moments().size(), b.first_moments().size());
  for (std::size_t i = 0; i < a.first_moments().size(); ++i) {
    EXPECT_TRUE(same_floats(a.first_moments()[i], b.first_moments()[i])) << "first moment " << i;
    EXPECT_TRUE(same_floats(a.second_moments()[i], b.second_moments()[i])) << "second moment " << i;
  }
}

// `f` throws mystyle::Error (kCorrupt) whose message names `file` and contains `what`.
template <typename F>
void expect_corrupt(F f, const std::filesystem::path& file, const std::string& what) {
  try {
    f();
    ADD_FAILURE() << "no error (expected '" << what << "')";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kCorrupt) << e.what();
    EXPECT_NE(std::string(e.what()).find(file.string()), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(what), std::string::npos) << e.what();
  }
}

struct Saved {
  Model model{parse_model_spec(kAutoencoderSpec), 5};
  Adam adam{model.params()};
  Rng rng{42};
  Saved() {
    train_two_steps(model, adam);
    rng.next_u64();
  }
  CheckpointWriter writer() const {
    CheckpointWriter w("test");
    w.put_int("epoch", 3).put_int("negative", -5).put_rng("rng", rng.state()).put_adam("adam", adam);
    w.put_floats("tensor", std::vector<float>{1.5f, -2.0f, 0.0f}).put_bytes("blob", std::string("a\0b", 3));
    return w;
  }
};

TEST(Checkpoint, RoundTripsWeightsAndEverySectionType) {
  mystyle::testing::TempDir dir;
  Saved saved;
  saved.writer().save(dir / "c.ckpt", saved.model);
  EXPECT_EQ(saved.writer().state(), saved.writer().state());  // the same state, the same bytes

  Model model(parse_model_spec(kAutoencoderSpec), 99);  // other weights: all must come from the file
  Adam adam(model.params());
  const CheckpointReader r = CheckpointReader::load(dir / "c.ckpt", model, "test");
  expect_same_weights(saved.model, model);
  EXPECT_EQ(r.get_int("epoch"), 3);
  EXPECT_EQ(r.get_int("negative"), -5);
  EXPECT_EQ(r.get_rng("rng"), saved.rng.state());
  r.get_adam_into("adam", adam);
  expect_same_adam(saved.adam, adam);
  EXPECT_EQ(r.get_floats("tensor"), (std::vector<float>{1.5f, -2.0f, 0.0f}));
  std::vector<float> into(3);
  r.get_floats_into("tensor", into);
  EXPECT_EQ(into, r.get_floats("tensor"));
  EXPECT_EQ(r.get_bytes("blob"), std::string("a\0b", 3));
  EXPECT_TRUE(r.has("blob"));
  EXPECT_FALSE(r.has("absent"));
}

TEST(Checkpoint, TruncatedFileIsAnErrorNamingTheFile) {
  mystyle::testing::TempDir dir;
  Saved saved;
  saved.writer().save(dir / "c.ckpt", saved.model);
  const std::string bytes = slurp(dir / "c.ckpt");
  spit(dir / "c.ckpt", bytes.substr(0, bytes.size() - 7));
  Model model(parse_model_spec(kAutoencoderSpec), 1);
  expect_corrupt([&] { CheckpointReader::load(dir / "c.ckpt", model, "test"); }, dir / "c.ckpt", "truncated");
}

// A trainer state that is cut short or garbled behind a valid model-file checksum.
TEST(Checkpoint, CorruptTrainerStateIsAnErrorNamingTheFile) {
  mystyle::testing::TempDir dir;
  Saved saved;
  const std::string state = saved.writer().state();
  Model model(parse_model_spec(kAutoencoderSpec), 1);
  const auto path = dir / "c.ckpt";
  const auto load = [&] { CheckpointReader::load(path, model, "test"); };

  save_model(path, saved.model, ModelFileKind::kCheckpoint, state.substr(0, state.size() - 2));
  expect_corrupt(load, path, "section 'blob' is truncated");
  save_model(path, saved.model, ModelFileKind::kCheckpoint, state + "x");
  expect_corrupt(load, path, "trailing bytes");
  save_model(path, saved.model, ModelFileKind::kCheckpoint, std::string("\x09\0\0\0", 4));
  expect_corrupt(load, path, "trainer state version 9");
  save_model(path, saved.model, ModelFileKind::kCheckpoint, "xy");
  expect_corrupt(load, path, "truncated");
  save_model(path, saved.model);  // a model file
  expect_corrupt(load, path, "a model file without trainer state");
  saved.writer().save(path, saved.model);
  expect_corrupt([&] { CheckpointReader::load(path, model, "parsing"); }, path,
                 "a 'test' checkpoint, this trainer reads 'parsing' checkpoints");
}

TEST(Checkpoint, MissingMistypedOrMismatchedSectionsAreErrors) {
  mystyle::testing::TempDir dir;
  Saved saved;
  const auto path = dir / "c.ckpt";
  saved.writer().save(path, saved.model);
  Model model(parse_model_spec(kAutoencoderSpec), 1);
  const CheckpointReader r = CheckpointReader::load(path, model, "test");
  expect_corrupt([&] { r.get_int("absent"); }, path, "no section 'absent'");
  expect_corrupt([&] { r.get_int("rng"); }, path, "section 'rng' holds an rng state, expected an int");
  expect_corrupt([&] { r.get_int("negative", 0, 10); }, path, "section 'negative': holds -5, outside 0..10");
  std::vector<float> wrong(4);
  expect_corrupt([&] { r.get_floats_into("tensor", wrong); }, path, "has 3 values, expected 4");
  expect_corrupt([&] { r.fail("written with another batch size"); }, path, "written with another batch size");

  // Another model's optimizer: refused, and left as it was.
  Model other(parse_model_spec(kEncoderSpec), 1);
  Adam adam(other.params()), untouched(other.params());
  expect_corrupt([&] { r.get_adam_into("adam", adam); }, path, "optimizer state does not match the model");
  expect_same_adam(adam, untouched);
}

TEST(Checkpoint, ASectionNameUsedTwiceIsRefused) {
  CheckpointWriter w("test");
  w.put_int("epoch", 1);
  EXPECT_THROW(w.put_floats("epoch", std::vector<float>{}), Error);
}

// --- Version 1: the layouts nn::Trainer and nn::StyleTrainer hand-wrote before checkpoint.h ---

void put_v1_moments(ByteWriter& w, Adam& adam) {
  w.put<std::uint32_t>(static_cast<std::uint32_t>(adam.first_moments().size()));
  for (const auto& m : adam.first_moments()) w.put_array<float>(m);
  for (const auto& v : adam.second_moments()) w.put_array<float>(v);
}

// Trainer's version 1: the current checkpoint's content in the old layout, byte for byte as the
// old Trainer::save_checkpoint wrote it.
void rewrite_as_v1_autoencoder(const std::filesystem::path& path, const ModelSpec& spec) {
  Model model(spec, 0);
  Adam adam(model.params());
  const CheckpointReader r = CheckpointReader::load(path, model, kAutoencoderFamily);
  r.get_adam_into("adam", adam);
  ByteWriter w;
  w.put<std::uint32_t>(1);
  w.put<std::int32_t>(static_cast<std::int32_t>(r.get_int("epoch")));
  w.put<std::int64_t>(adam.step_count());
  w.put<std::int32_t>(static_cast<std::int32_t>(r.get_int("batch_size")));
  for (const auto word : r.get_rng("rng")) w.put<std::uint64_t>(word);
  put_v1_moments(w, adam);
  save_model(path, model, ModelFileKind::kCheckpoint, w.bytes());
}

// An autoencoder checkpoint in the version-1 layout resumes exactly as the run that was not stopped.
TEST(Checkpoint, Version1AutoencoderCheckpointResumesBitIdentical) {
  mystyle::testing::TempDir dir;
  const ModelSpec spec = parse_model_spec(kAutoencoderSpec);
  const auto pixels = test_images(20, 16, 2);
  const ImageSet images = ImageSet::from_floats(pixels, 20, 3, 16);
  const auto train = iota(20);
  TrainerSettings settings;
  settings.batch_size = 8;
  settings.shuffle_seed = 77;

  Model straight(spec, 5);
  Trainer a(straight, settings);
  for (int e = 0; e < 2; ++e) a.train_epoch(images, train);
  {
    Model first(spec, 5);
    Trainer b(first, settings);
    b.train_epoch(images, train);
    b.save_checkpoint(dir / "ckpt");
  }
  rewrite_as_v1_autoencoder(dir / "ckpt", spec);
  Model resumed(spec, 999);
  Trainer c(resumed, settings);
  c.load_checkpoint(dir / "ckpt");
  EXPECT_EQ(c.epoch(), 1);
  c.train_epoch(images, train);
  EXPECT_EQ(c.step(), a.step());
  expect_same_weights(straight, resumed);

  TrainerSettings other = settings;
  other.batch_size = 4;
  Trainer d(resumed, other);
  expect_corrupt([&] { d.load_checkpoint(dir / "ckpt"); }, dir / "ckpt", "written with another batch size");
}

StyleTrainerSettings style_settings() {
  StyleTrainerSettings s;
  s.batch_size = 8;
  s.shuffle_seed = 11;
  s.heads = {{"type", 3, 1.0}, {"colour", 2, 2.0}};
  return s;
}

ImageLabels style_labels(int n) {
  ImageLabels labels(2);
  for (int i = 0; i < n; ++i) {
    labels[0].push_back(i % 3);
    labels[1].push_back(i % 5 == 0 ? -1 : i % 2);
  }
  return labels;
}

// StyleTrainer's version 1, byte for byte as the old StyleTrainer::save_checkpoint wrote it.
void rewrite_as_v1_style(const std::filesystem::path& path, const ModelSpec& spec) {
  Model model(spec, 0);
  const StyleTrainerSettings s = style_settings();
  ProxyLoss proxies(model.feature_size(LatentPooling::kFlat), s.heads, s.scale, 0, s.margin);
  Adam adam(model.params()), proxy_adam(proxies.params());
  const CheckpointReader r = CheckpointReader::load(path, model, kStyleFamily);
  r.get_adam_into("adam", adam);
  r.get_adam_into("proxy_adam", proxy_adam);
  ByteWriter w;
  w.put<std::uint32_t>(1);
  w.put<std::int32_t>(static_cast<std::int32_t>(r.get_int("epoch")));
  w.put<std::int32_t>(static_cast<std::int32_t>(r.get_int("batch_size")));
  for (const auto word : r.get_rng("rng")) w.put<std::uint64_t>(word);
  w.put<std::uint32_t>(static_cast<std::uint32_t>(r.get_int("heads")));
  for (Param* p : proxies.params()) {
    w.put_string(p->name);
    w.put_array<float>(r.get_floats(p->name));
  }
  for (Adam* opt : {&adam, &proxy_adam}) {
    w.put<std::int64_t>(opt->step_count());
    put_v1_moments(w, *opt);
  }
  save_model(path, model, ModelFileKind::kCheckpoint, w.bytes());
}

TEST(Checkpoint, Version1StyleCheckpointResumesBitIdentical) {
  mystyle::testing::TempDir dir;
  const ModelSpec spec = parse_model_spec(kEncoderSpec);
  const auto pixels = test_images(20, 16, 4);
  const ImageSet images = ImageSet::from_floats(pixels, 20, 3, 16);
  const auto train = iota(20);
  const ImageLabels labels = style_labels(20);

  Model straight(spec, 5);
  StyleTrainer a(straight, style_settings());
  for (int e = 0; e < 2; ++e) a.train_epoch(images, train, labels);
  {
    Model first(spec, 5);
    StyleTrainer b(first, style_settings());
    b.train_epoch(images, train, labels);
    b.save_checkpoint(dir / "ckpt");
    // The current format resumes too, and a checkpoint of one family is refused by the other.
    Trainer autoencoder(first, {});
    expect_corrupt([&] { autoencoder.load_checkpoint(dir / "ckpt"); }, dir / "ckpt", "a 'style' checkpoint");
  }
  const std::string current = slurp(dir / "ckpt");
  for (const bool v1 : {false, true}) {
    SCOPED_TRACE(v1 ? "version 1" : "version 2");
    spit(dir / "ckpt", current);
    if (v1) rewrite_as_v1_style(dir / "ckpt", spec);
    Model resumed(spec, 999);
    StyleTrainer c(resumed, style_settings());
    c.load_checkpoint(dir / "ckpt");
    EXPECT_EQ(c.epoch(), 1);
    c.train_epoch(images, train, labels);
    expect_same_weights(straight, resumed);
    const auto pa = a.proxies().params(), pc = c.proxies().params();
    for (std::size_t i = 0; i < pa.size(); ++i) EXPECT_TRUE(same_floats(pa[i]->value, pc[i]->value));
  }

  StyleTrainerSettings fewer = style_settings();
  fewer.heads.pop_back();
  Model model(spec, 1);
  StyleTrainer d(model, fewer);
  expect_corrupt([&] { d.load_checkpoint(dir / "ckpt"); }, dir / "ckpt", "written with other label heads");
}

TEST(Checkpoint, Version1ExistsOnlyForTheTwoEarlierFamilies) {
  ByteWriter w;
  w.put<std::uint32_t>(1);
  w.put<std::int32_t>(1);
  EXPECT_THROW(CheckpointReader(w.bytes(), "checkpoint x", "parsing"), Error);
  // Cut short in the old layout: an error, not a crash.
  EXPECT_THROW(CheckpointReader(w.bytes(), "checkpoint x", kAutoencoderFamily), Error);
  EXPECT_THROW(CheckpointReader(w.bytes(), "checkpoint x", kStyleFamily), Error);
}

}  // namespace
}  // namespace mystyle::nn
