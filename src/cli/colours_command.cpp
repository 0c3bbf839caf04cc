// `mystyle colours ITEM`: this piece in other colours: its design's other colours, then the nearest
// items of its type in a colour family (docs/colour.md, "Ask by colour").
#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <memory>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "mystyle/core/error.h"
#include "mystyle/engine/colour_query.h"
#include "mystyle/engine/other_colours.h"

namespace mystyle::cli {
namespace {

struct Args {
  std::filesystem::path workspace;
  std::string item;
  std::string model = engine::kDefaultModel;
  std::optional<std::string> colour;
  std::size_t k = 10;
  bool json = false;
};

/// ITEM as a catalog id (all digits) or, else, a source id ("53000586-TO"); the error names ITEM.
std::int64_t item_id_of(const recommend::OutfitGraph& graph, const std::string& text) {
  std::int64_t id = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), id);
  if (ec == std::errc() && end == text.data() + text.size()) {
    if (graph.item(id) == nullptr)
      throw Error(fmt::format("ITEM: no item with id {}", id), ErrorKind::kNotFound);
    return id;
  }
  const catalog::Item* found = nullptr;
  for (const catalog::Item& item : graph.items()) {
    if (item.source_id != text) continue;
    if (found != nullptr) {
      throw Error(fmt::format("ITEM: '{}' is a product of {} and of {}: give its catalog id ({} or {})", text,
                              found->source, item.source, found->id, item.id),
                  ErrorKind::kInvalidInput);
    }
    found = &item;
  }
  if (found == nullptr) {
    throw Error(fmt::format("ITEM: no item with id or product code '{}'", text), ErrorKind::kNotFound);
  }
  return found->id;
}

std::string score_text(const std::optional<double>& score) {
  return score ? fmt::format("{:.4f}", *score) : "-";
}

std::string type_of(const catalog::Item& it) {
  return it.type.empty() ? it.name : it.type;
}

void print_table(const engine::OtherColours& r, const engine::OtherColoursRequest& req) {
  const catalog::Item& it = *r.item;
  print_line(fmt::format("{} (item {}): {}, {}  {}", it.source_id, it.id, type_of(it),
                         catalog::colour_label(it), it.shop_url));
  print_line("\nsame design, other colours (cosine to its photo):");
  if (r.same_design.empty()) print_line("  none: the catalog has no other colour of this design");
  for (const auto& m : r.same_design) {
    print_line(fmt::format("  {:>8}  {:<14} {:<22} {:<22} {}", score_text(m.score), m.item->source_id,
                           type_of(*m.item), catalog::colour_label(*m.item), m.item->shop_url));
  }
  const std::string family = req.colour_family          ? *req.colour_family
                             : it.colour_family.empty() ? std::string("a known colour")
                                                        : "another colour than " + it.colour_family;
  print_line(fmt::format("\nnearest {} of other designs in {} (cosine):", type_of(it), family));
  if (r.nearest.empty()) {
    print_line(r.item->image_path ? "  none of this type in that colour"
                                  : "  none: the item has no photo to compare");
  }
  for (std::size_t i = 0; i < r.nearest.size(); ++i) {
    const auto& m = r.nearest[i];
    print_line(fmt::format("  {:>3}  {:>8}  {:<14} {:<22} {:<22} {}", i + 1, score_text(m.score),
                           m.item->source_id, type_of(*m.item), catalog::colour_label(*m.item),
                           m.item->shop_url));
  }
}

}  // namespace

void add_colours_command(CLI::App& app) {
  auto args = std::make_shared<Args>();
  CLI::App* cmd = app.add_subcommand("colours",
                                     "This piece in other colours: its design's other colours, then the "
                                     "nearest items of its type in a colour");
  add_workspace_option(*cmd, args->workspace);
  cmd->add_option("ITEM", args->item,
                  "The item: its catalog id (item_id in the JSON) or its product code (source id)")
      ->required();
  cmd->add_option(
      "--colour", args->colour,
      "The colour family of the nearest items (black, white, grey, beige, brown, metallic, blue, green, "
      "yellow, orange, red, pink, purple, multi; any case, or a colour name such as navy); default: any "
      "colour but the item's own");
  cmd->add_option("-k", args->k, "Nearest items to list")
      ->check(CLI::Range(std::size_t{1}, engine::OtherColoursRequest::kMaxK))
      ->capture_default_str();
  cmd->add_option("--model", args->model, "Trained model")->capture_default_str();
  cmd->add_flag("--json", args->json, "Print the result as the JSON document of docs/api.md");
  cmd->callback([args] {
    engine::OtherColoursRequest req;
    if (args->colour) req.colour_family = engine::parse_colour_query(*args->colour, "--colour");
    req.k = args->k;
    engine::RecommenderConfig config;
    config.model = args->model;
    const engine::Workspace ws(args->workspace);
    const auto rec = engine::Recommender::open(ws, config);
    const auto found = engine::find_other_colours(*rec, item_id_of(rec->graph(), args->item), req);
    if (args->json) {
      print_line(engine::other_colours_json(found, req).dump(2));
    } else {
      print_table(found, req);
    }
  });
}

}  // namespace mystyle::cli
