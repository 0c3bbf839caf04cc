// What fuzzing found in the loaders of model, index, embeddings and feature-cache files
// (docs/reliability.md, "Fuzzing"). The inputs in tests/data/fuzz/ are the exact bytes the loader
// saw: the fuzz targets repair a file's length and checksum fields before loading, so these files
// carry valid checksums.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <cstring>
#include <nlohmann/json.hpp>

#include "fuzz/fuzz_inputs.h"
#include "mystyle/core/byte_io.h"
#include "mystyle/core/error.h"
#include "mystyle/core/file_io.h"
#include "mystyle/engine/compat_model.h"
#include "mystyle/engine/embeddings.h"
#include "mystyle/engine/simple_features.h"
#include "mystyle/index/faiss_index.h"
#include "mystyle/index/index_io.h"
#include "mystyle/nn/model_file.h"
#include "mystyle/nn/model_spec.h"
#include "support/test_support.h"

namespace mystyle::fuzz_regression {
namespace {

using testing::TempDir;
using testing::write_file;

/// Runs `load` expecting an Error of `kind` whose message contains `expected`.
template <typename F>
void expect_error(F&& load, ErrorKind kind, const std::string& expected) {
  try {
    load();
    ADD_FAILURE() << "expected an error containing '" << expected << "'";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), kind) << e.what();
    EXPECT_NE(std::string(e.what()).find(expected), std::string::npos) << "message: " << e.what();
  }
}

std::filesystem::path data_file(const std::string& name) { return std::string(MYSTYLE_FUZZ_DATA) + "/" + name; }

// A tensor's dimension count (2^31 + 2) sized a vector before it was compared with the spec: 17 GB.
// The saved input is now refused one step earlier (its spec needs more bytes than it holds), so
// the same damage is also made to a valid file, to reach the dimension check itself.
TEST(ModelFileRegression, AbsurdDimensionCountIsRefusedBeforeAllocating) {
  expect_error([] { nn::load_model_file(data_file("model_file_ndims.model")); }, ErrorKind::kCorrupt, "bad spec");

  TempDir dir;
  nn::Model model(nn::parse_model_spec("model enc\ninput 1 4\nlinear 3 relu\nlatent\nl2norm\n"), 1);
  nn::save_model(dir / "enc.model", model);
  std::string bytes = read_file_bytes(dir / "enc.model");
  constexpr std::size_t kHeader = 32;  // magic, version, kind, payload bytes, checksum
  const std::size_t name_at = bytes.find("0.weight");
  ASSERT_NE(name_at, std::string::npos);
  const std::uint32_t ndims = 0x81000002u;
  std::memcpy(bytes.data() + name_at + 8, &ndims, sizeof ndims);
  const std::uint64_t checksum = fnv1a64(std::string_view(bytes).substr(kHeader));
  std::memcpy(bytes.data() + 24, &checksum, sizeof checksum);
  write_file(dir / "enc.model", bytes);
  expect_error([&] { nn::load_model_file(dir / "enc.model"); }, ErrorKind::kCorrupt, "wrong shape");
}

// "linear 214748364" in a 9 KB file (fuzz/compat_fuzzer): Model allocated its weights (GBs)
// before a single tensor was read.
TEST(ModelFileRegression, SpecLargerThanTheFileIsRefusedBeforeAllocating) {
  expect_error([] { nn::load_model_file(data_file("model_file_linear_2147483647.model")); }, ErrorKind::kCorrupt,
               "bad spec");
  TempDir dir;
  nn::Model model(nn::parse_model_spec("model enc\ninput 1 4\nlinear 3 relu\nlatent\nl2norm\n"), 1);
  nn::save_model(dir / "enc.model", model);
  std::string bytes = read_file_bytes(dir / "enc.model");
  // Cut the weights away (length and checksum kept consistent): the spec now wants more than is left.
  bytes.resize(bytes.find("0.weight"));
  const std::uint64_t payload = bytes.size() - 32, checksum = fnv1a64(std::string_view(bytes).substr(32));
  std::memcpy(bytes.data() + 16, &payload, sizeof payload);
  std::memcpy(bytes.data() + 24, &checksum, sizeof checksum);
  write_file(dir / "enc.model", bytes);
  expect_error([&] { nn::load_model_file(dir / "enc.model"); }, ErrorKind::kCorrupt, "parameters");
}

// The count the loader checks a file against must be the count Model really allocates.
TEST(ModelSpecRegression, ParameterCountMatchesTheBuiltModel) {
  std::vector<nn::ModelSpec> specs;
  for (const auto& name : nn::builtin_model_names()) specs.push_back(nn::builtin_model_spec(name));
  specs.push_back(nn::parse_model_spec("model c\ninput 1044 1\nlinear 256 relu\nlinear 64\nlatent\nl2norm\n"));
  specs.push_back(nn::parse_model_spec("model t\ninput 3 8\nconv 2 relu\nmaxpool\nbatchnorm\nlatent\nupsample\nconv 3 sigmoid\n"));
  for (const auto& spec : specs) {
    const nn::Model model(spec, /*init_seed=*/1);
    EXPECT_EQ(nn::spec_parameter_count(spec), model.parameter_count(nn::ParamCounting::kKeras)) << spec.name;
  }
}

TEST(ModelSpecRegression, ShapesPastTheLimitsAreRefused) {
  EXPECT_THROW(nn::spec_parameter_count(nn::parse_model_spec("model a\ninput 3 8\nlinear 2147483647\nlatent\n")),
               Error);
  std::string upsampled = "model b\ninput 3 64\n";
  for (int i = 0; i < 30; ++i) upsampled += "upsample\n";  // 64 * 2^30 pixels a side: int overflow
  EXPECT_THROW(nn::spec_parameter_count(nn::parse_model_spec(upsampled + "latent\n")), Error);
  EXPECT_THROW(nn::spec_parameter_count(nn::parse_model_spec("model c\ninput 3 7\nmaxpool\nlatent\n")), Error);
}

// A neighbour id past the end of the graph: the loaded index crashed its first search.
TEST(IndexRegression, GraphWithANeighbourOutOfRangeIsRefused) {
  expect_error([] { index::load_index(data_file("index_bad_neighbour.index")); }, ErrorKind::kCorrupt,
               "FAISS graph");
}

// An HNSW array declaring 2^40 elements in a 1 KB file: faiss::read_index allocated 2.4 TB.
TEST(IndexRegression, GraphArrayLongerThanTheFileIsRefusedBeforeAllocating) {
  expect_error([] { index::load_index(data_file("index_huge_array.index")); }, ErrorKind::kCorrupt, "FAISS graph");
}

// FAISS's upper_beam stored as 2^29: the loaded index allocated a candidate list that long (4 GB)
// at its first search.
TEST(IndexRegression, AbsurdSearchSettingsAreRefused) {
  expect_error([] { index::load_index(data_file("index_huge_upper_beam.index")); }, ErrorKind::kCorrupt,
               "bad search settings");
}

// A graph faiss::read_index throws on (FAISS leaks the half-read index, a few KB; fuzz/lsan.supp).
TEST(IndexRegression, GraphFaissCannotReadIsRefused) {
  expect_error([] { index::load_index(data_file("index_faiss_throws.index")); }, ErrorKind::kCorrupt, "FAISS graph");
}

// An empty id array was copied with memcpy from a null data(): undefined behaviour (UBSan), fixed
// in ByteReader for every format that reads arrays.
TEST(IndexRegression, EmptyArraysReadWithoutTouchingNull) {
  EXPECT_THROW(index::load_index(data_file("index_empty_ids.index")), Error);
  ByteWriter out;
  out.put_array<std::int64_t>(std::span<const std::int64_t>());
  out.put<std::uint64_t>(0);
  ByteReader in(out.bytes(), "test");
  EXPECT_TRUE(in.get_array<std::int64_t>().empty());
  std::vector<float> none;
  in.get_floats_into(none, "none");
  EXPECT_TRUE(in.at_end());
}

// The checks before faiss::read_index follow FAISS's own layout: what FaissIndex writes (both
// storage kinds, an empty graph, a graph of tombstones) must still load and search the same.
TEST(IndexRegression, EveryGraphFaissIndexWritesStillLoads) {
  TempDir dir;
  for (const index::Metric metric : {index::Metric::kEuclidean, index::Metric::kCosine}) {
    index::FaissIndex empty(3, metric);
    index::save_index(empty, dir / "empty.idx");
    EXPECT_EQ(index::load_index(dir / "empty.idx")->size(), 0u);

    index::FaissIndex hnsw(3, metric, {.neighbors_per_node = 4, .ef_construction = 8});
    std::vector<std::int64_t> ids;
    std::vector<float> vectors;
    for (int i = 0; i < 50; ++i) {
      ids.push_back(i);
      for (int d = 0; d < 3; ++d) vectors.push_back(static_cast<float>((i * 7 + d * 5) % 13) - 6.0f);
    }
    hnsw.add(ids, vectors);
    index::save_index(hnsw, dir / "hnsw.idx");
    const auto loaded = index::load_index(dir / "hnsw.idx");
    const std::vector<float> query = {1.0f, -2.0f, 0.5f};
    EXPECT_EQ(loaded->search(query, 5), hnsw.search(query, 5));

    hnsw.remove(ids);
    index::save_index(hnsw, dir / "tombstones.idx");
    EXPECT_EQ(index::load_index(dir / "tombstones.idx")->search(query, 5).size(), 0u);
  }
}

// count * row size wrapped around to the file's real size: std::length_error, not an Error.
TEST(EmbeddingsRegression, CountThatWrapsAroundIsRefused) {
  expect_error([] { engine::load_embeddings(data_file("embeddings_count_wraps.bin")); }, ErrorKind::kCorrupt,
               "size does not match");
}

// No rows (memcpy into an empty vector's null data(), undefined behaviour) and an unknown pooling.
TEST(EmbeddingsRegression, EmptyFilesLoadAndUnknownPoolingIsRefused) {
  expect_error([] { engine::load_embeddings(data_file("embeddings_no_rows.bin")); }, ErrorKind::kCorrupt,
               "unknown pooling");
  TempDir dir;
  engine::Embeddings none;
  none.dim = 8;
  engine::save_embeddings(dir / "none.bin", none);
  const engine::Embeddings loaded = engine::load_embeddings(dir / "none.bin");
  EXPECT_EQ(loaded.dim, 8);
  EXPECT_EQ(loaded.size(), 0u);
}

// Ids out of order (a byte changed, the checksum repaired): readers binary-search them, so the file is refused.
TEST(EmbeddingsRegression, IdsOutOfOrderAreRefused) {
  TempDir dir;
  engine::Embeddings e;
  e.dim = 2;
  e.ids = {5, 3};
  e.vectors = {1, 2, 3, 4};
  engine::save_embeddings(dir / "e.bin", e);
  expect_error([&] { engine::load_embeddings(dir / "e.bin"); }, ErrorKind::kCorrupt, "ids not in ascending order");
  e.ids = {3, 3};
  engine::save_embeddings(dir / "e.bin", e);
  expect_error([&] { engine::load_embeddings(dir / "e.bin"); }, ErrorKind::kCorrupt, "ids not in ascending order");
}

// The feature cache had the embeddings' wrap-around: a corrupt cache must be recomputed instead.
TEST(SimpleFeaturesRegression, CountThatWrapsAroundIsRecomputed) {
  TempDir ws;
  (void)engine::load_simple_features(ws.path(), {}, 1);  // writes the cache of an empty item list
  std::filesystem::path cache;
  for (const auto& entry : std::filesystem::directory_iterator(ws / "cache")) cache = entry.path();
  const std::string input = fuzz_input("simple_features_count_wraps.bin");
  // The input carries this version's header and the key of an empty item list, so it reaches the
  // size check rather than being skipped as stale.
  ASSERT_EQ(read_file_bytes(cache).substr(0, 16), input.substr(0, 16)) << "cache format changed";
  ASSERT_EQ(read_file_bytes(cache).substr(32, 8), input.substr(32, 8)) << "cache key changed";
  write_file(cache, input);
  engine::SimpleFeatures f;
  ASSERT_NO_THROW(f = engine::load_simple_features(ws.path(), {}, 1));
  EXPECT_FALSE(f.from_cache);
  EXPECT_EQ(f.size(), 0u);
}

// A cache of no rows (what an empty item list writes) was read with memcpy into a null data():
// undefined behaviour (UBSan). It now loads as the empty cache it is.
TEST(SimpleFeaturesRegression, CacheWithNoRowsLoads) {
  TempDir ws;
  (void)engine::load_simple_features(ws.path(), {}, 1);
  std::filesystem::path cache;
  for (const auto& entry : std::filesystem::directory_iterator(ws / "cache")) cache = entry.path();
  const std::string input = fuzz_input("simple_features_no_rows.bin");
  ASSERT_EQ(read_file_bytes(cache).substr(32, 8), input.substr(32, 8)) << "cache key changed";
  write_file(cache, input);
  engine::SimpleFeatures f;
  ASSERT_NO_THROW(f = engine::load_simple_features(ws.path(), {}, 1));
  EXPECT_TRUE(f.from_cache);
  EXPECT_EQ(f.size(), 0u);
}

/// A valid compat model (4 style numbers) and its description, as train_compat would save them.
void save_compat_model(const std::filesystem::path& model, const std::filesystem::path& json) {
  constexpr int kStyle = 4, kColour = image::kColourDim + image::kHsvDim;
  const auto spec = nn::parse_model_spec(fmt::format("model compat\ninput {} 1\nlinear 2 relu\nlinear 2\nlatent\nl2norm\n",
                                                     kStyle + kColour + 2 * engine::kCompatSlots));
  engine::CompatModel(nn::Model(spec, 1), kStyle, kColour).save(model, json, nlohmann::json::object());
}

// Found by fuzz/compat_fuzzer: the model file's "linear 2147483647" (the model file fix above).
TEST(CompatRegression, ModelFileLargerThanItsBytesIsRefused) {
  const auto files = split_files(fuzz_input("compat_linear_2147483647.input"));
  ASSERT_EQ(files.size(), 2u);
  TempDir dir;
  write_file(dir / "compat.model", read_file_bytes(data_file("model_file_linear_2147483647.model")));
  write_file(dir / "compat.json", files[1]);
  EXPECT_THROW(engine::CompatModel::load(dir / "compat.model", dir / "compat.json"), Error);
}

// A description whose "slots" holds a number made nlohmann::json::value() throw json::type_error,
// which escaped CompatModel::load instead of a mystyle::Error; load() now checks each field's type.
TEST(CompatRegression, DescriptionWithANumberAmongTheSlotsIsRefused) {
  TempDir dir;
  save_compat_model(dir / "compat.model", dir / "valid.json");
  write_file(dir / "compat.json", fuzz_input("compat_slots_numbers.input"));
  expect_error([&] { engine::CompatModel::load(dir / "compat.model", dir / "compat.json"); }, ErrorKind::kCorrupt,
               "compat.json");
}

}  // namespace
}  // namespace mystyle::fuzz_regression
