#include "mystyle/train/colour_job.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <cmath>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "common.h"
#include "mystyle/catalog/design_split.h"
#include "mystyle/core/error.h"
#include "mystyle/core/file_io.h"
#include "mystyle/core/threads.h"
#include "mystyle/engine/embeddings.h"
#include "mystyle/engine/image_cache.h"
#include "mystyle/image/preprocess.h"
#include "mystyle/image/augment.h"
#include "mystyle/image/colour_naming.h"
#include "mystyle/nn/context.h"
#include "mystyle/train/style_job.h"

namespace mystyle::train {
namespace {

using Clock = std::chrono::steady_clock;
// How many of the cosine ranking's first candidates stay first (attributes.h): tried with every
// weight. Keeping none let a product's own edited photo fall out of the first ten.
constexpr std::array<std::size_t, 4> kKeepFirstGrid = {0, 1, 3, 5};
// A ranking may find a validation product's own edited photo in its first ten at most this much less
// often than cosine alone does.
constexpr double kMaxSelfRecallLoss = 0.01;
// Edits for those photos: the style training's user-photo edits, with a textured background for one in three.
image::AugmentSettings self_edits() {
  image::AugmentSettings a;
  a.texture_chance = 1.0 / 3;
  return a;
}


std::vector<std::string> sorted_names(const std::vector<catalog::Item>& items, const std::vector<std::size_t>& rows,
                                      std::string catalog::Item::*field) {
  std::set<std::string> names;
  for (std::size_t r : rows) {
    if (!(items[r].*field).empty()) names.insert(items[r].*field);
  }
  return {names.begin(), names.end()};
}

int code_of(const std::vector<std::string>& names, const std::string& name) {
  const auto it = std::ranges::lower_bound(names, name);
  return it != names.end() && *it == name ? static_cast<int>(it - names.begin()) : -1;
}

double accuracy(const std::vector<engine::PhotoAttributes>& p, std::span<const int> truth, bool colour) {
  std::size_t right = 0, asked = 0;
  for (std::size_t i = 0; i < p.size(); ++i) {
    if (truth[i] < 0) continue;
    ++asked;
    const auto& v = colour ? p[i].colour : p[i].type;
    right += std::ranges::max_element(v) - v.begin() == truth[i];
  }
  return asked ? static_cast<double>(right) / static_cast<double>(asked) : 0;
}

}  // namespace

RankPrecision rank_precision(const std::vector<std::vector<std::size_t>>& lists, std::span<const int> families,
                             std::span<const int> types, std::size_t k) {
  RankPrecision p;
  std::size_t qt = 0, qf = 0, qb = 0;
  for (std::size_t i = 0; i < lists.size(); ++i) {
    std::size_t t = 0, f = 0, b = 0;
    for (std::size_t r = 0; r < std::min(k, lists[i].size()); ++r) {
      const std::size_t j = lists[i][r];
      const bool same_t = types[i] >= 0 && types[j] == types[i], same_f = families[i] >= 0 && families[j] == families[i];
      t += same_t;
      f += same_f;
      b += same_t && same_f;
    }
    const double kk = static_cast<double>(k);
    if (types[i] >= 0) p.type += t / kk, ++qt;
    if (families[i] >= 0) p.colour_family += f / kk, ++qf;
    if (types[i] >= 0 && families[i] >= 0) p.both += b / kk, ++qb;
  }
  p.type /= std::max<double>(1, qt);
  p.colour_family /= std::max<double>(1, qf);
  p.both /= std::max<double>(1, qb);
  return p;
}

TrainSummary run_colour_family(const Workspace& workspace, const TrainOptions& options, OptionSet) {
  const auto start = Clock::now();
  const int threads = thread_count(options.threads);
  nn::set_num_threads(threads);
  const std::string style = engine::kDefaultModel;
  engine::EmbeddingModel style_model = engine::load_embedding_model(workspace, style);
  const engine::Embeddings codes =
      engine::load_current_embeddings(workspace, style, nn::LatentPooling::kFlat, style_model.source_hash);
  const std::vector<catalog::Item> items = detail::items_with_photos(workspace, options.max_items);
  const StyleSplit split = make_style_split(items, options.split_seed);
  image::PreprocessOptions preprocess;
  preprocess.image_side_px = style_model.model.spec().image_side_px;
  const engine::ImageCache cache = engine::ImageCache::build(workspace.root(), items, preprocess, threads);
  const nn::ImageSet images = cache.images();
  std::map<std::int64_t, std::uint32_t> image_of;
  for (std::uint32_t i = 0; i < cache.size(); ++i) image_of[cache.item_ids()[i]] = i;
  std::map<std::int64_t, std::size_t> code_of_id;
  for (std::size_t i = 0; i < codes.size(); ++i) code_of_id[codes.ids[i]] = i;
  const auto dim = static_cast<std::size_t>(codes.dim);

  engine::AttributeModel model;
  model.families = sorted_names(items, split.train, &catalog::Item::colour_family);
  model.types = sorted_names(items, split.train, &catalog::Item::type);
  if (model.families.size() < 2 || model.types.size() < 2) {
    throw Error(fmt::format("{}: the training designs name {} colour families and {} types: too few to train "
                            "'colour'",
                            workspace.root().string(), model.families.size(), model.types.size()));
  }
  model.index_names();
  model.code_dim = codes.dim;
  model.source_hash = style_model.source_hash;

  // Each side's rows: the colour input, the code, the labels.
  struct Side {
    std::vector<float> colour, code, chw;
    std::vector<int> family, type;
    std::vector<std::string> design;
  };
  std::array<Side, 2> sides;  // training, validation
  const int side = images.side_px();
  std::vector<float> chw(static_cast<std::size_t>(3 * side * side));
  for (int s = 0; s < 2; ++s) {
    for (std::size_t row : s == 0 ? split.train : split.validation) {
      const catalog::Item& item = items[row];
      const auto img = image_of.find(item.id);
      const auto code = code_of_id.find(item.id);
      if (img == image_of.end() || code == code_of_id.end()) continue;
      images.gather({&img->second, 1}, chw);
      const std::span<const float> v(codes.vectors.data() + code->second * dim, dim);
      if (s == 1) sides[1].chw.insert(sides[1].chw.end(), chw.begin(), chw.end());
      const std::vector<float> in = engine::AttributeModel::colour_input(image::rgb8_from_chw(chw, side), v);
      Side& out = sides[static_cast<std::size_t>(s)];
      out.colour.insert(out.colour.end(), in.begin(), in.end());
      out.code.insert(out.code.end(), v.begin(), v.end());
      out.family.push_back(code_of(model.families, item.colour_family));
      out.type.push_back(code_of(model.types, item.type));
      out.design.push_back(item.source + "/" + catalog::design_of(item.source_id));
    }
  }
  auto& [train, val] = sides;
  if (train.family.empty() || val.family.empty()) {
    throw Error(fmt::format("{}: {} training and {} validation items with a photo and a style code: too few "
                            "to train 'colour' (run `mystyle embed` first)",
                            workspace.root().string(), train.family.size(), val.family.size()));
  }
  const std::size_t colour_dim = static_cast<std::size_t>(image::kColourNamingDim) + dim;
  nn::ProbeFit fit;  // the evaluation's probe settings (eval/probe.h), stopped on the validation designs
  model.colour = nn::fit_softmax_probe(train.colour, colour_dim, train.family, model.families.size(), fit,
                                       val.colour, val.family);
  model.type = nn::fit_softmax_probe(train.code, dim, train.type, model.types.size(), fit, val.code, val.type);
  const std::vector<engine::PhotoAttributes> val_p = model.predict_rows(val.colour, val.code);
  const double colour_accuracy = accuracy(val_p, val.family, true), type_accuracy = accuracy(val_p, val.type, false);
  spdlog::info("colour: read-outs fitted on {} items of training designs; on {} validation items the colour "
               "family is named right {:.3f}, the type {:.3f}",
               train.family.size(), val.family.size(), colour_accuracy, type_accuracy);

  // The ranking's weights: the best mean of type, colour-family and joint P@10 on the validation
  // designs ranked against each other (ties: the earlier, smaller weights).
  const auto lists = engine::leave_one_out_candidates(val.code, dim, model.candidates);
  // The cosine above which a candidate is (a photo of) the query's own product: what another
  // design's best item reaches for only 1 validation photo in 100.
  std::vector<double> best_other;
  for (std::size_t i = 0; i < lists.size(); ++i) {
    for (const auto& [row, cosine] : lists[i]) {
      if (val.design[row] == val.design[i]) continue;
      best_other.push_back(cosine);
      break;
    }
  }
  std::ranges::sort(best_other);
  const double keep_above = best_other.empty() ? 2.0 : best_other[best_other.size() * 99 / 100];

  // A validation product's own photo, edited as a user's photo is (self_edits), searched among every
  // item of the training and validation designs: how often a ranking keeps it in its first ten.
  const std::size_t nv = val.family.size();
  const auto floats = static_cast<std::size_t>(3 * side * side);
  std::vector<float> edited = val.chw;
  image::augment_batch(edited, static_cast<int>(nv), 3, side, self_edits(), options.seed, threads, /*mirror=*/true);
  style_model.model.set_serving(true);
  std::vector<float> edited_codes(nv * dim);
  for (std::size_t first = 0; first < nv; first += 64) {
    const std::size_t b = std::min<std::size_t>(64, nv - first);
    style_model.model.encode({edited.data() + first * floats, b * floats}, static_cast<int>(b),
                             nn::LatentPooling::kFlat, {edited_codes.data() + first * dim, b * dim});
  }
  std::vector<float> edited_colour;
  for (std::size_t i = 0; i < nv; ++i) {
    const std::span<const float> code(edited_codes.data() + i * dim, dim);
    const std::vector<float> in =
        engine::AttributeModel::colour_input(image::rgb8_from_chw(std::span(edited).subspan(i * floats, floats), side), code);
    edited_colour.insert(edited_colour.end(), in.begin(), in.end());
  }
  const std::vector<engine::PhotoAttributes> edited_p = model.predict_rows(edited_colour, edited_codes);
  // The gallery: training rows, then validation rows (validation item i is row train + i).
  std::vector<const Side*> parts = {&train, &val};
  std::vector<int> gallery_family, gallery_type;
  for (const Side* part : parts) {
    gallery_family.insert(gallery_family.end(), part->family.begin(), part->family.end());
    gallery_type.insert(gallery_type.end(), part->type.begin(), part->type.end());
  }
  const std::size_t ntrain = train.family.size();
  const auto gallery_row = [&](std::size_t r) {
    return r < ntrain ? train.code.data() + r * dim : val.code.data() + (r - ntrain) * dim;
  };
  std::vector<std::vector<std::pair<std::size_t, double>>> self_lists(nv);
  for (std::size_t i = 0; i < nv; ++i) {
    const float* q = edited_codes.data() + i * dim;
    double norm = 0;
    for (std::size_t d = 0; d < dim; ++d) norm += double(q[d]) * q[d];
    norm = std::sqrt(std::max(norm, 1e-24));
    std::vector<std::pair<std::size_t, double>> all(gallery_family.size());
    for (std::size_t r = 0; r < all.size(); ++r) {
      const float* g = gallery_row(r);
      double dot = 0;
      for (std::size_t d = 0; d < dim; ++d) dot += double(q[d]) * g[d];
      all[r] = {r, dot / norm};
    }
    const std::size_t keep = std::min(model.candidates, all.size());
    std::partial_sort(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(keep), all.end(),
                      [](const auto& a, const auto& b) { return a.second > b.second || (a.second == b.second && a.first < b.first); });
    self_lists[i].assign(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(keep));
  }
  const auto self_recall = [&](const engine::RankWeights& w) {
    const auto top = engine::rerank_lists(self_lists, edited_p, gallery_family, gallery_type, w, 10);
    std::size_t found = 0;
    for (std::size_t i = 0; i < nv; ++i) found += std::ranges::find(top[i], ntrain + i) != top[i].end();
    return static_cast<double>(found) / static_cast<double>(std::max<std::size_t>(1, nv));
  };
  const double cosine_self = self_recall(engine::RankWeights{});

  // The weights: the best mean of type, colour-family and joint P@10 on the validation designs ranked
  // against each other, among those that keep a product's own edited photo in the first ten nearly as
  // often as cosine does (ties: the earlier, smaller weights).
  nlohmann::json grid = nlohmann::json::array();
  RankPrecision best_p, plain_p;
  double best = -1, best_self = cosine_self;
  for (std::size_t keep_first : kKeepFirstGrid) {
    for (double wc : kRankWeightGrid) {
      for (double wt : kRankWeightGrid) {
        for (double wj : kRankWeightGrid) {
          const engine::RankWeights w{wc, wt, wj, keep_above, keep_first};
          const RankPrecision p = rank_precision(engine::rerank_lists(lists, val_p, val.family, val.type, w, 10),
                                                 val.family, val.type, 10);
          const double self = self_recall(w);
          grid.push_back({{"colour", wc}, {"type", wt}, {"joint", wj}, {"keep_first", keep_first},
                          {"type_p10", p.type}, {"colour_family_p10", p.colour_family}, {"both_p10", p.both},
                          {"own_edited_photo_recall10", self}});
          if (wc == 0 && wt == 0 && wj == 0) plain_p = p;
          if (self >= cosine_self - kMaxSelfRecallLoss && p.mean() > best + 1e-12) {
            best = p.mean();
            best_p = p;
            best_self = self;
            model.weights = w;
          }
        }
      }
    }
  }
  const std::filesystem::path path = workspace.root() / "models" / (std::string(engine::kColourModel) + ".json");
  std::filesystem::create_directories(path.parent_path());
  model.save(path);
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  const std::filesystem::path report_dir = workspace.report_dir(engine::kColourModel);
  std::filesystem::create_directories(report_dir);
  const nlohmann::json doc = {
      {"model", engine::kColourModel},
      {"reads", style},
      {"families", model.families.size()},
      {"types", model.types.size()},
      {"train_items", train.family.size()},
      {"validation_items", val.family.size()},
      {"validation_colour_accuracy", colour_accuracy},
      {"validation_type_accuracy", type_accuracy},
      {"weights",
       {{"colour", model.weights.colour},
        {"type", model.weights.type},
        {"joint", model.weights.joint},
        {"keep_above", model.weights.keep_above},
        {"keep_first", model.weights.keep_first}}},
      {"candidates", model.candidates},
      {"own_edited_photo_recall10", {{"cosine", cosine_self}, {"chosen", best_self}, {"max_loss", kMaxSelfRecallLoss}}},
      {"validation_p10_chosen", {{"type", best_p.type}, {"colour_family", best_p.colour_family}, {"both", best_p.both}}},
      {"validation_p10_cosine_only", {{"type", plain_p.type}, {"colour_family", plain_p.colour_family}, {"both", plain_p.both}}},
      {"grid", grid},
      {"split_seed", options.split_seed},
      {"seconds", seconds}};
  write_file_atomic(report_dir / "train.json", doc.dump(2));

  TrainSummary s;
  s.json = nlohmann::json{{"model", engine::kColourModel},
                          {"validation_colour_accuracy", colour_accuracy},
                          {"validation_type_accuracy", type_accuracy},
                          {"weights", doc["weights"]},
                          {"seconds", seconds},
                          {"path", path.string()}}
               .dump(2);
  s.lines = {
      fmt::format("colour: colour family named right {:.3f}, type {:.3f} ({} validation items of designs it did not "
                  "fit on)",
                  colour_accuracy, type_accuracy, val.family.size()),
      fmt::format("ranking weights colour {} type {} joint {}, cosine's first {} and cosines from {:.3f} kept first "
                  "(of {} tried): validation P@10 type {:.3f} -> {:.3f}, colour family {:.3f} -> {:.3f}, both {:.3f} -> "
                  "{:.3f}; a product's own edited photo in the first ten {:.3f} -> {:.3f}",
                  model.weights.colour, model.weights.type, model.weights.joint, model.weights.keep_first, keep_above,
                  grid.size(), plain_p.type,
                  best_p.type, plain_p.colour_family, best_p.colour_family, plain_p.both, best_p.both, cosine_self,
                  best_self),
      fmt::format("this run: {:.1f} s; model in {}, report in {}", seconds, path.string(),
                  (report_dir / "train.json").string())};
  return s;
}

}  // namespace mystyle::train
