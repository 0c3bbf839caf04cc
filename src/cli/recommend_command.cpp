// `mystyle recommend PHOTO`: the product's main job, from the command line.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cmath>
#include <memory>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "mystyle/core/error.h"
#include "mystyle/core/file_io.h"
#include "mystyle/engine/colour_query.h"
#include "mystyle/engine/photo_views.h"
#include "mystyle/engine/pieces.h"
#include "mystyle/engine/recommender.h"

namespace mystyle::cli {
namespace {

struct Args {
  std::filesystem::path workspace, photo;
  std::string model = engine::kDefaultModel, pooling = "flat", index = "exact", metric = "cosine", mode = "ranked";
  std::size_t k = 10, outfits = 9;
  std::optional<std::string> category, colour, slot, in_slot, piece;
  bool same_slot = false, json = false;
};

std::string score_text(double score) { return std::isfinite(score) ? fmt::format("{:.4f}", score) : "inf"; }

void print_table(const engine::Recommender& rec, const engine::RecommendResult& r, const engine::RecommendRequest& req) {
  const auto& box = r.query.object_box;
  print_line(fmt::format("query {}: object at {},{} {}x{}{}; slot {}; {:.1f} ms (decode+preprocess {:.1f}, encode {:.1f}, "
                         "search {:.1f}, outfits {:.1f})",
                         r.query_name, box.x, box.y, box.width, box.height,
                         r.query.background_painted ? " (busy background painted out)" : "",
                         r.query_slot ? catalog::slot_name(*r.query_slot) : "?", r.decode_ms + r.encode_ms + r.search_ms + r.outfits_ms,
                         r.decode_ms, r.encode_ms, r.search_ms, r.outfits_ms));
  if (r.attributes) {
    print_line(fmt::format("the photo's colour: {} ({:.0f}%); its type: {} ({:.0f}%)", r.attributes->colour_family,
                           100 * r.attributes->colour_confidence, r.attributes->type_name,
                           100 * r.attributes->type_confidence));
  }
  print_line(fmt::format("\nsimilar items ({}{}{}):", index::metric_name(req.metric),
                         req.colour_family ? ", colour " + *req.colour_family : std::string(),
                         r.reranked ? ", ordered by the colour model's family and type" : ""));
  print_line(fmt::format("  {:>3}  {:>8}  {:<16} {:<14} {:<22} {:<22} {:<10} {:<10} {}", "#", "score",
                         "match", "product", "type", "colour", "slot", "matched", "shop"));
  for (std::size_t i = 0; i < r.similar.size(); ++i) {
    const auto& it = *r.similar[i].item;
    const auto& m = r.similar[i].match;
    const std::string match = m ? fmt::format("{} {:>3.0f}%", m->label, 100 * m->same_type_percentile) : "-";
    print_line(fmt::format("  {:>3}  {:>8}  {:<16} {:<14} {:<22} {:<22} {:<10} {:<10} {}", i + 1,
                           score_text(r.similar[i].score), match, it.source_id,
                           it.type.empty() ? it.name : it.type, catalog::colour_label(it),
                           catalog::slot_name(it.slot), engine::view_name(r.similar[i].view), it.shop_url));
  }
  if (!r.similar.empty() && r.similar.front().match) {
    print_line("  match: the share of the catalog's same-type pairs this score beats (very close: at least the "
               "median look-alike's; close: top 80%; related: top 10% of random pairs; else weak)");
  }
  print_line(fmt::format("\noutfits ({}):", req.mode == recommend::CoordinationMode::kRanked ? "ranked" : "seed"));
  if (r.outfits.empty()) print_line("  none: no similar item appears in an outfit");
  for (std::size_t i = 0; i < r.outfits.size(); ++i) {
    const auto& o = r.outfits[i];
    std::string why;
    for (const auto& m : o.matches) {
      why += fmt::format("{}#{} {} as {}", why.empty() ? "" : ", ", m.rank + 1, rec.graph().item(m.item_id)->source_id,
                         catalog::slot_name(m.slot));
    }
    print_line(fmt::format("  {}. outfit {} (score {:.3f}): matched {}", i + 1, rec.graph().outfit(o.outfit_id)->source_id,
                           o.score, why));
    for (const auto& piece : o.others) {
      const auto* it = rec.graph().item(piece.item_id);
      if (it == nullptr) continue;
      print_line(fmt::format("       {:<10} {:<14} {:<22} {:<22} {}", catalog::slot_name(piece.slot),
                             it->source_id, it->type.empty() ? it->name : it->type,
                             catalog::colour_label(*it), it->shop_url));
    }
  }
}

/// A photo of a person: its pieces, each with its best matches, before the chosen piece's whole answer.
void print_pieces(const engine::PiecesResult& r) {
  if (!r.worn) return;
  print_line(fmt::format("{}: a person wearing {} piece{} (parsed in {:.1f} ms; {:.1f} ms in all)", r.name,
                         r.pieces.size(), r.pieces.size() == 1 ? "" : "s", r.parse ? r.parse->parse_ms : 0.0,
                         r.total_ms()));
  for (std::size_t i = 0; i < r.pieces.size(); ++i) {
    const auto& p = r.pieces[i];
    std::string best;
    for (std::size_t k = 0; k < p.match.similar.size() && k < 3; ++k) {
      const auto& it = *p.match.similar[k].item;
      best += fmt::format("{}{} {} {}", k == 0 ? "" : "; ", it.source_id, it.type.empty() ? it.name : it.type,
                          catalog::colour_label(it));
    }
    print_line(fmt::format("  {}{} {:<10} {:<10} box {},{} {}x{}  {:>4.1f}% of the photo  {}", r.chosen == i ? "*" : " ", i,
                           engine::parse_class_name(p.region.part),
                           p.region.slot ? catalog::slot_name(*p.region.slot) : "-", p.region.box.x, p.region.box.y,
                           p.region.box.width, p.region.box.height, 100 * p.region.share,
                           p.sold ? best : std::string("not sold by this catalog")));
  }
  if (!r.unsure.empty()) {
    std::vector<std::string> unsure;
    for (const auto& p : r.unsure) {
      unsure.push_back(fmt::format("{} ({:.0f}% likely)", engine::parse_class_name(p.part), 100 * p.likelihood));
    }
    print_line(fmt::format("  unsure, not searched (name one with --piece CLASS): {}", fmt::join(unsure, ", ")));
  }
  if (r.chosen) {
    print_line(fmt::format("  * the piece answered below (choose another with --piece N or --piece CLASS)\n"));
  }
}

}  // namespace

void add_recommend_command(CLI::App& app) {
  auto args = std::make_shared<Args>();
  CLI::App* cmd = app.add_subcommand("recommend", "Find the catalog items that look like PHOTO and the outfits they are in");
  add_workspace_option(*cmd, args->workspace);
  cmd->add_option("PHOTO", args->photo, "Photo of a garment, or of a person wearing an outfit (JPEG, PNG, WebP, BMP)")->required();
  cmd->add_option("--metric", args->metric, "Similarity")->check(CLI::IsMember({"cosine", "euclidean", "pearson"}))->capture_default_str();
  cmd->add_option("-k", args->k, "Similar items to find")
      ->check(CLI::Range(std::size_t{1}, engine::RecommendRequest::kMaxK))
      ->capture_default_str();
  cmd->add_option("--outfits", args->outfits, "Outfits to show (0 = all)")
      ->check(CLI::Range(std::size_t{0}, engine::RecommendRequest::kMaxOutfits))
      ->capture_default_str();
  cmd->add_option("--mode", args->mode, "ranked: scored and merged; seed: the original's rule")
      ->check(CLI::IsMember({"ranked", "seed"}))->capture_default_str();
  cmd->add_option("--category", args->category, "Only similar items of this catalog category");
  cmd->add_option("--colour", args->colour,
                  "Only similar items of this colour family (black, white, grey, beige, brown, metallic, blue, green, "
                  "yellow, orange, red, pink, purple, multi; any case, or a colour name such as navy)");
  cmd->add_flag("--same-slot", args->same_slot, "Only outfits where a similar piece fills the photo's slot");
  cmd->add_option("--slot", args->slot, "The photo's slot (default: the best match's)");
  cmd->add_option("--in-slot", args->in_slot,
                  "Only similar items of this slot (e.g. a piece cut out by `mystyle parse`)");
  cmd->add_option("--piece", args->piece,
                  "A photo of a person: the piece to answer, by number or class (default: the largest the catalog sells)");
  cmd->add_option("--model", args->model, "Trained model")->capture_default_str();
  cmd->add_option("--pooling", args->pooling, "Embeddings: flat or mean")->check(CLI::IsMember({"flat", "mean"}))->capture_default_str();
  cmd->add_option("--index", args->index, "exact or hnsw")->check(CLI::IsMember({"exact", "hnsw"}))->capture_default_str();
  cmd->add_flag("--json", args->json, "Print the result as the JSON document described in the README");
  cmd->callback([args] {
    // Read before the model loads: a bad colour costs nothing.
    std::optional<std::string> colour_family;
    if (args->colour) colour_family = engine::parse_colour_query(*args->colour, "--colour");
    engine::RecommenderConfig config;
    config.model = args->model;
    config.pooling = engine::parse_pooling(args->pooling);
    config.index = engine::parse_index_kind(args->index);
    config.hnsw_metric = index::parse_metric(args->metric);
    const engine::Workspace ws(args->workspace);
    auto rec = engine::Recommender::open(ws, config);
    auto pieces = engine::PieceSearch::open(ws, *rec);
    engine::RecommendRequest req;
    req.metric = index::parse_metric(args->metric);
    req.k = args->k;
    req.max_outfits = args->outfits;
    req.mode = args->mode == "seed" ? recommend::CoordinationMode::kSeed : recommend::CoordinationMode::kRanked;
    req.category = args->category;
    req.colour_family = colour_family;
    req.same_slot = args->same_slot;
    if (args->in_slot) {
      req.similar_slot = catalog::parse_slot(*args->in_slot);
      if (!req.similar_slot) throw Error(fmt::format("unknown slot '{}'", *args->in_slot));
    }
    if (args->slot) {
      req.slot = catalog::parse_slot(*args->slot);
      if (!req.slot) throw Error(fmt::format("unknown slot '{}'", *args->slot));
    }
    const engine::PieceChoice choice = args->piece ? engine::PieceChoice::parse(*args->piece) : engine::PieceChoice{};
    const std::string bytes = read_file_bytes(args->photo, config.limits.max_bytes);
    const auto result = pieces->find({reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()},
                                     args->photo.string(), req, choice);
    if (args->json) {
      print_line(pieces->to_json(result, req).dump(2));
      return;
    }
    print_pieces(result);
    if (const engine::RecommendResult* top = result.top()) {
      print_table(*rec, *top, req);
    } else {
      print_line(result.note);
    }
  });
}

}  // namespace mystyle::cli
