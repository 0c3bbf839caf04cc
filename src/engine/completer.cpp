#include "mystyle/engine/completer.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <map>
#include <chrono>
#include <nlohmann/json.hpp>

#include "mystyle/catalog/catalog.h"
#include "mystyle/catalog/design_split.h"
#include "mystyle/core/error.h"
#include "mystyle/engine/colour_query.h"
#include "mystyle/core/file_io.h"
#include "mystyle/image/decode.h"

namespace mystyle::engine {
namespace {

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

/// PairScores for one query: its views from every slot, the catalog's table, and near-identity by
/// design or style embedding.
class QueryScores : public recommend::PairScores {
 public:
  QueryScores(const CompatTable& table, const CompatFeatures& features, const recommend::OutfitGraph& graph,
              std::vector<float> query_views, catalog::Slot query_slot, float near_identical_cosine)
      : table_(table),
        features_(features),
        graph_(graph),
        views_(std::move(query_views)),
        slot_(query_slot),
        near_identical_cosine_(near_identical_cosine) {}

  float with_query(std::int64_t item) const override {
    const float* theirs = table_.view(item, slot_);
    if (theirs == nullptr) return -1.0f;
    const float* ours =
        views_.data() + static_cast<std::size_t>(table_.slot(item)) * static_cast<std::size_t>(table_.dim());
    float s = 0;
    for (int k = 0; k < table_.dim(); ++k) s += ours[k] * theirs[k];
    return s;
  }
  float between(std::int64_t a, std::int64_t b) const override { return table_.score(a, b); }
  bool near_identical(std::int64_t a, std::int64_t b) const override {
    const catalog::Item* x = graph_.item(a);
    const catalog::Item* y = graph_.item(b);
    if (x != nullptr && y != nullptr && x->source == y->source &&
        catalog::design_of(x->source_id) == catalog::design_of(y->source_id)) {
      return true;
    }
    const float* u = features_.row(a);
    const float* v = features_.row(b);
    if (u == nullptr || v == nullptr) return false;
    float s = 0;
    for (int k = 0; k < features_.style_dim; ++k) s += u[k] * v[k];
    return s >= near_identical_cosine_;
  }

 private:
  const CompatTable& table_;
  const CompatFeatures& features_;
  const recommend::OutfitGraph& graph_;
  std::vector<float> views_;  ///< [kCompatSlots, dim]
  catalog::Slot slot_;
  float near_identical_cosine_;
};

/// PairScores for a person's worn pieces: an item's score with "the query" is its mean score with every
/// worn piece (each seen from the item's slot, the item from each piece's).
class ContextScores : public recommend::PairScores {
 public:
  ContextScores(const QueryScores& base, const CompatTable& table, std::vector<std::vector<float>> views,
                std::vector<catalog::Slot> slots)
      : base_(base), table_(table), views_(std::move(views)), slots_(std::move(slots)) {}

  float with_query(std::int64_t item) const override {
    if (views_.empty()) return 0.0f;
    const auto dim = static_cast<std::size_t>(table_.dim());
    float sum = 0;
    for (std::size_t c = 0; c < views_.size(); ++c) {
      const float* theirs = table_.view(item, slots_[c]);
      if (theirs == nullptr) return -1.0f;
      const float* ours = views_[c].data() + static_cast<std::size_t>(table_.slot(item)) * dim;
      for (std::size_t k = 0; k < dim; ++k) sum += ours[k] * theirs[k];
    }
    return sum / static_cast<float>(views_.size());
  }
  float between(std::int64_t a, std::int64_t b) const override { return base_.between(a, b); }
  bool near_identical(std::int64_t a, std::int64_t b) const override { return base_.near_identical(a, b); }

 private:
  const QueryScores& base_;  ///< for the catalog-only questions
  const CompatTable& table_;
  std::vector<std::vector<float>> views_;  ///< per worn piece, [kCompatSlots, dim]
  std::vector<catalog::Slot> slots_;       ///< per worn piece
};

/// Slots a worn piece fills: a dress fills the top and the bottom too.
std::vector<catalog::Slot> filled_by(catalog::Slot slot) {
  if (slot == catalog::Slot::kDress) return {catalog::Slot::kDress, catalog::Slot::kInnerTop, catalog::Slot::kBottom};
  if (slot == catalog::Slot::kMainTop || slot == catalog::Slot::kInnerTop || slot == catalog::Slot::kBottom)
    return {slot, catalog::Slot::kDress};
  return {slot};
}

std::string slot_text(catalog::Slot slot) {
  return std::string(catalog::slot_name(slot));
}

/// A slot as a shopper says it: "top", "inner top", "shoes", ...
std::string slot_words(catalog::Slot slot) {
  switch (slot) {
    case catalog::Slot::kMainTop:
      return "top";
    case catalog::Slot::kInnerTop:
      return "inner top";
    default:
      return slot_text(slot);
  }
}

/// "strongest pairs: your piece with the shoes (0.86), the shoes with the bag (0.80)".
std::string why(const recommend::CompletedOutfit& outfit, bool worn) {
  std::string out;
  for (std::size_t i = 0; i < outfit.pairs.size() && i < 2; ++i) {
    const auto& p = outfit.pairs[i];
    const std::string b = "the " + slot_words(outfit.pieces[static_cast<std::size_t>(p.b)].slot);
    const std::string a = p.a < 0 ? std::string(worn ? "what you wear" : "your piece")
                                  : "the " + slot_words(outfit.pieces[static_cast<std::size_t>(p.a)].slot);
    out += fmt::format("{}{} with {} ({:.2f})", i == 0 ? "strongest pairs: " : ", ", a, b, p.score);
  }
  return out;
}

}  // namespace

double CompleteResponse::total_ms() const {
  return match.decode_ms + match.encode_ms + match.search_ms + match.outfits_ms + compat_ms + search_ms;
}

Completer::Completer(Recommender& recommender, CompatModel model, CompatTable table, CompatFeatures features,
                     std::unique_ptr<nlohmann::json> description)
    : Completer(
          recommender,
          [&] {
            auto parts = std::make_shared<Parts>(std::move(model));
            parts->description = std::move(description);
            return parts;
          }(),
          std::make_shared<const CompatTable>(std::move(table)),
          std::make_shared<const CompatFeatures>(std::move(features))) {}

Completer::Completer(Recommender& recommender, std::shared_ptr<Parts> parts, std::shared_ptr<const CompatTable> table,
                     std::shared_ptr<const CompatFeatures> features)
    : recommender_(recommender), parts_(std::move(parts)), table_(std::move(table)), features_(std::move(features)) {
  for (const auto slot : catalog::kAllSlots)
    default_slots_.push_back(recommend::default_slots(recommender_.graph(), slot));
  const MatchCalibration& calibration = recommender_.calibration();
  if (calibration.ready()) {
    near_identical_cosine_ =
        static_cast<float>(calibration.same_type_quantile(kNearIdenticalSameTypeQuantile));
  }
}

Completer::~Completer() = default;
Completer::Parts::Parts(CompatModel m) : model(std::move(m)) {}
Completer::Parts::~Parts() = default;

std::unique_ptr<Completer> Completer::over(Recommender& next, const RecommenderEdits& edits) const {
  // The added or changed items' features: their style vectors as the edit gives them (the flat
  // embedding the model takes) and their photo's colour features, as reopen computes them.
  const auto style_dim = static_cast<std::size_t>(features_->style_dim);
  const bool style_rows = next.config().pooling == nn::LatentPooling::kFlat &&
                          edits.vectors.size() == edits.added.size() * style_dim;
  std::map<std::int64_t, std::size_t> last;  // id -> its row in `edits`: an id added twice, the later
  for (std::size_t i = 0; style_rows && i < edits.added.size(); ++i) {
    if (edits.added[i].image_path) last[edits.added[i].id] = i;
  }
  CompatFeatures added;
  added.style_dim = features_->style_dim;
  added.colour_dim = features_->colour_dim;
  for (const auto& [id, i] : last) {
    const catalog::Item& item = edits.added[i];
    std::vector<float> colour;
    try {
      colour = image::colour_features(image::read_image(*item.image_path, {}, image::kColourDecodeMinSidePx));
    } catch (const Error& e) {
      spdlog::warn("item {}: {}; left out of complete the look until the next reload", item.id, e.what());
      continue;
    }
    if (colour.size() != static_cast<std::size_t>(added.colour_dim)) continue;
    added.ids.push_back(item.id);
    const auto row = std::span(edits.vectors).subspan(i * style_dim, style_dim);
    added.rows.insert(added.rows.end(), row.begin(), row.end());
    added.rows.insert(added.rows.end(), colour.begin(), colour.end());
  }
  std::shared_ptr<const CompatTable> table = table_;
  std::shared_ptr<const CompatFeatures> features = features_;
  if (!added.ids.empty()) {
    {
      std::lock_guard lock(parts_->model_mutex);
      table = std::make_shared<const CompatTable>(CompatTable::over(table_, parts_->model, added, next.graph()));
    }
    // The features laid over the loaded ones the same way: the earlier edits' rows kept, unless replaced.
    auto layered = std::make_shared<CompatFeatures>();
    layered->style_dim = added.style_dim;
    layered->colour_dim = added.colour_dim;
    layered->base = features_->base ? features_->base : features_;
    const CompatFeatures* kept = features_->base ? features_.get() : nullptr;
    const auto dim = static_cast<std::size_t>(added.dim());
    std::size_t k = 0, n = 0;
    const std::size_t kept_rows = kept ? kept->ids.size() : 0;
    auto put = [&](std::int64_t id, const float* row) {
      layered->ids.push_back(id);
      layered->rows.insert(layered->rows.end(), row, row + dim);
    };
    while (k < kept_rows || n < added.ids.size()) {
      if (n == added.ids.size() || (k < kept_rows && kept->ids[k] < added.ids[n])) {
        put(kept->ids[k], kept->rows.data() + k * dim);
        ++k;
      } else {
        if (k < kept_rows && kept->ids[k] == added.ids[n]) ++k;
        put(added.ids[n], added.rows.data() + n * dim);
        ++n;
      }
    }
    features = std::move(layered);
  }
  // The constructor reads the slots usually worn together off `next`'s outfits (a pass over them:
  // an edit changes them), and the near-identity threshold off its calibration (shared).
  auto completer = std::unique_ptr<Completer>(new Completer(next, parts_, std::move(table), std::move(features)));
  completer->model_hash_ = model_hash_;
  return completer;
}

namespace {

struct LoadedCompat {
  CompatModel model;
  std::unique_ptr<nlohmann::json> description;
  std::string style_model;
  std::uint64_t hash = 0;
};

LoadedCompat load_compat(const Workspace& workspace, const Recommender& recommender) {
  const auto model_path = workspace.model_file(kCompatModel);
  const auto json_path = workspace.root() / "models" / (std::string(kCompatModel) + ".json");
  std::string json_bytes;
  auto parsed = std::make_unique<nlohmann::json>();
  LoadedCompat out{CompatModel::load(model_path, json_path, json_bytes, *parsed), std::move(parsed), "", 0};
  out.hash = fnv1a64(json_bytes, fnv1a64(read_file_bytes(model_path)));
  // CompatModel::load checked the file parses and its dimensions; the fields read later (here, in
  // to_json and by the server) are given their types, so a hand-edited file cannot throw there.
  auto& description = *out.description;
  for (const char* key : {"style_model", "features"}) {
    if (!description[key].is_string()) description[key] = "";
  }
  if (!description["outfits_learned_from"].is_number_integer()) description["outfits_learned_from"] = 0;
  out.style_model = description["style_model"].get<std::string>();
  if (out.style_model != recommender.config().model) {
    throw Error(
        fmt::format("{}: trained on '{}' embeddings, but the recommender serves '{}'; run `mystyle train "
                    "--model compat` again",
                    json_path.string(), out.style_model, recommender.config().model),
        ErrorKind::kInvalidInput);
  }
  return out;
}

void check_dims(const CompatModel& model, const CompatFeatures& features, const Workspace& workspace) {
  if (features.style_dim != model.style_dim() || features.colour_dim != model.colour_dim()) {
    throw Error(
        fmt::format("{}: expects {} + {} features, the workspace gives {} + {}; run `mystyle train --model "
                    "compat` again",
                    workspace.model_file(kCompatModel).string(), model.style_dim(), model.colour_dim(),
                    features.style_dim, features.colour_dim),
        ErrorKind::kCorrupt);
  }
}

}  // namespace

std::unique_ptr<Completer> Completer::open(const Workspace& workspace, Recommender& recommender) {
  LoadedCompat c = load_compat(workspace, recommender);
  CompatFeatures features = load_compat_features(workspace, recommender.graph(), c.style_model, 0);
  check_dims(c.model, features, workspace);
  CompatTable table(c.model, features, recommender.graph());
  auto completer = std::unique_ptr<Completer>(new Completer(recommender, std::move(c.model), std::move(table),
                                                            std::move(features), std::move(c.description)));
  completer->model_hash_ = c.hash;
  return completer;
}

std::unique_ptr<Completer> Completer::reopen(const Workspace& workspace, Recommender& recommender,
                                             const Completer& previous) {
  LoadedCompat c = load_compat(workspace, recommender);
  if (c.hash != previous.model_hash_) return open(workspace, recommender);  // another model: nothing to reuse
  // The style rows as load_compat_features reads them, checked against the recommender's model.
  const Embeddings style =
      load_current_embeddings(workspace, c.style_model, nn::LatentPooling::kFlat, recommender.source_hash());
  const recommend::OutfitGraph& graph = recommender.graph();
  const recommend::OutfitGraph& old_graph = previous.recommender_.graph();
  const CompatFeatures& old = *previous.features_;
  CompatFeatures features;
  features.style_dim = style.dim;
  features.colour_dim = image::kColourDim + image::kHsvDim;
  const auto colour_dim = static_cast<std::size_t>(features.colour_dim);
  std::vector<float> colour;
  for (std::size_t i = 0; i < style.size(); ++i) {  // ids ascending, as make_compat_features orders them
    const std::int64_t id = style.ids[i];
    const catalog::Item* item = graph.item(id);
    if (item == nullptr || !item->image_path) continue;
    const catalog::Item* old_item = old_graph.item(id);
    const float* old_row = old.row(id);
    if (old_row != nullptr && old_item != nullptr && old_item->image_path == item->image_path &&
        old.style_dim == features.style_dim) {
      colour.assign(old_row + old.style_dim, old_row + old.style_dim + colour_dim);
    } else {
      try {  // as load_simple_features computes it: a half-size decode is plenty
        colour =
            image::colour_features(image::read_image(*item->image_path, {}, image::kColourDecodeMinSidePx));
      } catch (const Error& e) {
        spdlog::warn("item {}: {}; left out of complete the look", id, e.what());
        continue;
      }
    }
    features.ids.push_back(id);
    const auto row = style.row(i);
    features.rows.insert(features.rows.end(), row.begin(), row.end());
    features.rows.insert(features.rows.end(), colour.begin(), colour.end());
  }
  check_dims(c.model, features, workspace);
  CompatTable table(c.model, features, graph, *previous.table_, old);
  auto completer = std::unique_ptr<Completer>(new Completer(recommender, std::move(c.model), std::move(table),
                                                            std::move(features), std::move(c.description)));
  completer->model_hash_ = c.hash;
  return completer;
}

void CompleteRequest::validate() const {
  if (per_slot == 0 || per_slot > kMaxPerSlot) {
    throw Error(fmt::format("per_slot must be between 1 and {}, not {}", kMaxPerSlot, per_slot),
                ErrorKind::kInvalidInput);
  }
  if (outfits > kMaxOutfits) {
    throw Error(fmt::format("outfits must be between 0 and {}, not {}", kMaxOutfits, outfits),
                ErrorKind::kInvalidInput);
  }
  if (colour_family) require_colour_family(*colour_family, "colour");
}

CompleteResponse Completer::complete(std::span<const std::uint8_t> image_bytes, const std::string& name,
                                     const CompleteRequest& request, PieceSearch* pieces) {
  request.validate();
  if (request.category && !std::ranges::binary_search(recommender_.categories(), *request.category)) {
    throw Error(fmt::format("unknown category '{}'", *request.category), ErrorKind::kNotFound);
  }
  CompleteResponse response;
  RecommendRequest match_request;
  match_request.k = 10;
  match_request.max_outfits = 1;
  match_request.slot = request.slot;
  // The recommender's decode also gives the colour features when it is the decode they are defined
  // on (same reduction: every PNG or WebP, a JPEG small enough); else a second, reduced decode.
  auto t = Clock::now();
  const cv::Mat rgb = recommender_.decode(image_bytes, name);
  const double decode_ms = ms_since(t);
  if (pieces != nullptr) {
    PiecesResult found = pieces->find(rgb, name, match_request, request.piece);
    found.decode_ms += decode_ms;
    if (found.worn) return complete_worn(std::move(found), request);
    response.match = found.pieces.front().match;  // a garment alone: exactly recommend()'s answer
    response.pieces = std::move(found);
  } else {
    response.match = recommender_.recommend(rgb, name, match_request);
  }
  response.match.decode_ms += decode_ms;
  response.slot_from_request = request.slot.has_value();
  response.query_slot = response.match.query_slot.value_or(catalog::Slot::kOther);

  t = Clock::now();
  const image::ImageInfo info = image::probe_image(image_bytes, name);
  const bool same_pixels = image::decode_reduction(info, recommender_.decode_min_side_px()) ==
                           image::decode_reduction(info, image::kColourDecodeMinSidePx);
  response.decodes = same_pixels ? 1 : 2;
  const std::vector<float> colour = image::colour_features(
      same_pixels ? rgb : image::decode_image(image_bytes, name, recommender_.config().limits,
                                              image::kColourDecodeMinSidePx));
  std::vector<float> views = views_of(response.match.embedding, colour, response.query_slot);
  response.compat_ms = ms_since(t);

  t = Clock::now();
  recommend::CompleteOptions options;
  options.slots = request.slots;
  if (options.slots.empty()) options.slots = default_slots_[static_cast<std::size_t>(response.query_slot)];
  options.outfits = request.outfits;
  options.per_slot = request.per_slot;
  options.category = request.category;
  options.colour_family = request.colour_family;
  const QueryScores scores(*table_, *features_, recommender_.graph(), std::move(views), response.query_slot,
                           near_identical_cosine_);
  response.result = recommend::complete_outfits(recommender_.graph(), scores, response.query_slot, options);
  response.search_ms = ms_since(t);
  return response;
}

std::vector<float> Completer::views_of(std::vector<float> x, const std::vector<float>& colour,
                                      catalog::Slot slot) {
  if (static_cast<int>(x.size()) != parts_->model.style_dim()) {
    throw Error(fmt::format("the photo's embedding has {} numbers, the compat model wants {}", x.size(),
                            parts_->model.style_dim()));
  }
  x.insert(x.end(), colour.begin(), colour.end());
  std::vector<float> views;
  std::lock_guard lock(parts_->model_mutex);
  const catalog::Slot own[] = {slot};
  parts_->model.embed_all(x, own, views);
  return views;
}

CompleteResponse Completer::complete_worn(PiecesResult found, const CompleteRequest& request) {
  if (!found.worn) throw Error("complete_worn: the photo is not of a person");
  request.validate();
  CompleteResponse response;
  response.slot_from_request = false;
  if (!found.chosen) {  // a person, but nothing the catalog sells
    response.note = found.note;
    response.match.query_name = found.name;
    response.match.decode_ms = found.decode_ms + found.gate_ms + (found.parse ? found.parse->parse_ms : 0.0);
    response.pieces = std::move(found);
    return response;
  }
  const std::size_t chosen = *found.chosen;
  const bool replace = request.piece.index.has_value() || request.piece.part.has_value();
  response.match = found.pieces[chosen].match;
  response.query_slot = found.pieces[chosen].region.slot.value_or(catalog::Slot::kOther);
  // Timings: the parse and every other piece's search count as the match.
  response.match.decode_ms = found.total_ms() - (response.match.encode_ms + response.match.search_ms +
                                                 response.match.outfits_ms);

  auto t = Clock::now();
  std::vector<std::vector<float>> views;
  std::vector<catalog::Slot> slots;
  std::vector<bool> worn_slot(catalog::kAllSlots.size() + 1, false);
  for (std::size_t i = 0; i < found.pieces.size(); ++i) {
    const PhotoPiece& p = found.pieces[i];
    if (!p.sold) continue;
    const catalog::Slot slot = *p.region.slot;
    response.worn.push_back({i, replace && i == chosen});
    if (replace && i == chosen) continue;
    for (const auto s : filled_by(slot)) worn_slot[static_cast<std::size_t>(s)] = true;
    views.push_back(views_of(p.match.embedding, image::colour_features(p.cutout), slot));
    slots.push_back(slot);
  }
  const bool alone = replace && views.empty();
  if (alone) {  // nothing else worn: the chosen piece is the context, as a photo of it alone would be
    const PhotoPiece& p = found.pieces[chosen];
    views.push_back(views_of(p.match.embedding, image::colour_features(p.cutout), response.query_slot));
    slots.push_back(response.query_slot);
    response.worn.front().replaced = false;
  }
  response.compat_ms = ms_since(t);

  t = Clock::now();
  recommend::CompleteOptions options;
  if (alone) {
    options.slots = request.slots.empty() ? default_slots_[static_cast<std::size_t>(response.query_slot)]
                                          : request.slots;
  } else if (replace) {
    options.slots = {response.query_slot};
  } else if (!request.slots.empty()) {
    options.slots = request.slots;
  } else {
    for (const auto slot : slots) {
      for (const auto s : default_slots_[static_cast<std::size_t>(slot)]) {
        if (!worn_slot[static_cast<std::size_t>(s)] && std::ranges::find(options.slots, s) == options.slots.end())
          options.slots.push_back(s);
      }
    }
  }
  options.outfits = request.outfits;
  options.per_slot = request.per_slot;
  options.category = request.category;
  options.colour_family = request.colour_family;
  const QueryScores base(*table_, *features_, recommender_.graph(), {}, response.query_slot, near_identical_cosine_);
  const ContextScores scores(base, *table_, std::move(views), std::move(slots));
  // The worn slots are given explicitly; "the query's slot" (dropped from them) is none of them.
  response.result = recommend::complete_outfits(recommender_.graph(), scores, catalog::Slot::kOther, options);
  response.result.query_slot = response.query_slot;
  response.search_ms = ms_since(t);
  response.pieces = std::move(found);
  return response;
}

nlohmann::json Completer::to_json(const CompleteResponse& r, const CompleteRequest& request) const {
  const auto& graph = recommender_.graph();
  auto piece_json = [&](const recommend::ScoredPiece& p) {
    return nlohmann::json{
        {"slot", slot_text(p.slot)}, {"score", p.with_query}, {"item", item_json(*graph.item(p.item))}};
  };
  nlohmann::json candidates = nlohmann::json::array();
  for (const auto& c : r.result.candidates) {
    nlohmann::json pieces = nlohmann::json::array();
    for (const auto& p : c.pieces) pieces.push_back(piece_json(p));
    candidates.push_back({{"slot", slot_text(c.slot)}, {"pieces", pieces}});
  }
  nlohmann::json outfits = nlohmann::json::array();
  for (const auto& o : r.result.outfits) {
    nlohmann::json pieces = nlohmann::json::array();
    for (const auto& p : o.pieces) pieces.push_back(piece_json(p));
    nlohmann::json pairs = nlohmann::json::array();
    for (const auto& p : o.pairs) {
      pairs.push_back({{"a", p.a < 0 ? nlohmann::json("query")
                                     : nlohmann::json(o.pieces[static_cast<std::size_t>(p.a)].item)},
                       {"b", o.pieces[static_cast<std::size_t>(p.b)].item},
                       {"score", p.score}});
    }
    outfits.push_back({{"score", o.score}, {"pieces", pieces}, {"pairs", pairs}, {"why", why(o, !r.worn.empty())}});
  }
  nlohmann::json slots = nlohmann::json::array();
  for (const auto s : r.result.slots) slots.push_back(slot_text(s));
  nlohmann::json best =
      r.match.similar.empty() ? nlohmann::json(nullptr) : item_json(*r.match.similar.front().item);
  nlohmann::json doc = {{"query",
           {{"name", r.match.query_name},
            {"slot", slot_text(r.query_slot)},
            {"slot_from", r.slot_from_request ? "request" : "best match"},
            {"best_match", best}}},
          {"request",
           {{"slots", request.slots.empty() ? nlohmann::json("default") : nlohmann::json(slots)},
            {"outfits", request.outfits},
            {"per_slot", request.per_slot},
            {"category", request.category ? nlohmann::json(*request.category) : nlohmann::json(nullptr)},
            {"colour", request.colour_family ? nlohmann::json(*request.colour_family) : nlohmann::json(nullptr)}}},
          {"slots", slots},
          {"candidates", candidates},
          {"outfits", outfits},
          {"model",
           {{"name", kCompatModel},
            {"features", parts_->description->value("features", std::string())},
            {"outfits_learned_from", parts_->description->value("outfits_learned_from", 0)},
            {"near_identical_cosine", near_identical_cosine_}}},
          {"timing_ms",
           {{"decode_preprocess", r.match.decode_ms},
            {"encode", r.match.encode_ms},
            {"match", r.match.search_ms + r.match.outfits_ms},
            {"compat", r.compat_ms},
            {"search", r.search_ms},
            {"total", r.total_ms()}}}};
  doc["worn"] = r.pieces && r.pieces->worn;
  doc["note"] = r.note.empty() ? nlohmann::json(nullptr) : nlohmann::json(r.note);
  if (r.pieces) {
    const PiecesResult& found = *r.pieces;
    const bool replace = std::ranges::any_of(r.worn, [](const WornPiece& w) { return w.replaced; });
    doc["mode"] = !found.worn ? "garment" : replace ? "replace" : "fill";
    doc["photo"] = {{"width", found.photo.width}, {"height", found.photo.height}};
    doc["piece"] = found.chosen ? nlohmann::json(*found.chosen) : nlohmann::json(nullptr);
    nlohmann::json pieces = nlohmann::json::array();
    for (std::size_t i = 0; found.worn && i < found.pieces.size(); ++i) {
      const PhotoPiece& p = found.pieces[i];
      const auto w = std::ranges::find(r.worn, i, &WornPiece::index);
      const char* role = !p.sold ? "not sold" : (w != r.worn.end() && w->replaced) ? "replaced" : "kept";
      pieces.push_back(
          {{"index", i},
           {"class", parse_class_name(p.region.part)},
           {"slot", p.region.slot ? nlohmann::json(slot_text(*p.region.slot)) : nlohmann::json(nullptr)},
           {"box", {{"x", p.region.box.x}, {"y", p.region.box.y}, {"width", p.region.box.width},
                    {"height", p.region.box.height}}},
           {"share", p.region.share},
           {"sold", p.sold},
           {"role", role},
           {"outline", outline_json(p.region.mask)},
           {"best_match", p.sold && !p.match.similar.empty() ? item_json(*p.match.similar.front().item)
                                                             : nlohmann::json(nullptr)}});
    }
    doc["pieces"] = std::move(pieces);
    if (found.worn) {
      doc["query"]["slot_from"] = "parsed piece";
      if (!found.chosen) doc["query"]["slot"] = nullptr;
    }
  }
  return doc;
}

}  // namespace mystyle::engine
