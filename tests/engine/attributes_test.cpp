// The colour model (issue 24, engine/attributes.h): the colour histogram of a drawn photo, the
// reordering against an order computed here from the formula, the model file's round trip and its
// errors, and the whole family on real MANGO photos: trained on the training designs, loaded by the
// recommender, which keeps the cosine ranking's first few and reorders only its candidates.
#include "mystyle/engine/attributes.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>
#include <numeric>
#include <opencv2/imgproc.hpp>
#include <random>
#include <set>

#include "engine_fixture.h"
#include "mystyle/catalog/design_split.h"
#include "mystyle/core/error.h"
#include "mystyle/core/file_io.h"
#include "mystyle/engine/embeddings.h"
#include "mystyle/engine/recommender.h"
#include "mystyle/image/colour_naming.h"
#include "mystyle/train/colour_job.h"
#include "mystyle/train/family.h"

namespace mystyle::engine {
namespace {

// A studio-grey backdrop with a red square in the middle.
cv::Mat red_on_grey() {
  cv::Mat rgb(96, 96, CV_8UC3, cv::Scalar(236, 236, 236));
  rgb(cv::Rect(28, 28, 40, 40)).setTo(cv::Scalar(200, 20, 20));
  return rgb;
}

TEST(ColourNaming, HistogramOfTheObjectOnly) {
  const std::vector<float> f = image::colour_naming_features(red_on_grey());
  ASSERT_EQ(f.size(), static_cast<std::size_t>(image::kColourNamingDim));
  // Square-rooted shares of a histogram that sums to 1: their squares sum to 1.
  double sq = 0;
  for (int i = 0; i + 1 < image::kColourNamingDim; ++i) sq += double(f[i]) * f[i];
  EXPECT_NEAR(sq, 1.0, 1e-4);
  // All the mass in the bins around the red's Lab colour, none at the grey backdrop's.
  cv::Mat one(1, 1, CV_8UC3, cv::Scalar(200, 20, 20)), lab;
  cv::cvtColor(one, lab, cv::COLOR_RGB2Lab);
  const auto v = lab.at<cv::Vec3b>(0, 0);
  const auto bin = [](double x, double lo, double hi) {
    return std::clamp(static_cast<int>((x - lo) / (hi - lo) * 8), 0, 7);
  };
  const int b = image::kColourNamingBins;
  const int red = (bin(v[0], 0, 256) * b + bin(v[1], 64, 192)) * b + bin(v[2], 64, 192);
  EXPECT_GT(f[static_cast<std::size_t>(red)], 0.3f);
  // The object's share of the frame (centre-weighted): between the square's plain share and 1.
  EXPECT_GT(f.back(), 40.0f * 40 / (96 * 96));
  EXPECT_LT(f.back(), 1.0f);
  // A blank photo: nothing stands out, all zero.
  const std::vector<float> blank = image::colour_naming_features(cv::Mat(64, 64, CV_8UC3, cv::Scalar(236, 236, 236)));
  EXPECT_TRUE(std::ranges::all_of(blank, [](float x) { return x == 0.0f; }));
  EXPECT_THROW(image::colour_naming_features(cv::Mat()), Error);
}

TEST(ColourRanking, OrderIsCosinePlusTheBonusWithTheKeptOnesFirst) {
  std::mt19937 rng(3);
  std::uniform_real_distribution<double> u(0, 1);
  PhotoAttributes photo;
  photo.colour = {0.6f, 0.3f, 0.1f};
  photo.type = {0.2f, 0.8f};
  const std::size_t n = 40;
  std::vector<double> scores(n);
  std::vector<int> fam(n), type(n);
  for (std::size_t i = 0; i < n; ++i) {
    scores[i] = 0.9 - 0.01 * static_cast<double>(i);  // the cosine order, best first
    fam[i] = static_cast<int>(rng() % 4) - 1;         // -1: unknown
    type[i] = static_cast<int>(rng() % 3) - 1;
  }
  const RankWeights w{0.5, 0.25, 1.0, /*keep_above=*/0.885, /*keep_first=*/1};
  const std::vector<std::size_t> order = rerank(photo, scores, fam, type, w);
  // The reference: candidates 0 (first) and 1 (0.89 >= 0.885) stay, then by the formula.
  std::vector<std::pair<double, std::size_t>> rest;
  for (std::size_t i = 2; i < n; ++i) {
    const double pf = fam[i] >= 0 ? photo.colour[static_cast<std::size_t>(fam[i])] : 0.0;
    const double pt = type[i] >= 0 ? photo.type[static_cast<std::size_t>(type[i])] : 0.0;
    rest.emplace_back(-(scores[i] + 0.5 * pf + 0.25 * pt + 1.0 * pf * pt), i);
  }
  std::ranges::sort(rest);
  std::vector<std::size_t> expected = {0, 1};
  for (const auto& [s, i] : rest) expected.push_back(i);
  EXPECT_EQ(order, expected);
  // No weights: the cosine order itself.
  std::vector<std::size_t> identity(n);
  std::iota(identity.begin(), identity.end(), std::size_t{0});
  EXPECT_EQ(rerank(photo, scores, fam, type, RankWeights{}), identity);
}

TEST(ColourRanking, APhotoBelowTheGateKeepsTheCosineOrder) {
  PhotoAttributes photo;
  photo.colour = {0.6f, 0.3f, 0.1f};
  photo.type = {0.2f, 0.8f};
  photo.colour_confidence = 0.6;
  photo.type_confidence = 0.8;
  const std::size_t n = 30;
  std::vector<double> scores(n);
  std::vector<int> fam(n), type(n);
  for (std::size_t i = 0; i < n; ++i) {
    scores[i] = 0.8 - 0.001 * static_cast<double>(i);  // close cosines: the bonus reorders them
    fam[i] = static_cast<int>((n - i) % 3);
    type[i] = static_cast<int>(i % 2);
  }
  std::vector<std::size_t> identity(n);
  std::iota(identity.begin(), identity.end(), std::size_t{0});
  RankWeights w{1.0, 1.0, 4.0, /*keep_above=*/2.0, /*keep_first=*/0};
  const std::vector<std::size_t> reordered = rerank(photo, scores, fam, type, w);
  ASSERT_NE(reordered, identity);
  // Each reading, its threshold just above and at the photo's confidence.
  const auto gated = [&](GateOn on, double min, std::size_t first = SIZE_MAX) {
    RankWeights g = w;
    g.gate_on = on;
    g.min_confidence = min;
    EXPECT_EQ(reorders(photo, g), rerank(photo, scores, fam, type, g) != identity) << gate_on_name(on);
    return rerank(photo, scores, fam, type, g, first);
  };
  EXPECT_EQ(gated(GateOn::kFamily, 0.61), identity);
  EXPECT_EQ(gated(GateOn::kFamily, 0.6), reordered);
  EXPECT_EQ(gated(GateOn::kType, 0.81), identity);
  EXPECT_EQ(gated(GateOn::kType, 0.8), reordered);
  EXPECT_EQ(gated(GateOn::kProduct, 0.49), identity);
  EXPECT_EQ(gated(GateOn::kProduct, 0.47), reordered);
  EXPECT_EQ(gated(GateOn::kFamily, 0.0), reordered);  // 0: the gate off
  EXPECT_NEAR(gate_confidence(photo, GateOn::kProduct), 0.48, 1e-12);
  // Only the first ten asked for: the cosine's first ten, as they are.
  EXPECT_EQ(gated(GateOn::kFamily, 0.9, 10),
            std::vector<std::size_t>(identity.begin(), identity.begin() + 10));
  // rerank_lists applies the gate per photo: a confident photo reordered, a doubtful one not.
  std::vector<std::vector<std::pair<std::size_t, double>>> lists(2);
  for (std::size_t i = 0; i < n; ++i) {
    lists[0].emplace_back(i, scores[i]);
    lists[1].emplace_back(i, scores[i]);
  }
  PhotoAttributes doubtful = photo;
  doubtful.colour_confidence = 0.4;
  const std::vector<PhotoAttributes> photos = {photo, doubtful};
  w.min_confidence = 0.5;
  const auto out = rerank_lists(lists, photos, fam, type, w, n);
  EXPECT_EQ(out[0], reordered);
  EXPECT_EQ(out[1], identity);
}

TEST(ColourRanking, LeaveOneOutCandidatesAreTheNearestOthers) {
  // Unit vectors on a circle: row i's nearest others are its neighbours on the circle.
  const std::size_t n = 12;
  std::vector<float> rows;
  for (std::size_t i = 0; i < n; ++i) {
    const double a = 2 * M_PI * static_cast<double>(i) / n;
    rows.push_back(static_cast<float>(std::cos(a)));
    rows.push_back(static_cast<float>(std::sin(a)));
  }
  const auto lists = leave_one_out_candidates(rows, 2, 3);
  ASSERT_EQ(lists.size(), n);
  for (std::size_t i = 0; i < n; ++i) {
    ASSERT_EQ(lists[i].size(), 3u);
    const std::set<std::size_t> first_two = {lists[i][0].first, lists[i][1].first};
    EXPECT_EQ(first_two, (std::set<std::size_t>{(i + 1) % n, (i + n - 1) % n}));
    EXPECT_NEAR(lists[i][0].second, std::cos(2 * M_PI / n), 1e-5);
    EXPECT_NE(lists[i][2].first, i);
  }
}

AttributeModel small_model() {
  AttributeModel m;
  m.families = {"black", "blue"};
  m.types = {"Jeans", "Skirt", "Top"};
  m.code_dim = 2;
  m.source_hash = 0xabcdef0123456789ull;
  m.weights = {1, 2, 3, 0.97, 3, /*min_confidence=*/0.55, GateOn::kProduct};
  const auto probe = [](std::size_t dim, std::size_t classes) {
    nn::SoftmaxProbe p;
    p.dim = dim;
    p.classes = classes;
    p.mean.assign(dim, 0.1f);
    p.scale.assign(dim, 2.0f);
    for (std::size_t i = 0; i < dim * classes; ++i) p.weights.push_back(std::sin(static_cast<float>(i)));
    for (std::size_t i = 0; i < classes; ++i) p.bias.push_back(0.1f * static_cast<float>(i));
    return p;
  };
  m.colour = probe(image::kColourNamingDim + 2, 2);
  m.type = probe(2, 3);
  m.index_names();
  return m;
}

TEST(ColourModelFile, RoundTripsAndNamesWhatIsWrong) {
  testing::TempDir dir;
  const AttributeModel m = small_model();
  const auto path = dir.path() / "colour.json";
  m.save(path);
  const AttributeModel back = AttributeModel::load(path);
  EXPECT_EQ(back.families, m.families);
  EXPECT_EQ(back.types, m.types);
  EXPECT_EQ(back.weights, m.weights);
  EXPECT_EQ(back.source_hash, m.source_hash);
  EXPECT_EQ(back.family_code("blue"), 1);
  EXPECT_EQ(back.type_code("Top"), 2);
  EXPECT_EQ(back.type_code("Coat"), -1);
  const std::vector<float> code = {0.6f, 0.8f};
  const PhotoAttributes a = m.predict(red_on_grey(), code), b = back.predict(red_on_grey(), code);
  ASSERT_EQ(a.colour.size(), 2u);
  for (std::size_t i = 0; i < 2; ++i) EXPECT_FLOAT_EQ(a.colour[i], b.colour[i]);
  for (std::size_t i = 0; i < 3; ++i) EXPECT_FLOAT_EQ(a.type[i], b.type[i]);
  EXPECT_NEAR(a.type[0] + a.type[1] + a.type[2], 1.0, 1e-5);
  EXPECT_THROW(m.predict(red_on_grey(), std::vector<float>{1, 0, 0}), Error);

  // A field missing, and read-outs that do not fit the names: errors naming the file and the field.
  auto doc = nlohmann::json::parse(read_file_bytes(path));
  doc.erase("types");
  write_file_atomic(path, doc.dump());
  try {
    AttributeModel::load(path);
    ADD_FAILURE() << "a model without types loaded";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("types"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(path.string()), std::string::npos) << e.what();
  }
  m.save(path);
  doc = nlohmann::json::parse(read_file_bytes(path));
  doc["families"] = {"black"};
  write_file_atomic(path, doc.dump());
  EXPECT_THROW(AttributeModel::load(path), Error);
  write_file_atomic(path, "{not json");
  EXPECT_THROW(AttributeModel::load(path), Error);
}

TEST(ColourModelFile, AFileWithoutTheGateLoadsWithTheGateOff) {
  testing::TempDir dir;
  const AttributeModel m = small_model();
  ASSERT_GT(m.weights.min_confidence, 0);
  const auto path = dir.path() / "colour.json";
  m.save(path);
  auto doc = nlohmann::json::parse(read_file_bytes(path));
  EXPECT_EQ(doc["weights"]["gate_on"], "product");
  EXPECT_EQ(doc["weights"]["min_confidence"], 0.55);
  // As written before the gate: neither field.
  doc["weights"].erase("gate_on");
  doc["weights"].erase("min_confidence");
  write_file_atomic(path, doc.dump());
  const AttributeModel old = AttributeModel::load(path);
  EXPECT_EQ(old.weights.min_confidence, 0);
  RankWeights expected = m.weights;
  expected.min_confidence = 0;
  expected.gate_on = GateOn::kFamily;
  EXPECT_EQ(old.weights, expected);
  PhotoAttributes doubtful;
  doubtful.colour = {0.5f, 0.5f};
  doubtful.type = {0.34f, 0.33f, 0.33f};
  doubtful.colour_confidence = 0.5;
  doubtful.type_confidence = 0.34;
  EXPECT_TRUE(reorders(doubtful, old.weights));
  EXPECT_FALSE(reorders(doubtful, m.weights));
  // A reading it does not know: an error naming the file and the field.
  doc["weights"]["gate_on"] = "hue";
  write_file_atomic(path, doc.dump());
  try {
    AttributeModel::load(path);
    ADD_FAILURE() << "a gate on 'hue' loaded";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("gate_on"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(path.string()), std::string::npos) << e.what();
  }
}

// The family on real photos: 200 MANGO products, style trained 2 epochs and embedded.
TEST(ColourModelFamily, TrainsOnTrainingDesignsAndOrdersTheServedRanking) {
  testing::TempDir ws;
  if (!testing::import_mango_sample(ws.path(), 200)) GTEST_SKIP() << "MANGO data set absent";
  const Workspace w(ws.path());
  train::TrainOptions style;
  style.model = "style";
  style.epochs = 2;
  style.batch_size = 16;
  style.threads = 2;
  style.seed = 7;
  style.patience = 100;
  train::train_on_catalog(w, style);
  embed_catalog(w, "style", nn::LatentPooling::kFlat, 2);
  train::TrainOptions colour;
  colour.model = kColourModel;
  train::train(w, colour, 0);

  const auto report = nlohmann::json::parse(read_file_bytes(w.report_dir(kColourModel) / "train.json"));
  // Fitted on training designs, weights on validation designs: held-out items are in neither.
  std::size_t held = 0, with_photo = 0;
  for (const auto& item : catalog::Catalog(w.root()).all_items()) {
    if (!item.image_path || item.colour_family.empty()) continue;
    ++with_photo;
    held += catalog::is_held_out_design(item, catalog::kDefaultSplitSeed);
  }
  EXPECT_GT(held, 0u);
  EXPECT_LE(report["train_items"].get<std::size_t>() + report["validation_items"].get<std::size_t>(),
            with_photo - held);
  // Pools x keep-first counts x weight combinations, each row at its best admissible gate; the gates:
  // off, and each reading with each threshold.
  const std::size_t weights = train::kRankWeightGrid.size();
  EXPECT_EQ(report["grid"].size(),
            train::kCandidatesGrid.size() * train::kKeepFirstGrid.size() * weights * weights * weights);
  EXPECT_EQ(report["gates"].size(), 1 + train::kGateOnGrid.size() * train::kMinConfidenceGrid.size());
  // The setting kept loses at most 0.01 of a validation product's own photo found in the first ten
  // under the user-photo edits, and none under `eval robustness`'s combined edit.
  const auto& own = report["own_edited_photo_recall10"];
  const auto& combined = report["own_combined_edit_recall10"];
  EXPECT_GE(own["chosen"].get<double>(), own["cosine"].get<double>() - 0.01 - 1e-12);
  EXPECT_GE(combined["chosen"].get<double>(),
            combined["cosine"].get<double>() - combined["max_loss"].get<double>() - 1e-12);
  EXPECT_EQ(combined["max_loss"].get<double>(), 0.0);
  // The pool is one of those tried, and the setting kept is the grid's best admissible one of that
  // pool; no admissible setting of any pool is better by more than the pool tolerance (0.005).
  const std::size_t pool = report["candidates"].get<std::size_t>();
  EXPECT_TRUE(std::ranges::find(train::kCandidatesGrid, pool) != train::kCandidatesGrid.end()) << pool;
  const auto mean = [](const nlohmann::json& row) {
    return (row["type_p10"].get<double>() + row["colour_family_p10"].get<double>() +
            row["both_p10"].get<double>()) /
           3;
  };
  const auto admissible = [&](const nlohmann::json& row) {
    return row["own_edited_photo_recall10"].get<double>() >= own["cosine"].get<double>() - 0.01 - 1e-12 &&
           row["own_combined_edit_recall10"].get<double>() >=
               combined["cosine"].get<double>() - combined["max_loss"].get<double>() - 1e-12;
  };
  const auto& chosen_weights = report["weights"];
  const nlohmann::json* chosen = nullptr;
  for (const auto& row : report["grid"]) {
    EXPECT_TRUE(std::ranges::find(train::kCandidatesGrid, row["candidates"].get<std::size_t>()) !=
                train::kCandidatesGrid.end());
    if (row["candidates"] == pool && row["colour"] == chosen_weights["colour"] &&
        row["type"] == chosen_weights["type"] && row["joint"] == chosen_weights["joint"] &&
        row["keep_first"] == chosen_weights["keep_first"] && row["gate_on"] == chosen_weights["gate_on"] &&
        row["min_confidence"] == chosen_weights["min_confidence"] && chosen == nullptr) {
      chosen = &row;
    }
  }
  ASSERT_NE(chosen, nullptr);
  EXPECT_TRUE(admissible(*chosen));
  // The chosen row's figures are those the job measured again through rerank() (the gate inside).
  EXPECT_NEAR((*chosen)["own_combined_edit_recall10"].get<double>(), combined["chosen"].get<double>(), 1e-9);
  EXPECT_NEAR((*chosen)["own_edited_photo_recall10"].get<double>(), own["chosen"].get<double>(), 1e-9);
  // The gate is one of those tried, or off.
  const double min_confidence = chosen_weights["min_confidence"].get<double>();
  EXPECT_TRUE(min_confidence == 0 || std::ranges::find(train::kMinConfidenceGrid, min_confidence) !=
                                         train::kMinConfidenceGrid.end());
  for (const auto& row : report["grid"]) {
    if (!admissible(row)) continue;
    if (row["candidates"] == pool) {
      EXPECT_LE(mean(row), mean(*chosen) + 1e-12);
    }
    EXPECT_LE(mean(row), mean(*chosen) + 0.005 + 1e-12);
  }

  const EmbeddingModel style_model = load_embedding_model(w, "style");
  const auto model = load_current_attribute_model(w, style_model.source_hash);
  ASSERT_TRUE(model.has_value());
  const std::size_t kept = model->weights.keep_first;
  EXPECT_EQ(model->candidates, pool);
  std::string why;
  EXPECT_FALSE(load_current_attribute_model(w, style_model.source_hash ^ 1, &why).has_value());
  EXPECT_NE(why.find("mystyle train --model colour"), std::string::npos) << why;

  RecommenderConfig plain_config;
  plain_config.use_colour_model = false;
  auto served = Recommender::open(w, RecommenderConfig{});
  auto plain = Recommender::open(w, plain_config);
  ASSERT_NE(served->attribute_model(), nullptr);
  EXPECT_EQ(plain->attribute_model(), nullptr);
  const auto items = catalog::Catalog(w.root()).all_items();
  RecommendRequest request;
  request.k = 10;
  RecommendRequest wide = request;
  wide.k = std::min<std::size_t>(model->candidates, RecommendRequest::kMaxK);
  int checked = 0;
  std::vector<std::filesystem::path> photos;
  for (const auto& item : items) {
    if (!item.image_path || checked == 5) continue;
    ++checked;
    const std::filesystem::path photo = *item.image_path;
    photos.push_back(photo);
    const RecommendResult a = served->recommend_file(photo, request);
    const RecommendResult cosine = plain->recommend_file(photo, wide);
    ASSERT_TRUE(a.attributes.has_value());
    // Reordered exactly when the photo passes the gate.
    EXPECT_EQ(a.reranked, reorders(*a.attributes, model->weights));
    EXPECT_FALSE(a.attributes->colour_family.empty());
    ASSERT_EQ(a.similar.size(), 10u);
    // The cosine ranking's first `kept` stay first (all ten below the gate); the rest come from its
    // candidates.
    for (std::size_t i = 0; i < (a.reranked ? kept : 10); ++i) {
      EXPECT_EQ(a.similar[i].item->id, cosine.similar[i].item->id);
    }
    std::set<std::int64_t> candidates;
    for (const auto& s : cosine.similar) candidates.insert(s.item->id);
    for (const auto& s : a.similar) EXPECT_TRUE(candidates.contains(s.item->id)) << s.item->id;
    const auto json = served->to_json(a, request);
    EXPECT_EQ(json["query"]["colour_family"], a.attributes->colour_family);
    EXPECT_EQ(json["query"]["ordered_by_colour_model"].get<bool>(), a.reranked);
  }
  EXPECT_EQ(checked, 5);

  // A gate no photo passes: every photo is served in the cosine order exactly, and the answer says so.
  AttributeModel closed = *model;
  closed.weights.min_confidence = 2.0;
  closed.save(w.root() / "models" / "colour.json");
  auto gated = Recommender::open(w, RecommenderConfig{});
  ASSERT_NE(gated->attribute_model(), nullptr);
  for (const auto& photo : photos) {
    const RecommendResult a = gated->recommend_file(photo, request);
    const RecommendResult cosine = plain->recommend_file(photo, request);
    ASSERT_TRUE(a.attributes.has_value());
    EXPECT_FALSE(a.reranked);
    ASSERT_EQ(a.similar.size(), cosine.similar.size());
    for (std::size_t i = 0; i < a.similar.size(); ++i) {
      EXPECT_EQ(a.similar[i].item->id, cosine.similar[i].item->id);
      EXPECT_EQ(a.similar[i].score, cosine.similar[i].score);
    }
    EXPECT_FALSE(gated->to_json(a, request)["query"]["ordered_by_colour_model"].get<bool>());
  }
}

}  // namespace
}  // namespace mystyle::engine
