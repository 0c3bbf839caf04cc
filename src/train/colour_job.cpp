#include "mystyle/train/colour_job.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <thread>

#include "common.h"
#include "mystyle/catalog/design_split.h"
#include "mystyle/core/error.h"
#include "mystyle/core/file_io.h"
#include "mystyle/core/threads.h"
#include "mystyle/engine/embeddings.h"
#include "mystyle/engine/image_cache.h"
#include "mystyle/engine/photo_views.h"
#include "mystyle/image/augment.h"
#include "mystyle/image/colour_naming.h"
#include "mystyle/image/decode.h"
#include "mystyle/image/perturb.h"
#include "mystyle/image/preprocess.h"
#include "mystyle/nn/context.h"
#include "mystyle/train/style_job.h"

namespace mystyle::train {
namespace {

using Clock = std::chrono::steady_clock;
// A ranking may find a validation product's own edited photo (self_edits) in its first ten at most
// this much less often than cosine alone does.
constexpr double kMaxSelfRecallLoss = 0.01;
// And under `eval robustness`'s combined edit (image::perturb), no less often at all: with 0.01 the
// held-out designs lost 0.034 where the validation designs had lost 0.009 (749 validation photos,
// and the best of many settings near the limit is an optimistic pick; docs/colour.md).
constexpr double kMaxCombinedRecallLoss = 0.0;
// A smaller candidate pool is chosen over a larger one unless the larger one's best mean P@10 is more
// than this above it: the pool is most of what the ranking costs a query (docs/colour.md).
constexpr double kPoolTolerance = 0.005;
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
    std::vector<std::filesystem::path> photo;
    std::vector<std::int64_t> id;
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
      out.photo.push_back(item.image_path.value_or(""));
      out.id.push_back(item.id);
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

  // The ranking: every pool size, keep-first count and weight tried on the validation designs. Lists
  // of the largest pool serve every pool: a smaller pool is their first `candidates` rows.
  const std::size_t max_pool = kCandidatesGrid.back();
  const auto lists = engine::leave_one_out_candidates(val.code, dim, max_pool);
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

  // A validation product's own photo, edited, searched among every item of the training and
  // validation designs: how often a ranking keeps it in its first ten. Two edits: the user-photo
  // edits of self_edits(), and `eval robustness`'s combined edit (image::perturb) of the catalog
  // photo decoded as an upload is.
  const std::size_t nv = val.family.size();
  const auto floats = static_cast<std::size_t>(3 * side * side);
  style_model.model.set_serving(true);
  const auto encode_rows = [&](const std::vector<float>& chw_rows) {
    std::vector<float> out(nv * dim);
    for (std::size_t first = 0; first < nv; first += 64) {
      const std::size_t b = std::min<std::size_t>(64, nv - first);
      style_model.model.encode({chw_rows.data() + first * floats, b * floats}, static_cast<int>(b),
                               nn::LatentPooling::kFlat, {out.data() + first * dim, b * dim});
    }
    return out;
  };
  const auto read_rows = [&](const std::vector<float>& chw_rows, const std::vector<float>& row_codes) {
    std::vector<float> colour_rows;
    for (std::size_t i = 0; i < nv; ++i) {
      const std::span<const float> code(row_codes.data() + i * dim, dim);
      const std::vector<float> in = engine::AttributeModel::colour_input(
          image::rgb8_from_chw(std::span(chw_rows).subspan(i * floats, floats), side), code);
      colour_rows.insert(colour_rows.end(), in.begin(), in.end());
    }
    return model.predict_rows(colour_rows, row_codes);
  };
  std::vector<float> edited = val.chw;
  image::augment_batch(edited, static_cast<int>(nv), 3, side, self_edits(), options.seed, threads, /*mirror=*/true);
  const std::vector<float> edited_codes = encode_rows(edited);
  const std::vector<engine::PhotoAttributes> edited_p = read_rows(edited, edited_codes);
  // The combined edit starts from the photo file, as `eval robustness` does; a photo that no longer
  // decodes keeps its cached, unedited pixels.
  std::vector<float> combined = val.chw;
  {
    std::atomic<std::size_t> next{0};
    std::vector<std::jthread> workers;
    for (int w = 0; w < threads; ++w) {
      workers.emplace_back([&] {
        for (std::size_t i; (i = next++) < nv;) {
          try {
            const cv::Mat photo = image::read_image(val.photo[i], {}, image::decode_min_side_px(preprocess));
            image::preprocess_into(image::perturb(photo, image::Perturbation::kCombined), preprocess,
                                   std::span(combined).subspan(i * floats, floats));
          } catch (const Error& e) {
            spdlog::warn("colour: {}: {}", val.photo[i].string(), e.what());
          }
        }
      });
    }
  }
  const std::vector<float> combined_codes = encode_rows(combined);
  const std::vector<engine::PhotoAttributes> combined_p = read_rows(combined, combined_codes);

  // The gallery: training items, then validation items (validation item i is item train + i), each
  // as served: its photo's code and, when `mystyle embed` made them, its edited views' codes, an item
  // scoring as its closest one (engine/photo_views.h).
  std::vector<int> gallery_family = train.family, gallery_type = train.type;
  gallery_family.insert(gallery_family.end(), val.family.begin(), val.family.end());
  gallery_type.insert(gallery_type.end(), val.type.begin(), val.type.end());
  const std::size_t ntrain = train.family.size(), gallery_items = gallery_family.size();
  const std::optional<engine::Embeddings> views = engine::load_current_views(workspace, style, codes);
  std::map<std::int64_t, std::size_t> view_row;
  if (views) {
    for (std::size_t i = 0; i < views->size(); ++i) view_row[views->ids[i]] = i;
  }
  std::vector<const float*> entry_code;  // the gallery's codes: photos and views
  std::vector<std::size_t> entry_item;
  for (std::size_t r = 0; r < gallery_items; ++r) {
    const Side& part = r < ntrain ? train : val;
    const std::size_t row = r < ntrain ? r : r - ntrain;
    entry_code.push_back(part.code.data() + row * dim);
    entry_item.push_back(r);
    for (int v = 1; v <= engine::kEditedViews; ++v) {
      const auto it = view_row.find(engine::view_id(part.id[row], v));
      if (it == view_row.end()) continue;
      entry_code.push_back(views->vectors.data() + it->second * dim);
      entry_item.push_back(r);
    }
  }
  std::vector<double> entry_norm(entry_code.size());
  for (std::size_t e = 0; e < entry_code.size(); ++e) {
    double sq = 0;
    for (std::size_t d = 0; d < dim; ++d) sq += double(entry_code[e][d]) * entry_code[e][d];
    entry_norm[e] = std::sqrt(std::max(sq, 1e-24));
  }
  // Per query row, the gallery items of highest cosine, best first (ties: the earlier item).
  const auto nearest = [&](const std::vector<float>& queries) {
    std::vector<std::vector<std::pair<std::size_t, double>>> out(nv);
    std::atomic<std::size_t> next{0};
    std::vector<std::jthread> workers;
    for (int t = 0; t < threads; ++t) {
      workers.emplace_back([&] {
        std::vector<std::pair<std::size_t, double>> all(gallery_items);
        for (std::size_t i; (i = next++) < nv;) {
          const float* q = queries.data() + i * dim;
          double norm = 0;
          for (std::size_t d = 0; d < dim; ++d) norm += double(q[d]) * q[d];
          norm = std::sqrt(std::max(norm, 1e-24));
          for (std::size_t r = 0; r < gallery_items; ++r) all[r] = {r, -2.0};
          for (std::size_t e = 0; e < entry_code.size(); ++e) {
            const float* g = entry_code[e];
            double dot = 0;
            for (std::size_t d = 0; d < dim; ++d) dot += double(q[d]) * g[d];
            auto& best = all[entry_item[e]].second;
            best = std::max(best, dot / (norm * entry_norm[e]));
          }
          const std::size_t keep = std::min(max_pool, all.size());
          std::partial_sort(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(keep), all.end(),
                            [](const auto& x, const auto& y) {
                              return x.second > y.second || (x.second == y.second && x.first < y.first);
                            });
          out[i].assign(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(keep));
        }
      });
    }
    workers.clear();  // joins
    return out;
  };
  const auto edited_lists = nearest(edited_codes), combined_lists = nearest(combined_codes);
  // Each list cut to each pool size.
  using Lists = std::vector<std::vector<std::pair<std::size_t, double>>>;
  const auto cut = [](const Lists& full, std::size_t pool) {
    Lists out(full.size());
    for (std::size_t i = 0; i < full.size(); ++i) {
      out[i].assign(full[i].begin(),
                    full[i].begin() + static_cast<std::ptrdiff_t>(std::min(pool, full[i].size())));
    }
    return out;
  };
  struct Pool {
    Lists val, edited, combined;
  };
  std::vector<Pool> pools;
  for (std::size_t pool : kCandidatesGrid) {
    pools.push_back({cut(lists, pool), cut(edited_lists, pool), cut(combined_lists, pool)});
  }
  // Per validation photo, whether a ranking keeps its product's own (edited) photo in its first ten.
  const auto own_found = [&](const Lists& own_lists, std::span<const engine::PhotoAttributes> photos,
                             const engine::RankWeights& w) {
    const auto top = engine::rerank_lists(own_lists, photos, gallery_family, gallery_type, w, 10);
    std::vector<std::uint8_t> found(nv);
    for (std::size_t i = 0; i < nv; ++i) found[i] = std::ranges::find(top[i], ntrain + i) != top[i].end();
    return found;
  };
  const auto own_recall = [&](const Lists& own_lists, std::span<const engine::PhotoAttributes> photos,
                              const engine::RankWeights& w) {
    const std::vector<std::uint8_t> found = own_found(own_lists, photos, w);
    return static_cast<double>(std::ranges::count(found, 1)) /
           static_cast<double>(std::max<std::size_t>(1, nv));
  };
  // Cosine alone orders every pool alike (its first ten are the pool's first ten).
  const double cosine_self = own_recall(pools.front().edited, edited_p, engine::RankWeights{});
  const double cosine_combined = own_recall(pools.front().combined, combined_p, engine::RankWeights{});

  // Per validation photo, what a ranking's first ten hold: items of its type, of its family, of both
  // (validation items ranked against each other), and whether its product's own photo, edited either
  // way, is among them. The confidence gate picks, photo by photo, the reordered or the cosine first
  // ten: a gated setting's figures are sums of these, without ranking again.
  struct Hits {
    std::vector<std::uint8_t> type, family, both, self, combined;
  };
  const auto hits_of = [&](const Pool& pool, const engine::RankWeights& w) {
    Hits h;
    h.type.assign(nv, 0);
    h.family.assign(nv, 0);
    h.both.assign(nv, 0);
    const auto top = engine::rerank_lists(pool.val, val_p, val.family, val.type, w, 10);
    for (std::size_t i = 0; i < nv; ++i) {
      for (std::size_t j : top[i]) {
        const bool same_t = val.type[i] >= 0 && val.type[j] == val.type[i];
        const bool same_f = val.family[i] >= 0 && val.family[j] == val.family[i];
        h.type[i] += same_t;
        h.family[i] += same_f;
        h.both[i] += same_t && same_f;
      }
    }
    h.self = own_found(pool.edited, edited_p, w);
    h.combined = own_found(pool.combined, combined_p, w);
    return h;
  };
  const Hits cosine_hits = hits_of(pools.front(), engine::RankWeights{});
  // The gates: off, then each reading with each threshold; per gate, which photos it lets through.
  struct Gate {
    engine::GateOn on = engine::GateOn::kFamily;
    double min_confidence = 0;
    std::vector<std::uint8_t> val, edited, combined;  // 1: reordered
  };
  const auto passes = [](std::span<const engine::PhotoAttributes> photos, engine::GateOn on, double min) {
    std::vector<std::uint8_t> out(photos.size());
    for (std::size_t i = 0; i < photos.size(); ++i) {
      out[i] = engine::reorders(photos[i], engine::RankWeights{.min_confidence = min, .gate_on = on});
    }
    return out;
  };
  std::vector<Gate> gates = {{engine::GateOn::kFamily, 0, passes(val_p, engine::GateOn::kFamily, 0),
                              passes(edited_p, engine::GateOn::kFamily, 0),
                              passes(combined_p, engine::GateOn::kFamily, 0)}};
  for (engine::GateOn on : kGateOnGrid) {
    for (double min : kMinConfidenceGrid)
      gates.push_back(
          {on, min, passes(val_p, on, min), passes(edited_p, on, min), passes(combined_p, on, min)});
  }
  std::size_t qt = 0, qf = 0, qb = 0;
  for (std::size_t i = 0; i < nv; ++i) {
    qt += val.type[i] >= 0;
    qf += val.family[i] >= 0;
    qb += val.type[i] >= 0 && val.family[i] >= 0;
  }
  struct Figures {
    RankPrecision p;
    double self = 0, combined = 0;
  };
  const auto figures = [&](const Hits& on, const Gate& g) {
    std::size_t t = 0, f = 0, b = 0, found_self = 0, found_combined = 0;
    for (std::size_t i = 0; i < nv; ++i) {
      const Hits& v = g.val[i] ? on : cosine_hits;
      t += v.type[i];
      f += v.family[i];
      b += v.both[i];
      found_self += (g.edited[i] ? on : cosine_hits).self[i];
      found_combined += (g.combined[i] ? on : cosine_hits).combined[i];
    }
    const auto share = [](std::size_t hits, std::size_t asked, double per) {
      return static_cast<double>(hits) / (per * static_cast<double>(std::max<std::size_t>(1, asked)));
    };
    return Figures{{share(t, qt, 10), share(f, qf, 10), share(b, qb, 10)},
                   share(found_self, nv, 1),
                   share(found_combined, nv, 1)};
  };
  const auto admissible = [&](const Figures& f) {
    return f.self >= cosine_self - kMaxSelfRecallLoss &&
           f.combined >= cosine_combined - kMaxCombinedRecallLoss;
  };

  // Every setting, pools smallest first, with every gate, scored on the validation designs (in
  // parallel: each setting is independent), then the choice: the best mean of type, colour-family and
  // joint P@10 among the settings and gates that keep a product's own edited photo in the first ten
  // nearly as often as cosine does, under both edits (ties: the earlier: the smaller pool, then the
  // smaller weights, then the gate off, then the lower threshold).
  struct Setting {
    std::size_t pool = 0;  // index into kCandidatesGrid
    engine::RankWeights w;
  };
  std::vector<Setting> settings;
  for (std::size_t pool = 0; pool < kCandidatesGrid.size(); ++pool) {
    for (std::size_t keep_first : kKeepFirstGrid) {
      for (double wc : kRankWeightGrid) {
        for (double wt : kRankWeightGrid) {
          for (double wj : kRankWeightGrid) settings.push_back({pool, {wc, wt, wj, keep_above, keep_first}});
        }
      }
    }
  }
  const std::size_t ng = gates.size();
  std::vector<Figures> scored(settings.size() * ng);  // [setting][gate]
  {
    std::atomic<std::size_t> next{0};
    std::vector<std::jthread> workers;
    for (int t = 0; t < threads; ++t) {
      workers.emplace_back([&] {
        for (std::size_t i; (i = next++) < settings.size();) {
          const Hits h = hits_of(pools[settings[i].pool], settings[i].w);
          for (std::size_t g = 0; g < ng; ++g) scored[i * ng + g] = figures(h, gates[g]);
        }
      });
    }
  }
  // Per setting, its best admissible gate (the gate off when none is); per pool, its best admissible
  // setting and gate; then the smallest pool within kPoolTolerance of the best.
  const auto gate_json = [&](std::size_t g) {
    return nlohmann::json{{"gate_on", engine::gate_on_name(gates[g].on)},
                          {"min_confidence", gates[g].min_confidence}};
  };
  const auto figures_json = [](const Figures& f) {
    return nlohmann::json{{"type_p10", f.p.type},
                          {"colour_family_p10", f.p.colour_family},
                          {"both_p10", f.p.both},
                          {"own_edited_photo_recall10", f.self},
                          {"own_combined_edit_recall10", f.combined}};
  };
  nlohmann::json grid = nlohmann::json::array();
  const RankPrecision plain_p = figures(cosine_hits, gates.front()).p;
  using Choice = std::pair<std::size_t, std::size_t>;  // setting, gate
  std::vector<std::optional<Choice>> pool_best(kCandidatesGrid.size());
  std::vector<std::optional<Choice>> gate_best(ng);
  const auto mean_of = [&](const Choice& c) { return scored[c.first * ng + c.second].p.mean(); };
  const auto keep_better = [&](std::optional<Choice>& kept, const Choice& c) {
    if (!kept || mean_of(c) > mean_of(*kept) + 1e-12) kept = c;
  };
  for (std::size_t s = 0; s < settings.size(); ++s) {
    std::optional<Choice> own;
    for (std::size_t g = 0; g < ng; ++g) {
      if (!admissible(scored[s * ng + g])) continue;
      keep_better(own, {s, g});
      keep_better(gate_best[g], {s, g});
    }
    if (own) keep_better(pool_best[settings[s].pool], *own);
    const std::size_t g = own ? own->second : 0;
    const engine::RankWeights& w = settings[s].w;
    nlohmann::json row = {{"candidates", kCandidatesGrid[settings[s].pool]},
                          {"colour", w.colour},
                          {"type", w.type},
                          {"joint", w.joint},
                          {"keep_first", w.keep_first}};
    row.update(gate_json(g));
    row.update(figures_json(scored[s * ng + g]));
    row["ungated"] = figures_json(scored[s * ng]);
    grid.push_back(std::move(row));
  }
  double top = -1;
  for (const auto& c : pool_best) top = c ? std::max(top, mean_of(*c)) : top;
  // Every pool has the cosine order itself (all weights 0), which loses nothing: never empty.
  const Choice chosen = **std::ranges::find_if(
      pool_best, [&](const std::optional<Choice>& c) { return c && mean_of(*c) >= top - kPoolTolerance; });
  model.weights = settings[chosen.first].w;
  model.weights.min_confidence = gates[chosen.second].min_confidence;
  model.weights.gate_on = gates[chosen.second].on;
  model.candidates = kCandidatesGrid[settings[chosen.first].pool];
  // The choice measured again as served: the gate applied by rerank() itself.
  const Pool& chosen_pool = pools[settings[chosen.first].pool];
  const RankPrecision best_p =
      rank_precision(engine::rerank_lists(chosen_pool.val, val_p, val.family, val.type, model.weights, 10),
                     val.family, val.type, 10);
  const double best_self = own_recall(chosen_pool.edited, edited_p, model.weights);
  const double best_combined = own_recall(chosen_pool.combined, combined_p, model.weights);
  const Figures& chosen_figures = scored[chosen.first * ng + chosen.second];
  if (std::abs(best_p.mean() - chosen_figures.p.mean()) > 1e-9 ||
      std::abs(best_self - chosen_figures.self) > 1e-9 ||
      std::abs(best_combined - chosen_figures.combined) > 1e-9) {
    throw Error("colour: the chosen ranking scores differently when ranked as served (an internal error)");
  }
  // Per gate, its best admissible setting of any pool, and the share of photos it lets through.
  nlohmann::json per_gate = nlohmann::json::array();
  const auto share = [](const std::vector<std::uint8_t>& v) {
    return static_cast<double>(std::ranges::count(v, 1)) /
           static_cast<double>(std::max<std::size_t>(1, v.size()));
  };
  for (std::size_t g = 0; g < ng; ++g) {
    nlohmann::json row = gate_json(g);
    row["reordered"] = {{"validation", share(gates[g].val)},
                        {"user_photo_edits", share(gates[g].edited)},
                        {"combined_edit", share(gates[g].combined)}};
    if (const auto& c = gate_best[g]) {
      const engine::RankWeights& w = settings[c->first].w;
      row["best"] = {{"candidates", kCandidatesGrid[settings[c->first].pool]},
                     {"colour", w.colour},
                     {"type", w.type},
                     {"joint", w.joint},
                     {"keep_first", w.keep_first}};
      row["best"].update(figures_json(scored[c->first * ng + g]));
    }
    per_gate.push_back(std::move(row));
  }
  // How confident the read-outs are, photo by photo: the median of each reading.
  nlohmann::json confidence;
  for (engine::GateOn on : kGateOnGrid) {
    const auto median = [&](std::span<const engine::PhotoAttributes> photos) {
      std::vector<double> c;
      for (const auto& p : photos) c.push_back(engine::gate_confidence(p, on));
      std::ranges::nth_element(c, c.begin() + static_cast<std::ptrdiff_t>(c.size() / 2));
      return c.empty() ? 0.0 : c[c.size() / 2];
    };
    confidence[engine::gate_on_name(on)] = {{"validation", median(val_p)},
                                            {"user_photo_edits", median(edited_p)},
                                            {"combined_edit", median(combined_p)}};
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
        {"keep_first", model.weights.keep_first},
        {"min_confidence", model.weights.min_confidence},
        {"gate_on", engine::gate_on_name(model.weights.gate_on)}}},
      {"candidates", model.candidates},
      {"candidates_tried", kCandidatesGrid},
      {"gates", per_gate},
      {"confidence_median", confidence},
      {"own_edited_photo_recall10",
       {{"cosine", cosine_self}, {"chosen", best_self}, {"max_loss", kMaxSelfRecallLoss}}},
      {"own_combined_edit_recall10",
       {{"cosine", cosine_combined}, {"chosen", best_combined}, {"max_loss", kMaxCombinedRecallLoss}}},
      {"validation_p10_chosen",
       {{"type", best_p.type}, {"colour_family", best_p.colour_family}, {"both", best_p.both}}},
      {"validation_p10_cosine_only",
       {{"type", plain_p.type}, {"colour_family", plain_p.colour_family}, {"both", plain_p.both}}},
      {"grid", grid},
      {"split_seed", options.split_seed},
      {"seconds", seconds}};
  write_file_atomic(report_dir / "train.json", doc.dump(2));

  TrainSummary s;
  s.json = nlohmann::json{{"model", engine::kColourModel},
                          {"validation_colour_accuracy", colour_accuracy},
                          {"validation_type_accuracy", type_accuracy},
                          {"weights", doc["weights"]},
                          {"candidates", model.candidates},
                          {"seconds", seconds},
                          {"path", path.string()}}
               .dump(2);
  s.lines = {
      fmt::format(
          "colour: colour family named right {:.3f}, type {:.3f} ({} validation items of designs it did not "
          "fit on)",
          colour_accuracy, type_accuracy, val.family.size()),
      fmt::format(
          "ranking: the cosine's first {} candidates reordered, weights colour {} type {} joint {}, its "
          "first "
          "{} and cosines from {:.3f} kept first, {} (of {} settings x {} gates tried): validation P@10 "
          "type {:.3f} -> {:.3f}, "
          "colour family {:.3f} -> {:.3f}, both {:.3f} -> {:.3f}; a product's own photo in the first ten, "
          "user-photo edits {:.3f} -> {:.3f}, combined edit {:.3f} -> {:.3f}",
          model.candidates, model.weights.colour, model.weights.type, model.weights.joint,
          model.weights.keep_first, keep_above,
          model.weights.min_confidence > 0
              ? fmt::format("photos whose {} confidence is below {} kept in the cosine order",
                            engine::gate_on_name(model.weights.gate_on), model.weights.min_confidence)
              : std::string("no confidence gate"),
          grid.size(), ng, plain_p.type, best_p.type, plain_p.colour_family, best_p.colour_family,
          plain_p.both, best_p.both, cosine_self, best_self, cosine_combined, best_combined),
      fmt::format("this run: {:.1f} s; model in {}, report in {}", seconds, path.string(),
                  (report_dir / "train.json").string())};
  return s;
}

}  // namespace mystyle::train
