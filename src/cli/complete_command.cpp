// `mystyle complete PHOTO`: what to wear with the photographed piece, from the learned
// compatibility model: the best pieces per slot and whole outfits around it.
#include <fmt/format.h>

#include <algorithm>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>

#include "commands.h"
#include "mystyle/core/error.h"
#include "mystyle/core/file_io.h"
#include "mystyle/engine/colour_query.h"
#include "mystyle/engine/completer.h"

namespace mystyle::cli {
namespace {

struct Args {
  std::filesystem::path workspace, photo;
  std::string model = engine::kDefaultModel;
  std::string slots;
  std::size_t outfits = 3, per_slot = 5;
  std::optional<std::string> category, colour, slot, piece;
  bool json = false;
};

catalog::Slot slot_or_throw(const std::string& name) {
  const auto slot = catalog::parse_slot(name);
  if (!slot) {
    std::string known;
    for (const auto s : catalog::kAllSlots) known += (known.empty() ? "" : ", ") + std::string(catalog::slot_name(s));
    throw Error(fmt::format("unknown slot '{}' (known: {})", name, known), ErrorKind::kInvalidInput);
  }
  return *slot;
}

void print_table(const engine::Recommender& rec, const engine::CompleteResponse& r, const engine::CompleteRequest& req) {
  const auto& graph = rec.graph();
  if (r.pieces && r.pieces->worn) {
    const auto& found = *r.pieces;
    print_line(fmt::format("{}: a person wearing {} piece{}", found.name, found.pieces.size(),
                           found.pieces.size() == 1 ? "" : "s"));
    for (std::size_t i = 0; i < found.pieces.size(); ++i) {
      const auto& p = found.pieces[i];
      const auto w = std::ranges::find(r.worn, i, &engine::WornPiece::index);
      const std::string role = !p.sold ? "not sold by this catalog"
                               : (w != r.worn.end() && w->replaced) ? "to replace"
                                                                    : "kept";
      const auto* it = p.sold && !p.match.similar.empty() ? p.match.similar.front().item : nullptr;
      print_line(fmt::format("  {} {:<10} {:<10} {:<10} {}", i, engine::parse_class_name(p.region.part),
                             p.region.slot ? catalog::slot_name(*p.region.slot) : "-", role,
                             it ? fmt::format("closest: {} {} {} {}", it->source_id, it->type,
                                              catalog::colour_label(*it), it->shop_url)
                                : std::string()));
    }
    if (!r.note.empty()) {
      print_line(r.note);
      return;
    }
  }
  const auto* best = r.match.similar.empty() ? nullptr : r.match.similar.front().item;
  print_line(fmt::format("query {}: slot {} ({}){}; {:.1f} ms (decode+preprocess {:.1f}, encode {:.1f}, match {:.1f}, "
                         "compat {:.1f}, search {:.1f})",
                         r.match.query_name, catalog::slot_name(r.query_slot),
                         r.slot_from_request ? "as asked" : (r.pieces && r.pieces->worn) ? (std::ranges::any_of(r.worn, [](const engine::WornPiece& w) { return w.replaced; }) ? "the piece to replace" : "the largest piece worn") : "from the best match",
                         best ? fmt::format(", best match {} {}", best->source_id, best->type) : "", r.total_ms(),
                         r.match.decode_ms, r.match.encode_ms, r.match.search_ms + r.match.outfits_ms, r.compat_ms,
                         r.search_ms));
  if (r.result.slots.empty()) {
    print_line("\nno slot to fill: no outfit holds a piece of this slot, or no candidate passed the filters");
    return;
  }
  print_line(fmt::format("\nbest pieces per slot{} ({}, cosine):",
                         req.colour_family ? ", colour " + *req.colour_family : std::string(),
                         r.worn.empty() ? "compatibility with your piece" : "mean compatibility with what you wear"));
  for (const auto& c : r.result.candidates) {
    print_line(fmt::format("  {}:", catalog::slot_name(c.slot)));
    for (const auto& p : c.pieces) {
      const auto* it = graph.item(p.item);
      print_line(fmt::format("    {:>6.3f}  {:<14} {:<24} {:<22} {}", p.with_query, it->source_id,
                             it->type.empty() ? it->name : it->type, catalog::colour_label(*it),
                             it->shop_url));
    }
  }
  print_line("\noutfits (score: mean over every pair, your piece included):");
  if (r.result.outfits.empty()) print_line("  none asked (--outfits 0)");
  for (std::size_t i = 0; i < r.result.outfits.size(); ++i) {
    const auto& o = r.result.outfits[i];
    print_line(fmt::format("  {}. score {:.3f}", i + 1, o.score));
    for (const auto& p : o.pieces) {
      const auto* it = graph.item(p.item);
      print_line(fmt::format("       {:<10} {:<14} {:<24} {:<22} {}", catalog::slot_name(p.slot),
                             it->source_id, it->type.empty() ? it->name : it->type,
                             catalog::colour_label(*it), it->shop_url));
    }
    std::string why;
    for (std::size_t k = 0; k < o.pairs.size() && k < 2; ++k) {
      const auto& pr = o.pairs[k];
      const std::string a = pr.a < 0 ? (r.worn.empty() ? "your piece" : "what you wear") : std::string(catalog::slot_name(o.pieces[static_cast<std::size_t>(pr.a)].slot));
      why += fmt::format("{}{} + {} {:.2f}", why.empty() ? "" : ", ", a,
                         catalog::slot_name(o.pieces[static_cast<std::size_t>(pr.b)].slot), pr.score);
    }
    print_line(fmt::format("       why: {}", why));
  }
}

}  // namespace

void add_complete_command(CLI::App& app) {
  auto args = std::make_shared<Args>();
  CLI::App* cmd = app.add_subcommand(
      "complete", "Complete the look: the catalog pieces that go with PHOTO in every other slot, and whole outfits");
  add_workspace_option(*cmd, args->workspace);
  cmd->add_option("PHOTO", args->photo, "Photo of a garment, or of a person wearing an outfit (JPEG, PNG, WebP, BMP)")->required();
  cmd->add_option("--slots", args->slots,
                  "Slots to fill, comma-separated (e.g. main_top,bottom,shoes,bag; default: those usually worn "
                  "with the photo's slot)");
  cmd->add_option("--outfits", args->outfits, "Whole outfits to propose (0 = only the pieces per slot)")
      ->check(CLI::Range(std::size_t{0}, engine::CompleteRequest::kMaxOutfits))
      ->capture_default_str();
  cmd->add_option("--per-slot", args->per_slot, "Pieces listed per slot")
      ->check(CLI::Range(std::size_t{1}, engine::CompleteRequest::kMaxPerSlot))
      ->capture_default_str();
  cmd->add_option("--category", args->category, "Only pieces of this catalog category");
  cmd->add_option("--colour", args->colour,
                  "Only pieces of this colour family in the slots filled (black, white, grey, beige, brown, metallic, "
                  "blue, green, yellow, orange, red, pink, purple, multi; any case, or a colour name such as navy)");
  cmd->add_option("--slot", args->slot, "The photo's slot (default: its best match's)");
  cmd->add_option("--piece", args->piece,
                  "A photo of a person: the worn piece to replace (by number or class); default: keep every "
                  "worn piece and fill the other slots");
  cmd->add_option("--model", args->model, "Image model (the compat model must have been trained on it)")
      ->capture_default_str();
  cmd->add_flag("--json", args->json, "Print the result as the JSON document of docs/api.md");
  cmd->callback([args] {
    engine::CompleteRequest req;
    std::stringstream list(args->slots);
    for (std::string name; std::getline(list, name, ',');) {
      if (!name.empty()) req.slots.push_back(slot_or_throw(name));
    }
    req.outfits = args->outfits;
    req.per_slot = args->per_slot;
    req.category = args->category;
    if (args->colour) req.colour_family = engine::parse_colour_query(*args->colour, "--colour");
    if (args->slot) req.slot = slot_or_throw(*args->slot);
    if (args->piece) req.piece = engine::PieceChoice::parse(*args->piece);
    engine::RecommenderConfig config;
    config.model = args->model;
    const engine::Workspace ws(args->workspace);
    auto rec = engine::Recommender::open(ws, config);
    auto completer = engine::Completer::open(ws, *rec);
    auto pieces = engine::PieceSearch::open(ws, *rec);
    const std::string bytes = read_file_bytes(args->photo, config.limits.max_bytes);
    const auto result = completer->complete({reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()},
                                            args->photo.string(), req, pieces.get());
    if (args->json) {
      print_line(completer->to_json(result, req).dump(2));
    } else {
      print_table(*rec, result, req);
    }
  });
}

}  // namespace mystyle::cli
