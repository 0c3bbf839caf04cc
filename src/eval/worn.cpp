#include "mystyle/eval/worn.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <map>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "mystyle/catalog/catalog.h"
#include "mystyle/core/error.h"
#include "mystyle/core/file_io.h"
#include "mystyle/core/paths.h"
#include "mystyle/core/progress.h"
#include "mystyle/engine/pieces.h"
#include "mystyle/eval/transfer.h"
#include "mystyle/image/decode.h"
#include "mystyle/train/ccp.h"
#include "mystyle/train/paste.h"

namespace mystyle::eval {
namespace {

using Clock = std::chrono::steady_clock;
using engine::ParseClass;

double ms_since(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

/// main_top and inner_top as one slot: "top".
std::string merged(catalog::Slot slot) {
  return slot == catalog::Slot::kInnerTop ? std::string(catalog::slot_name(catalog::Slot::kMainTop))
                                          : std::string(catalog::slot_name(slot));
}

/// What one answer is judged against.
struct Truth {
  std::optional<catalog::Slot> slot;  ///< none: the piece holds no garment
  std::string group;                  ///< "" when the garment has no type group
};

/// One answer: the slot and group its top k voted.
struct Answer {
  std::string slot, exact_slot, group;
};

Answer vote(const engine::RecommendResult& r, std::size_t k) {
  std::vector<Vote> slots, exact, groups;
  for (std::size_t i = 0; i < r.similar.size() && i < k; ++i) {
    const catalog::Item& item = *r.similar[i].item;
    slots.push_back({merged(item.slot), r.similar[i].score});
    exact.push_back({std::string(catalog::slot_name(item.slot)), r.similar[i].score});
    groups.push_back({std::string(type_group_of_family(item.family)), r.similar[i].score});
  }
  return {weighted_vote(slots), weighted_vote(exact), weighted_vote(groups)};
}

/// Accumulates one row.
struct Tally {
  std::size_t pieces = 0, typed = 0, slot = 0, exact = 0, type = 0, truth_pieces = 0, found = 0;
  double ms = 0;
  std::size_t photos = 0;
  std::map<std::string, std::size_t> confusion;  ///< "truth slot -> answered slot": count
  void add(const Answer& a, const Truth& t) {
    ++confusion[(t.slot ? merged(*t.slot) : std::string("no garment")) + " -> " +
                (a.slot.empty() ? std::string("none") : a.slot)];
    ++pieces;
    if (t.slot) {
      slot += a.slot == merged(*t.slot);
      exact += a.exact_slot == catalog::slot_name(*t.slot);
    }
    if (!t.group.empty()) {
      ++typed;
      type += a.group == t.group;
    }
  }
  WornRow row(std::string set, std::string method) const {
    WornRow r;
    r.set = std::move(set);
    r.method = std::move(method);
    r.pieces = pieces;
    r.typed = typed;
    const auto share = [](std::size_t a, std::size_t b) { return b == 0 ? 0.0 : static_cast<double>(a) / b; };
    r.slot_accuracy = share(slot, pieces);
    r.exact_slot = share(exact, pieces);
    r.type_accuracy = share(type, typed);
    r.truth_pieces = truth_pieces;
    r.found = share(found, truth_pieces);
    r.ms_per_photo = photos == 0 ? 0.0 : ms / static_cast<double>(photos);
    r.confusion = confusion;
    return r;
  }
};

double iou(const cv::Mat& a, const cv::Mat& b) {
  const double inter = cv::countNonZero(a & b);
  const double uni = cv::countNonZero(a | b);
  return uni == 0 ? 0.0 : inter / uni;
}

/// A CCP photo at the size the engine decodes it, with its CCP labels (label numbers) and parse classes.
struct CcpPhoto {
  std::string id;
  cv::Mat rgb, labels, classes;
};

/// The truth of a region of a CCP photo: its most frequent garment label, when garments are at least
/// a third of it (a piece at the parser's 64x64 resolution spills over skin and ground around a shoe).
Truth ccp_truth(const CcpPhoto& p, const cv::Mat& mask, const train::CcpSet& set, bool outerwear_worn) {
  std::array<std::int64_t, 256> counts{};
  std::int64_t garment = 0, total = 0;
  for (int y = 0; y < mask.rows; ++y) {
    const auto* m = mask.ptr<std::uint8_t>(y);
    const auto* l = p.labels.ptr<std::uint8_t>(y);
    const auto* c = p.classes.ptr<std::uint8_t>(y);
    for (int x = 0; x < mask.cols; ++x) {
      if (m[x] == 0) continue;
      ++total;
      if (!engine::is_garment(static_cast<ParseClass>(c[x]))) continue;
      ++garment;
      ++counts[l[x]];
    }
  }
  Truth t;
  if (total == 0 || 3 * garment < total) return t;
  const auto label = static_cast<std::size_t>(std::ranges::max_element(counts) - counts.begin());
  const std::string& name = set.label_names.at(label);
  const auto cls = train::ccp_class(name);
  if (cls) t.slot = engine::slot_of(*cls, outerwear_worn);
  t.group = std::string(type_group_of_ccp_label(name));
  return t;
}

/// The pieces a class map holds, as a parse (a perfect parser's answer).
engine::ParseResult parse_of(const cv::Mat& classes) {
  engine::ParseResult r;
  r.classes = classes;
  r.pieces = engine::pieces_of(classes);
  return r;
}

}  // namespace

std::string_view type_group_of_family(std::string_view f) {
  static const std::map<std::string_view, std::string_view> table = {
      {"Trousers", "bottoms"},    {"Skirts", "bottoms"},         {"Jeans", "bottoms"},
      {"Shorts", "bottoms"},      {"Leggings and joggers", "bottoms"},
      {"Jackets", "outerwear"},   {"Coats", "outerwear"},        {"Blazers", "outerwear"},
      {"Puffer coats", "outerwear"}, {"Trenchcoats", "outerwear"}, {"Leather jackets", "outerwear"},
      {"Outer Vest", "outerwear"}, {"Parkas", "outerwear"},      {"Cardigans", "outerwear"},
      {"Shirt", "tops"},          {"Sweater", "tops"},           {"T-shirt", "tops"},
      {"Tops", "tops"},           {"Sweatshirts", "tops"},       {"Vest", "tops"},
      {"Bodysuits", "tops"},      {"Poloshirts", "tops"},
      {"Dresses", "dresses"},     {"Jumpsuit", "dresses"},
      {"Footwear", "footwear"},   {"Bags", "bags"}};
  const auto it = table.find(f);
  return it == table.end() ? std::string_view() : it->second;
}

std::string_view type_group_of_ccp_label(std::string_view l) {
  static const std::map<std::string_view, std::string_view> table = {
      {"jeans", "bottoms"},   {"leggings", "bottoms"},  {"pants", "bottoms"},    {"shorts", "bottoms"},
      {"skirt", "bottoms"},   {"blazer", "outerwear"},  {"cape", "outerwear"},   {"cardigan", "outerwear"},
      {"coat", "outerwear"},  {"jacket", "outerwear"},  {"suit", "outerwear"},   {"blouse", "tops"},
      {"bodysuit", "tops"},   {"hoodie", "tops"},       {"jumper", "tops"},      {"shirt", "tops"},
      {"sweater", "tops"},    {"sweatshirt", "tops"},   {"t-shirt", "tops"},     {"top", "tops"},
      {"vest", "tops"},       {"dress", "dresses"},     {"romper", "dresses"},   {"boots", "footwear"},
      {"clogs", "footwear"},  {"flats", "footwear"},    {"heels", "footwear"},   {"loafers", "footwear"},
      {"pumps", "footwear"},  {"sandals", "footwear"},  {"shoes", "footwear"},   {"sneakers", "footwear"},
      {"wedges", "footwear"}, {"bag", "bags"},          {"purse", "bags"}};
  const auto it = table.find(l);
  return it == table.end() ? std::string_view() : it->second;
}

WornReport run_worn(const engine::Workspace& workspace, const WornOptions& options) {
  const auto t0 = Clock::now();
  WornReport report;
  report.options = options;
  engine::RecommenderConfig config;
  config.model = options.model;
  auto rec = engine::Recommender::open(workspace, config);
  auto pieces = engine::PieceSearch::open(workspace, *rec);
  pieces->set_min_confidence(options.min_confidence);
  pieces->set_min_likelihood(options.min_likelihood);
  if (!pieces->has_parser()) {
    throw Error(fmt::format("{}: no parsing model; run `mystyle train --model parse` first",
                            workspace.model_file("parse").string()),
                ErrorKind::kNotFound);
  }
  const std::filesystem::path ccp_root = options.ccp.empty() ? datasets_dir() / "ccp" : options.ccp;
  const train::CcpSet set = train::load_ccp(ccp_root);

  engine::RecommendRequest request;
  request.k = options.k;
  request.max_outfits = 1;

  // Held-out MANGO garments to paste: one parse class each, a plain-backdrop mask.
  std::vector<const catalog::Item*> garments;
  for (const catalog::Item& item : rec->graph().items()) {
    if (!item.image_path || !catalog::is_held_out_design(item, options.split_seed)) continue;
    const auto cls = train::parse_class_of_item(item);
    if (!cls || *cls == ParseClass::kAccessory || *cls == ParseClass::kLegwear) continue;
    garments.push_back(&item);
  }

  std::vector<const train::CcpPhoto*> held_out;
  for (const auto& p : set.annotated) {
    if (train::ccp_held_out(p.id, options.parse_split_seed) != options.training_photos) held_out.push_back(&p);
  }
  if (options.limit > 0 && held_out.size() > options.limit) held_out.resize(options.limit);

  Tally ours, whole, oracle, p_ours, p_whole, p_oracle;
  nn::Rng rng(options.seed);
  Progress progress("worn pieces", static_cast<std::int64_t>(held_out.size()), "photos");
  for (const train::CcpPhoto* photo : held_out) {
    const std::string bytes = read_file_bytes(photo->photo);
    CcpPhoto p;
    p.id = photo->id;
    p.rgb = rec->decode({reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()}, photo->photo.string());
    cv::resize(train::read_label_map(*photo), p.labels, p.rgb.size(), 0, 0, cv::INTER_NEAREST);
    p.classes = train::classes_of_labels(set, p.labels, photo->label_map);
    const bool outerwear = cv::countNonZero(p.classes == static_cast<int>(ParseClass::kOuterwear)) > 0;
    std::vector<engine::ParsePiece> truth_pieces;
    for (auto& tp : engine::pieces_of(p.classes)) {
      if (tp.slot && ccp_truth(p, tp.mask, set, outerwear).slot) truth_pieces.push_back(std::move(tp));
    }
    ++report.photos;

    // Ours: the serving path.
    auto t = Clock::now();
    const engine::PiecesResult found = pieces->find(p.rgb, p.id, request);
    ours.ms += ms_since(t);
    ++ours.photos;
    for (const auto& piece : found.pieces) {
      if (!piece.sold) continue;
      const Truth truth = found.worn ? ccp_truth(p, piece.region.mask, set, outerwear)
                                     : (truth_pieces.empty() ? Truth{}
                                                             : ccp_truth(p, truth_pieces.front().mask, set, outerwear));
      const Answer answer = vote(piece.match, options.k);
      ours.add(answer, truth);
      report.pieces.push_back({p.id, found.worn ? std::string(engine::parse_class_name(piece.region.part)) : "",
                               piece.region.share, piece.region.confidence,
                               truth.slot ? merged(*truth.slot) : "", answer.slot, truth.group, answer.group});
    }
    for (const auto& tp : truth_pieces) {
      ++ours.truth_pieces;
      const bool hit = std::ranges::any_of(found.pieces, [&](const engine::PhotoPiece& fp) {
        return found.worn && fp.region.slot && merged(*fp.region.slot) == merged(*tp.slot) &&
               iou(fp.region.mask, tp.mask) >= 0.3;
      });
      ours.found += hit;
    }

    // Today's engine: the whole photo one garment, its one answer judged against every garment worn.
    t = Clock::now();
    const Answer whole_answer = vote(rec->recommend(p.rgb, p.id, request), options.k);
    whole.ms += ms_since(t);
    ++whole.photos;
    for (const auto& tp : truth_pieces) {
      const Truth truth = ccp_truth(p, tp.mask, set, outerwear);
      whole.add(whole_answer, truth);
      ++whole.truth_pieces;
      whole.found += whole_answer.slot == merged(*truth.slot);
    }

    // A perfect parser: the labels' own regions, cut out and searched.
    t = Clock::now();
    const engine::PiecesResult labelled = pieces->search_parsed(p.rgb, p.id, request, parse_of(p.classes));
    oracle.ms += ms_since(t);
    ++oracle.photos;
    for (const auto& piece : labelled.pieces) {
      if (piece.sold) oracle.add(vote(piece.match, options.k), ccp_truth(p, piece.region.mask, set, outerwear));
    }
    oracle.truth_pieces += truth_pieces.size();
    oracle.found += truth_pieces.size();

    // A held-out MANGO garment pasted onto this person.
    if (!garments.empty()) {
      for (int attempt = 0; attempt < 5; ++attempt) {
        const catalog::Item& item = *garments[rng.next_u64() % garments.size()];
        const cv::Mat g = image::read_image(*item.image_path, {}, 0);
        const cv::Mat mask = train::studio_garment_mask(g);
        if (cv::countNonZero(mask) == 0) continue;
        const ParseClass cls = *train::parse_class_of_item(item);
        const train::PastedPhoto pasted = train::paste_garment(p.rgb, p.classes, g, mask, cls, rng);
        if (pasted.box.empty()) continue;
        const cv::Mat region = pasted.classes == static_cast<int>(cls);
        const Truth truth{item.slot, std::string(type_group_of_family(item.family))};
        t = Clock::now();
        const engine::PiecesResult pf = pieces->find(pasted.rgb, p.id, request);
        p_ours.ms += ms_since(t);
        ++p_ours.photos;
        // The parsed piece that covers the pasted garment best answers for it.
        const engine::PhotoPiece* best = nullptr;
        double best_iou = 0.3;
        for (const auto& fp : pf.pieces) {
          const double o = fp.region.mask.empty() ? 0.0 : iou(fp.region.mask, region);
          if (fp.sold && o >= best_iou) {
            best = &fp;
            best_iou = o;
          }
        }
        if (!pf.worn && !pf.pieces.empty() && pf.pieces.front().sold) best = &pf.pieces.front();
        p_ours.add(best ? vote(best->match, options.k) : Answer{}, truth);
        ++p_ours.truth_pieces;
        p_ours.found += best != nullptr && pf.worn && merged(*best->region.slot) == merged(item.slot);

        t = Clock::now();
        p_whole.add(vote(rec->recommend(pasted.rgb, p.id, request), options.k), truth);
        p_whole.ms += ms_since(t);
        ++p_whole.photos;

        const engine::PiecesResult po = pieces->search_parsed(pasted.rgb, p.id, request, parse_of(pasted.classes));
        const auto it = std::ranges::find_if(po.pieces, [&](const engine::PhotoPiece& fp) {
          return fp.sold && fp.region.part == cls;
        });
        p_oracle.add(it != po.pieces.end() ? vote(it->match, options.k) : Answer{}, truth);
        break;
      }
    }
    progress.advance();
  }
  progress.finish();

  // CCP's photos tagged only (never labelled per pixel, so never in the parser's training): each garment
  // the tags name, like a product named for a photo of it worn, should be a piece of its slot.
  Tally t_ours, t_whole;
  std::size_t named_unsure = 0;  // named garments found only by naming a piece the parser was unsure of
  {
    std::vector<train::CcpTagged> tagged = train::load_ccp_tagged(ccp_root);
    if (options.tagged_limit != 0) tagged.resize(std::min(tagged.size(), options.tagged_limit));
    Progress tag_progress("tagged photos", static_cast<std::int64_t>(tagged.size()), "photos");
    for (const auto& [id, path, tags] : tagged) {
      const std::string bytes = read_file_bytes(path);
      const cv::Mat rgb = rec->decode({reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()}, path.string());
      auto t = Clock::now();
      const engine::PiecesResult found = pieces->find(rgb, id, request);
      t_ours.ms += ms_since(t);
      ++t_ours.photos;
      t = Clock::now();
      const Answer whole_answer = vote(rec->recommend(rgb, id, request), options.k);
      t_whole.ms += ms_since(t);
      ++t_whole.photos;
      std::vector<std::string> seen;  // one answer per slot and group named
      for (const std::string& tag : tags) {
        const auto cls = train::ccp_class(tag);
        if (!cls || !engine::is_garment(*cls)) continue;
        const auto slot = engine::slot_of(*cls);
        if (!slot || *cls == ParseClass::kAccessory || *cls == ParseClass::kLegwear) continue;
        const Truth truth{slot, std::string(type_group_of_ccp_label(tag))};
        const std::string key = merged(*slot) + "/" + truth.group;
        if (std::ranges::find(seen, key) != seen.end()) continue;
        seen.push_back(key);
        // The piece the shopper would pick: the largest of the named garment's slot, or, when the parser
        // was unsure of it, the one the shopper names by its class (`--piece CLASS`, `piece=`).
        const auto piece = std::ranges::find_if(found.pieces, [&](const engine::PhotoPiece& p) {
          return found.worn && p.sold && p.region.slot && merged(*p.region.slot) == merged(*slot);
        });
        const auto unsure = std::ranges::find_if(found.unsure, [&](const engine::ParsePiece& p) {
          return p.slot && merged(*p.slot) == merged(*slot);
        });
        Answer a;
        if (piece != found.pieces.end()) {
          a = vote(piece->match, options.k);
        } else if (found.worn && unsure != found.unsure.end()) {
          engine::PieceChoice named;
          named.part = unsure->part;
          const engine::PiecesResult chosen = pieces->find(rgb, id, request, named);
          if (const auto* top = chosen.top(); top && chosen.pieces[*chosen.chosen].region.part == unsure->part) {
            a = vote(*top, options.k);
            ++named_unsure;
          }
        } else if (!found.worn && !found.pieces.empty()) {
          a = vote(found.pieces.front().match, options.k);
        }
        t_ours.add(a, truth);
        t_whole.add(whole_answer, truth);
      }
      tag_progress.advance();
    }
    tag_progress.finish();
  }

  const std::string ccp_set = options.training_photos ? "CCP TRAINING (tuning only)" : "CCP held-out";
  report.rows.push_back(ours.row(ccp_set, "pieces parsed (ours)"));
  report.rows.push_back(whole.row(ccp_set, "whole photo, one garment (before)"));
  report.rows.push_back(oracle.row(ccp_set, "pieces from the labels (a perfect parser)"));
  if (p_ours.pieces > 0) {
    report.rows.push_back(p_ours.row("MANGO held-out pasted on " + ccp_set, "pieces parsed (ours)"));
    report.rows.push_back(p_whole.row("MANGO held-out pasted on " + ccp_set, "whole photo, one garment (before)"));
    report.rows.push_back(p_oracle.row("MANGO held-out pasted on " + ccp_set, "pieces from the labels (a perfect parser)"));
  }

  if (t_ours.pieces > 0) {
    report.rows.push_back(t_ours.row("CCP tagged only (named garments)", "the named slot's piece (ours)"));
    report.tagged_named_unsure = named_unsure;
    report.rows.push_back(t_whole.row("CCP tagged only (named garments)", "whole photo, one garment (before)"));
  }

  // Studio: held-out MANGO designs' own photos, their design left out of the answer.
  std::vector<const catalog::Item*> studio = garments;
  std::ranges::sort(studio, {}, [&](const catalog::Item* i) { return mix64(options.seed ^ static_cast<std::uint64_t>(i->id)); });
  if (studio.size() > options.studio_limit) studio.resize(options.studio_limit);
  Tally s;
  engine::RecommendRequest wide = request;
  wide.k = std::min<std::size_t>(engine::RecommendRequest::kMaxK, options.k + 20);
  for (const catalog::Item* item : studio) {
    const auto t = Clock::now();
    engine::RecommendResult r = rec->recommend_file(*item->image_path, wide);
    s.ms += ms_since(t);
    ++s.photos;
    const std::string design = catalog::design_of(item->source_id);
    std::erase_if(r.similar, [&](const engine::SimilarResult& x) {
      return x.item->source == item->source && catalog::design_of(x.item->source_id) == design;
    });
    s.add(vote(r, options.k), Truth{item->slot, std::string(type_group_of_family(item->family))});
  }
  if (s.pieces > 0) report.rows.push_back(s.row("MANGO held-out studio photos", "the photo (own design left out)"));
  report.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  return report;
}

nlohmann::json to_json(const WornReport& r) {
  nlohmann::json rows = nlohmann::json::array();
  for (const WornRow& w : r.rows) {
    rows.push_back({{"set", w.set},
                    {"method", w.method},
                    {"pieces", w.pieces},
                    {"typed", w.typed},
                    {"slot_accuracy", w.slot_accuracy},
                    {"exact_slot_accuracy", w.exact_slot},
                    {"type_group_accuracy", w.type_accuracy},
                    {"truth_pieces", w.truth_pieces},
                    {"found", w.found},
                    {"ms_per_photo", w.ms_per_photo},
                    {"confusion", w.confusion}});
  }
  nlohmann::json pieces = nlohmann::json::array();
  for (const WornPieceRecord& p : r.pieces) {
    pieces.push_back({{"photo", p.photo}, {"class", p.part}, {"share", p.share}, {"confidence", p.confidence},
                      {"truth_slot", p.truth_slot}, {"answer_slot", p.answer_slot},
                      {"truth_group", p.truth_group}, {"answer_group", p.answer_group}});
  }
  return {{"kind", "worn"},
          {"model", r.options.model},
          {"k", r.options.k},
          {"ccp_photos", r.photos},
          {"parse_split_seed", r.options.parse_split_seed},
          {"split_seed", r.options.split_seed},
          {"seed", r.options.seed},
          {"min_confidence", r.options.min_confidence},
          {"min_likelihood", r.options.min_likelihood},
          {"tagged_named_unsure", r.tagged_named_unsure},
          {"rows", rows},
          {"ccp_pieces", pieces},
          {"seconds", r.seconds}};
}

std::string format_table(const WornReport& r) {
  std::string out = fmt::format(
      "worn pieces: top-{} vote of each piece's matches ({} held-out CCP photos; slot: main_top = inner_top)\n",
      r.options.k, r.photos);
  out += fmt::format("{:<30} {:<44} {:>6} {:>6} {:>6} {:>6} {:>7} {:>8}\n", "set", "method", "pieces", "slot",
                     "exact", "type", "found", "ms/photo");
  for (const WornRow& w : r.rows) {
    out += fmt::format("{:<30} {:<44} {:>6} {:>6.3f} {:>6.3f} {:>6.3f} {:>7} {:>8.1f}\n", w.set, w.method, w.pieces,
                       w.slot_accuracy, w.exact_slot, w.type_accuracy,
                       w.truth_pieces == 0 ? std::string("-") : fmt::format("{:.3f}", w.found), w.ms_per_photo);
  }
  out += fmt::format("pieces less than {} likely to be right (the parse model's rule) are left out; {} tag-named "
                     "garments were found by naming such a piece's class\n",
                     r.options.min_likelihood, r.tagged_named_unsure);
  out += "type: of the pieces with a type group (bottoms, outerwear, tops, dresses, footwear, bags); found: garments "
         "of the truth a piece of the right slot covers (IoU >= 0.3)";
  return out;
}

}  // namespace mystyle::eval
