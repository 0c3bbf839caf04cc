// `mystyle import mango|aihub|csv`: bring a shop's catalog and outfit table into the workspace.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <memory>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "mystyle/catalog/import.h"

namespace mystyle::cli {
namespace {

struct ImportArgs {
  std::filesystem::path workspace;
  bool json = false;
  std::filesystem::path dir, outfits, items;
  std::optional<std::filesystem::path> images;
  std::string source = "csv";
};

void report(const catalog::ImportSummary& s, catalog::Catalog& cat, bool json, double seconds) {
  const auto stats = cat.stats();
  if (json) {
    nlohmann::json doc = {{"source", s.source},
                          {"items_added", s.items_added},
                          {"items_updated", s.items_updated},
                          {"outfits_added", s.outfits_added},
                          {"outfits_updated", s.outfits_updated},
                          {"memberships", s.memberships},
                          {"warnings", s.warnings},
                          {"seconds", seconds},
                          {"catalog", {{"items", stats.items}, {"outfits", stats.outfits}, {"memberships", stats.memberships}}}};
    print_line(doc.dump(2));
    return;
  }
  print_line(fmt::format("imported {} in {:.2f} s: items {} new, {} updated; outfits {} new, {} updated; {} memberships",
                         s.source, seconds, s.items_added, s.items_updated, s.outfits_added, s.outfits_updated,
                         s.memberships));
  constexpr std::size_t kShownWarnings = 10;
  for (std::size_t i = 0; i < s.warnings.size() && i < kShownWarnings; ++i) spdlog::warn("{}", s.warnings[i]);
  if (s.warnings.size() > kShownWarnings) spdlog::warn("... and {} more warnings", s.warnings.size() - kShownWarnings);
  print_line(fmt::format("catalog now: {} items, {} outfits, {} memberships", stats.items, stats.outfits,
                         stats.memberships));
}

template <typename Run>
void run_import(const ImportArgs& args, Run&& run) {
  const auto start = std::chrono::steady_clock::now();
  catalog::Catalog cat(args.workspace);
  const catalog::ImportSummary summary = run(cat);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  report(summary, cat, args.json, seconds);
}

}  // namespace

void add_import_command(CLI::App& app) {
  auto args = std::make_shared<ImportArgs>();
  CLI::App* import = app.add_subcommand("import", "Import a shop's catalog and outfit table into the workspace");
  import->require_subcommand(1);

  CLI::App* mango = import->add_subcommand("mango", "MANGO layout: product_data.csv, outfit_data.csv, images/");
  mango->add_option("DIR", args->dir, "The MANGO data set folder")->required()->check(CLI::ExistingDirectory);
  CLI::App* aihub = import->add_subcommand("aihub", "The original prototype's AI-Hub outfit table");
  aihub->add_option("--outfits", args->outfits, "uni_wearing.csv")->required()->check(CLI::ExistingFile);
  aihub->add_option("--images", args->images, "Folder with <id>_F.jpg item images and outfit photos")
      ->check(CLI::ExistingDirectory);
  CLI::App* csv = import->add_subcommand("csv", "The generic format (see README): items.csv and outfits.csv");
  csv->add_option("--items", args->items, "items.csv")->required()->check(CLI::ExistingFile);
  csv->add_option("--outfits", args->outfits, "outfits.csv")->check(CLI::ExistingFile);
  csv->add_option("--source", args->source, "Name of this shop in the catalog")->capture_default_str();
  csv->add_option("--images-root", args->images,
                  "The only folder photos may be read from (default: the items CSV's folder); a photo outside "
                  "it, through .. or a symlink, is refused")
      ->check(CLI::ExistingDirectory);

  for (CLI::App* sub : {mango, aihub, csv}) {
    add_workspace_option(*sub, args->workspace);
    sub->add_flag("--json", args->json, "Print the summary as JSON");
  }
  mango->callback([args] { run_import(*args, [&](catalog::Catalog& c) { return catalog::import_mango(c, args->dir); }); });
  aihub->callback([args] {
    run_import(*args, [&](catalog::Catalog& c) { return catalog::import_aihub(c, args->outfits, args->images); });
  });
  csv->callback([args] {
    std::optional<std::filesystem::path> outfits;
    if (!args->outfits.empty()) outfits = args->outfits;
    run_import(*args, [&](catalog::Catalog& c) {
      return catalog::import_csv(c, args->items, outfits, args->source, args->images);
    });
  });
}

}  // namespace mystyle::cli
