// Parity with the 2022 prototype: its three top-10 lists (seed_oracle.json) on its own latent
// features must come out exactly, rows and labels.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>

#include "mystyle/core/csv_reader.h"
#include "mystyle/core/paths.h"
#include "mystyle/index/exact_index.h"
#include "support/test_support.h"

namespace mystyle::index {
namespace {

struct LatentFeatures {
  std::size_t dim = 0;
  std::vector<float> values;  // [rows, dim]
  std::vector<std::string> labels;
};

LatentFeatures read_features(const std::filesystem::path& path) {
  CsvReader reader(path);
  std::vector<std::string> fields;
  EXPECT_TRUE(reader.read_row(fields));
  const CsvHeader header(fields, reader.where());
  const std::size_t label_col = header.require("label");
  LatentFeatures f;
  for (std::size_t c = 1; header.find("comp" + std::to_string(c)); ++c) f.dim = c;
  while (reader.read_row(fields)) {
    for (std::size_t c = 1; c <= f.dim; ++c) {
      f.values.push_back(std::strtof(fields.at(header.require("comp" + std::to_string(c))).c_str(), nullptr));
    }
    f.labels.push_back(fields.at(label_col));
  }
  return f;
}

TEST(Parity, TopTenListsMatchTheOriginal) {
  MYSTYLE_REQUIRE_DATASET(oracle_path, "my-style-manager/seed_oracle.json");
  const auto oracle = nlohmann::json::parse(std::ifstream(oracle_path));
  const auto features =
      read_features(oracle_path.parent_path() / oracle.at("features_file").get<std::string>());
  ASSERT_EQ(features.dim, 8u);
  ASSERT_EQ(features.labels.size(), 16'585u);

  // Ids are the data rows, so the oracle's rows can be compared directly.
  std::vector<std::int64_t> rows(features.labels.size());
  for (std::size_t i = 0; i < rows.size(); ++i) rows[i] = static_cast<std::int64_t>(i);
  ExactIndex index(features.dim);
  index.add(rows, features.values);

  ASSERT_EQ(oracle.at("queries").size(), 3u);
  for (const auto& q : oracle.at("queries")) {
    const auto row = q.at("query_row").get<std::size_t>();
    const Metric metric = parse_metric(q.at("metric").get<std::string>());
    ASSERT_EQ(features.labels.at(row), q.at("query_label").get<std::string>());
    const auto result = index.search(std::span(features.values).subspan(row * features.dim, features.dim), 10,
                                     {.metric = metric});
    std::vector<std::int64_t> got_rows;
    std::vector<std::string> got_labels;
    for (const auto& n : result) {
      got_rows.push_back(n.id);
      got_labels.push_back(features.labels.at(static_cast<std::size_t>(n.id)));
    }
    EXPECT_EQ(got_rows, q.at("top10_rows").get<std::vector<std::int64_t>>()) << metric_name(metric);
    EXPECT_EQ(got_labels, q.at("top10_labels").get<std::vector<std::string>>()) << metric_name(metric);
    if (metric == Metric::kEuclidean) {
      EXPECT_TRUE(std::isinf(result.front().score));  // the query itself, d = 0
    }
  }
}

}  // namespace
}  // namespace mystyle::index
