#include "mystyle/eval/retrieval.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <set>

#include "engine/engine_fixture.h"
#include "eval/eval_fixture.h"
#include "mystyle/catalog/import.h"
#include "mystyle/core/error.h"
#include "mystyle/engine/embeddings.h"
#include "mystyle/train/family.h"
#include "mystyle/eval/eval_data.h"
#include "mystyle/engine/simple_features.h"
#include "mystyle/index/exact_index.h"

namespace mystyle::eval {
namespace {

ItemLabels labels_of(std::vector<std::array<int, kLabelCount>> codes) {
  return {std::move(codes)};
}

// Two tight pairs of types A and B: every nearest neighbour has the query's type.
TEST(Retrieval, PerfectClustersScoreOne) {
  const std::vector<std::int64_t> ids = {1, 2, 3, 4};
  const std::vector<float> v = {1, 0, 0.9f, 0.1f, 0, 1, 0.1f, 0.9f};
  const auto labels = labels_of({{0, 0, 0, 0}, {0, 0, 0, 1}, {1, 0, 0, 0}, {1, 0, 0, 1}});
  const RetrievalRow r = evaluate_vectors("t", ids, v, 2, index::Metric::kCosine, labels, 3, 1);
  EXPECT_EQ(r.queries, 4u);
  EXPECT_DOUBLE_EQ(r.precision_at_1[0], 1.0);
  EXPECT_DOUBLE_EQ(r.precision_at_k[0], 1.0 / 3.0);  // one other item of the type among 3 ranks
  EXPECT_DOUBLE_EQ(r.map_type, 1.0);
  EXPECT_DOUBLE_EQ(r.precision_at_1[1], 1.0);        // one family for all
  EXPECT_DOUBLE_EQ(r.precision_at_1[3], 0.0);        // colour alternates within each pair
  EXPECT_DOUBLE_EQ(r.precision_at_k[3], 1.0 / 3.0);  // query 1 ranks 2, 3, 4: only 3 shares its colour
}

// The colour family and the joint type + colour family label (issue 24): black trousers share the joint
// label with black trousers only; an item without a family has neither (never a query, never relevant).
TEST(Retrieval, LabelCodesJoinTypeAndColourFamily) {
  auto item = [](std::string type, std::string group, std::string family) {
    catalog::Item it;
    it.type = std::move(type);
    it.colour = std::move(group);
    it.colour_family = std::move(family);
    return it;
  };
  const std::vector<catalog::Item> items = {item("Trousers", "GREY", "black"), item("Trousers", "GREY", "grey"),
                                            item("Trousers", "GREY", "black"), item("Jeans", "GREY", "black"),
                                            item("Jeans", "BLUE", "")};
  std::vector<const catalog::Item*> ptrs;
  for (const auto& it : items) ptrs.push_back(&it);
  const ItemLabels labels = label_codes(ptrs);
  ASSERT_EQ(labels.codes.size(), 5u);
  constexpr std::size_t kGroup = 3, kFamily = 4, kJoint = 5;
  EXPECT_STREQ(kLabelNames[kFamily], "colour_family");
  EXPECT_STREQ(kLabelNames[kJoint], "type_colour_family");
  const auto& c = labels.codes;
  EXPECT_EQ(c[0][kGroup], c[1][kGroup]);    // MANGO's group calls black and grey alike
  EXPECT_NE(c[0][kFamily], c[1][kFamily]);  // the families do not
  EXPECT_EQ(c[0][kFamily], c[3][kFamily]);
  EXPECT_EQ(c[0][kJoint], c[2][kJoint]);  // black trousers and black trousers
  EXPECT_NE(c[0][kJoint], c[1][kJoint]);  // not grey trousers
  EXPECT_NE(c[0][kJoint], c[3][kJoint]);  // nor black jeans
  EXPECT_EQ(c[4][kFamily], -1);
  EXPECT_EQ(c[4][kJoint], -1);
  EXPECT_GE(c[4][kGroup], 0);
}

// Item 1's nearest neighbour is of the other type: its AP is (1/2), the others' 1.
TEST(Retrieval, MistakesLowerPrecisionAndAveragePrecision) {
  const std::vector<std::int64_t> ids = {1, 2, 3};
  const std::vector<float> v = {0, 0, 1, 0.5f, 0, 1, 0, 0, 1};  // 1 and 3 identical, 2 apart
  const auto labels = labels_of({{0, 0, 0, 0}, {0, 0, 0, 0}, {1, 0, 0, 0}});
  const RetrievalRow r = evaluate_vectors("t", ids, v, 3, index::Metric::kEuclidean, labels, 1, 1);
  // Queries: 1 -> [3, 2] (miss), 2 -> [1 or 3 ...], 3 -> [1, 2] (miss). Item 3 is alone in its type.
  EXPECT_DOUBLE_EQ(r.precision_at_1[0], 1.0 / 3.0);
  EXPECT_EQ(r.map_queries, 2u);
  EXPECT_DOUBLE_EQ(r.map_type, (0.5 + 1.0) / 2.0);
}

// With views, an item scores as the best of its own vector and its views: a view of item 3 equal to
// item 1 makes 3 item 1's nearest neighbour (a hit, same type), where without views 2 was (a miss).
TEST(Retrieval, AnItemScoresAsItsBestView) {
  const std::vector<std::int64_t> ids = {1, 2, 3};
  const std::vector<float> v = {1, 0, 0.8f, 0.6f, 0, 1};
  const auto labels = labels_of({{0, 0, 0, 0}, {1, 0, 0, 0}, {0, 0, 0, 0}});
  const RetrievalRow plain = evaluate_vectors("t", ids, v, 2, index::Metric::kCosine, labels, 1, 1);
  const std::vector<float> views = {1, 0, 0.8f, 0.6f, 1, 0};  // one view per item; item 3's equals item 1
  const RetrievalRow with = evaluate_vectors("t", ids, v, 2, index::Metric::kCosine, labels, 1, 1, views, 1);
  // Queries: 1 -> 2 (miss) / 3 (hit); 2 -> 1 either way (miss); 3 -> 2 (miss) either way.
  EXPECT_DOUBLE_EQ(plain.precision_at_1[0], 0.0);
  EXPECT_DOUBLE_EQ(with.precision_at_1[0], 1.0 / 3.0);
  // Views equal to the items' own vectors change nothing.
  const RetrievalRow same = evaluate_vectors("t", ids, v, 2, index::Metric::kCosine, labels, 1, 1, v, 1);
  EXPECT_DOUBLE_EQ(same.precision_at_1[0], plain.precision_at_1[0]);
  EXPECT_DOUBLE_EQ(same.map_type, plain.map_type);
  EXPECT_THROW(evaluate_vectors("t", ids, v, 2, index::Metric::kCosine, labels, 1, 1, views, 2), Error);
}

// The trusted reference: precision@1 and @5 from ExactIndex searches, for every metric.
TEST(Retrieval, AgreesWithTheExactIndex) {
  std::mt19937_64 rng(5);
  std::uniform_real_distribution<float> u(-1, 1);
  const std::size_t n = 300, dim = 12, k = 5;
  std::vector<std::int64_t> ids;
  std::vector<float> v;
  std::vector<std::array<int, kLabelCount>> codes;
  for (std::size_t i = 0; i < n; ++i) {
    ids.push_back(static_cast<std::int64_t>(i) + 100);
    const int type = static_cast<int>(rng() % 5);
    for (std::size_t t = 0; t < dim; ++t)
      v.push_back(u(rng) + (t == static_cast<std::size_t>(type) ? 1.5f : 0.0f));
    codes.push_back({type, type / 2, 0, static_cast<int>(rng() % 3)});
  }
  for (auto metric : {index::Metric::kCosine, index::Metric::kEuclidean, index::Metric::kPearson}) {
    index::ExactIndex idx(dim, metric);
    idx.add(ids, v);
    double p1 = 0, pk = 0;
    for (std::size_t q = 0; q < n; ++q) {
      const auto found = idx.search(std::span(v).subspan(q * dim, dim), k + 1);
      std::size_t rank = 0;
      for (const auto& nb : found) {
        if (nb.id == ids[q]) continue;
        const bool hit = codes[static_cast<std::size_t>(nb.id - 100)][0] == codes[q][0];
        if (rank == 0) p1 += hit;
        if (rank < k) pk += hit;
        ++rank;
      }
    }
    const RetrievalRow r = evaluate_vectors("t", ids, v, dim, metric, labels_of(codes), k, 2);
    EXPECT_NEAR(r.precision_at_1[0], p1 / n, 1e-12) << index::metric_name(metric);
    EXPECT_NEAR(r.precision_at_k[0], pk / (n * k), 1e-12) << index::metric_name(metric);
  }
}

TEST(Retrieval, RandomBaselineIsNearChance) {
  std::vector<std::int64_t> ids;
  std::vector<std::array<int, kLabelCount>> codes;
  for (int i = 0; i < 400; ++i) {
    ids.push_back(i + 1);
    codes.push_back({i % 4, i % 2, 0, -1});
  }
  const RetrievalRow r = evaluate_random(ids, labels_of(codes), 10, 1);
  EXPECT_NEAR(r.precision_at_k[0], 99.0 / 399.0, 0.02);
  EXPECT_NEAR(r.precision_at_k[1], 199.0 / 399.0, 0.02);
  EXPECT_DOUBLE_EQ(r.precision_at_k[2], 1.0);
  EXPECT_DOUBLE_EQ(r.precision_at_k[3], 0.0);  // no colour labels: no queries
}

// A real catalog of 150 designs "P<d>", each in one to three colours ("P<d>-0<c>"); a design's
// colours share its type (one of 6) and category (one of 3), the colour group is the colour.
class DesignCatalog {
 public:
  DesignCatalog() {
    std::string csv = "id,name,category,url,type,colour\n";
    for (int d = 0; d < 150; ++d) {
      for (int c = 1; c <= 1 + d % 3; ++c)
        csv += fmt::format("P{}-0{},Item,Cat{},u,T{},C{}\n", d, c, d % 3, d % 6, c);
    }
    catalog::import_csv(cat_, testing::write_file(dir_ / "items.csv", csv), std::nullopt, "t");
    items_ = cat_.all_items();
  }
  const std::vector<catalog::Item>& items() const { return items_; }

 private:
  testing::TempDir dir_;
  catalog::Catalog cat_{dir_ / "ws"};
  std::vector<catalog::Item> items_;
};

std::vector<std::int64_t> ids_of(std::span<const catalog::Item* const> items) {
  std::vector<std::int64_t> ids;
  for (const auto* item : items) ids.push_back(item->id);
  return ids;
}

// The held-out protocol takes every colour of the held-out designs and nothing else.
TEST(RetrievalProtocol, HeldOutTakesWholeHeldOutDesignsOnly) {
  const DesignCatalog c;
  const auto held_out = protocol_items(c.items(), RetrievalProtocol::kHeldOut, catalog::kDefaultSplitSeed);
  std::map<std::string, std::pair<int, int>> in_out;  // design -> (held-out colours, others)
  const std::set<const catalog::Item*> chosen(held_out.begin(), held_out.end());
  for (const auto& item : c.items()) {
    const std::string design = item.source_id.substr(0, item.source_id.find('-'));
    (chosen.contains(&item) ? in_out[design].first : in_out[design].second) += 1;
    EXPECT_EQ(chosen.contains(&item), catalog::is_held_out_design(item, catalog::kDefaultSplitSeed));
  }
  std::size_t held_out_designs = 0;
  for (const auto& [design, counts] : in_out) {
    EXPECT_TRUE(counts.first == 0 || counts.second == 0) << design << " is split across the sides";
    held_out_designs += counts.first > 0;
  }
  EXPECT_EQ(count_designs(held_out), held_out_designs);
  EXPECT_GT(held_out_designs, 150u / 10);  // about 20% of 150
  EXPECT_LT(held_out_designs, 150u * 3 / 10);
  EXPECT_EQ(protocol_items(c.items(), RetrievalProtocol::kAll, 1).size(), c.items().size());
  EXPECT_NE(protocol_items(c.items(), RetrievalProtocol::kHeldOut, 2), held_out);
  EXPECT_EQ(parse_retrieval_protocol(protocol_name(RetrievalProtocol::kHeldOut)),
            RetrievalProtocol::kHeldOut);
  EXPECT_THROW(parse_retrieval_protocol("train"), Error);
}

// Every held-out item sits near its type's direction; every other item is a decoy: a copy of a
// held-out item, of another type (each held-out item has some). Ranked among held-out items only,
// each query's nearest neighbours are of its type; a decoy in the gallery would be the nearest and
// a miss. The numbers must agree with a brute-force ranking over the held-out gallery.
TEST(RetrievalProtocol, HeldOutNumbersAgreeWithBruteForceOverHeldOutGallery) {
  const DesignCatalog c;
  const auto held_out = protocol_items(c.items(), RetrievalProtocol::kHeldOut, catalog::kDefaultSplitSeed);
  const auto all = protocol_items(c.items(), RetrievalProtocol::kAll, catalog::kDefaultSplitSeed);
  const std::size_t dim = 8;
  std::mt19937_64 rng(3);
  std::normal_distribution<float> noise(0, 0.3f);
  std::map<std::int64_t, std::vector<float>> vector_of;
  for (const auto* item : held_out) {
    std::vector<float> v(dim);
    for (float& x : v) x = noise(rng);
    v[static_cast<std::size_t>(item->type[1] - '0')] += 2.0f;
    vector_of[item->id] = v;
  }
  std::size_t next = 0;  // decoys copy the held-out items in turn
  for (const auto* item : all) {
    if (vector_of.contains(item->id)) continue;
    while (held_out[next % held_out.size()]->type == item->type) ++next;
    vector_of[item->id] = vector_of[held_out[next++ % held_out.size()]->id];
  }
  auto rows_of = [&](std::span<const catalog::Item* const> items) {
    std::vector<float> rows;
    for (const auto* item : items)
      rows.insert(rows.end(), vector_of[item->id].begin(), vector_of[item->id].end());
    return rows;
  };
  const std::size_t k = 3;
  const auto ids = ids_of(held_out);
  const RetrievalRow held =
      evaluate_vectors("t", ids, rows_of(held_out), dim, index::Metric::kCosine, label_codes(held_out), k, 2);
  const RetrievalRow every =
      evaluate_vectors("t", ids_of(all), rows_of(all), dim, index::Metric::kCosine, label_codes(all), k, 2);

  // Brute force: cosine in double against every other held-out item, best first.
  const ItemLabels codes = label_codes(held_out);
  double p1 = 0, pk = 0, colour_p1 = 0;
  for (std::size_t q = 0; q < held_out.size(); ++q) {
    std::vector<std::pair<double, std::size_t>> ranked;  // -cosine, gallery row
    const auto& a = vector_of[held_out[q]->id];
    for (std::size_t g = 0; g < held_out.size(); ++g) {
      if (g == q) continue;
      const auto& b = vector_of[held_out[g]->id];
      double dot = 0, na = 0, nb = 0;
      for (std::size_t t = 0; t < dim; ++t)
        dot += double(a[t]) * b[t], na += double(a[t]) * a[t], nb += double(b[t]) * b[t];
      ranked.emplace_back(-dot / std::sqrt(na * nb), g);
    }
    std::ranges::sort(ranked);
    const auto same = [&](std::size_t rank, std::size_t label) {
      return codes.codes.at(ranked.at(rank).second)[label] == codes.codes[q][label];
    };
    p1 += same(0, 0);
    colour_p1 += same(0, 3);
    for (std::size_t r = 0; r < k; ++r) pk += same(r, 0);
  }
  const double n = static_cast<double>(held_out.size());
  EXPECT_EQ(held.queries, held_out.size());
  EXPECT_NEAR(held.precision_at_1[0], p1 / n, 1e-12);
  EXPECT_NEAR(held.precision_at_k[0], pk / (n * k), 1e-12);
  EXPECT_NEAR(held.precision_at_1[3], colour_p1 / n, 1e-12);
  EXPECT_GT(held.precision_at_1[0], 0.9);   // the types separate among held-out items
  EXPECT_LT(every.precision_at_1[0], 0.5);  // decoys in the gallery would take rank 1
}

// The best baseline takes, per column, the best baseline row of the metric (or the metric-free
// random row); model rows never count.
TEST(Retrieval, BestBaselineIsPerColumnOverBaselinesOfTheMetric) {
  auto row = [](std::string method, std::string metric, bool baseline, double type_p1, double colour_pk) {
    RetrievalRow r;
    r.method = std::move(method);
    r.metric = std::move(metric);
    r.baseline = baseline;
    r.precision_at_1[0] = type_p1;
    r.precision_at_k[3] = colour_pk;
    r.map_type = type_p1 / 2;
    return r;
  };
  const std::vector<RetrievalRow> rows = {
      row("random", "-", true, 0.05, 0.2), row("grey", "cosine", true, 0.6, 0.4),
      row("hsv", "cosine", true, 0.1, 0.7), row("grey", "pearson", true, 0.9, 0.9),
      row("ours", "cosine", false, 0.95, 0.99)};
  const BestBaseline best = best_baseline(rows, "cosine");
  EXPECT_DOUBLE_EQ(best.values[0], 0.6);
  EXPECT_EQ(best.methods[0], "grey");
  EXPECT_DOUBLE_EQ(best.values[kLabelCount + 3], 0.7);
  EXPECT_EQ(best.methods[kLabelCount + 3], "hsv");
  EXPECT_DOUBLE_EQ(best.values[1], 0.0);  // every row ties at 0: the first (random) is named
  EXPECT_EQ(best.methods[1], "random");
  EXPECT_DOUBLE_EQ(best.values[2 * kLabelCount], 0.3);

  // The table marks the model's cells above the best baseline, the JSON says the same per column.
  RetrievalReport report;
  report.rows = rows;
  const std::string table = format_table(report);
  const std::size_t start = table.find("\nours") + 1;
  const std::string ours_line = table.substr(start, table.find('\n', start) - start);
  EXPECT_NE(ours_line.find("0.950*"), std::string::npos) << table;
  EXPECT_NE(ours_line.find("0.990*"), std::string::npos) << table;
  EXPECT_EQ(ours_line.find("0.000*"), std::string::npos) << table;  // ties with the baselines: no mark
  EXPECT_EQ(table.find("0.600*"), std::string::npos) << table;      // baselines are never marked
  const nlohmann::json doc = to_json(report);
  EXPECT_EQ(doc["rows"][4]["beats_best_baseline"]["precision_at_1"]["type"], true);
  EXPECT_EQ(doc["rows"][4]["beats_best_baseline"]["precision_at_1"]["family"], false);
  EXPECT_EQ(doc["best_baseline"][0]["methods"]["precision_at_k"]["colour"], "hsv");
}

// End to end on real photos and a real model: the held-out run's queries are exactly the sample's
// items of held-out designs, every row is over them, and the similarity files are written.
TEST(RetrievalProtocol, RunOnRealPhotosUsesHeldOutItemsAndWritesSimilarityFiles) {
  testing::TempDir dir;
  if (!testing::import_mango_sample(dir.path(), 150)) GTEST_SKIP() << "MANGO data set absent";
  const engine::Workspace ws(dir.path());
  testing::train_one_epoch_and_embed(dir.path());
  engine::embed_catalog(ws, "seed64", nn::LatentPooling::kMean, 2);
  const auto items = catalog::Catalog(dir.path()).all_items();
  std::set<std::string> designs;
  std::size_t held_out = 0;
  for (const auto& item : items) {
    if (!catalog::is_held_out_design(item, 1)) continue;
    ++held_out;
    designs.insert(item.source_id.substr(0, item.source_id.find('-')));
  }
  ASSERT_GE(held_out, 2u);
  RetrievalOptions o;
  o.model = "seed64";
  o.threads = 2;
  const RetrievalReport r = run_retrieval(ws, o);
  EXPECT_EQ(r.items, held_out);
  EXPECT_EQ(r.designs, designs.size());
  // random, 3 baselines, channel means, flat (no views file), flat asked in the query's own colour family
  ASSERT_EQ(r.rows.size(), 7u);
  // The family-filtered ranking only lists items of the query's family: its colour-family precision is
  // the share of queries whose family has another item at rank 1 (here: all but lone families).
  const auto& asked = r.rows.back();
  EXPECT_NE(asked.method.find("--colour"), std::string::npos) << asked.method;
  EXPECT_GE(asked.precision_at_1[4], r.rows[5].precision_at_1[4]);
  EXPECT_GE(asked.precision_at_k[4], r.rows[5].precision_at_k[4]);
  for (const auto& row : r.rows) EXPECT_EQ(row.queries, held_out) << row.method;
  EXPECT_EQ(r.similarity.features.size(), 5u);
  EXPECT_EQ(r.similarity.random_pairs, held_out * (held_out - 1) / 2);
  const nlohmann::json doc = to_json(r);
  EXPECT_EQ(doc["protocol"], "heldout");
  EXPECT_EQ(doc["best_baseline"].size(), 1u);
  EXPECT_NE(format_table(r).find("best baseline"), std::string::npos);

  o.protocol = RetrievalProtocol::kAll;
  EXPECT_EQ(run_retrieval(ws, o).items, items.size());

  const auto files = save_similarity_files(ws, r);
  ASSERT_EQ(files.size(), 2u);
  EXPECT_TRUE(std::filesystem::exists(files[1]));
  const SimilarityScale scale = load_similarity_scale(files[0]);
  EXPECT_EQ(scale.model, "seed64");
}

// Real photos: features of every item, then the same values back from the workspace cache.
TEST(SimpleFeatures, ComputedFromRealPhotosAndCached) {
  MYSTYLE_REQUIRE_DATASET(mango, "mango/product_data.csv");
  testing::TempDir dir;
  ASSERT_TRUE(testing::import_mango_sample(dir.path(), 12));
  catalog::Catalog cat(dir.path());
  const auto items = cat.all_items();
  const engine::SimpleFeatures first = engine::load_simple_features(dir.path(), items, 2);
  EXPECT_FALSE(first.from_cache);
  ASSERT_EQ(first.size(), 12u);
  const engine::SimpleFeatures second = engine::load_simple_features(dir.path(), items, 2);
  EXPECT_TRUE(second.from_cache);
  EXPECT_EQ(second.ids, first.ids);
  EXPECT_EQ(second.hsv, first.hsv);
  EXPECT_EQ(second.colour, first.colour);
  for (std::size_t i = 0; i < first.size(); ++i) {
    float sum = 0;
    for (int b = 0; b < image::kHsvDim; ++b) sum += first.hsv[i * image::kHsvDim + static_cast<std::size_t>(b)];
    EXPECT_NEAR(sum, 1.0f, 1e-4);
  }
}

}  // namespace
}  // namespace mystyle::eval
