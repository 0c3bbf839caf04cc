// `mystyle info`: what the workspace holds.
#include <fmt/format.h>

#include <memory>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "mystyle/catalog/catalog.h"

namespace mystyle::cli {

void add_info_command(CLI::App& app) {
  struct Args {
    std::filesystem::path workspace;
    bool json = false;
  };
  auto args = std::make_shared<Args>();
  CLI::App* info = app.add_subcommand("info", "Summarise the workspace: catalog size, slots, categories");
  add_workspace_option(*info, args->workspace);
  info->add_flag("--json", args->json, "Print as JSON");
  info->callback([args] {
    catalog::Catalog cat(args->workspace);
    const auto st = cat.stats();
    if (args->json) {
      nlohmann::json doc = {{"workspace", args->workspace.string()},
                            {"items", st.items},
                            {"items_with_image", st.items_with_image},
                            {"outfits", st.outfits},
                            {"memberships", st.memberships},
                            {"memberships_per_slot", st.memberships_per_slot},
                            {"items_per_category", st.items_per_category}};
      print_line(doc.dump(2));
      return;
    }
    print_line(fmt::format("workspace {}", args->workspace.string()));
    print_line(fmt::format("  {} items ({} with a photo), {} outfits, {} memberships", st.items, st.items_with_image,
                           st.outfits, st.memberships));
    print_line("  pieces per slot:");
    for (const auto& [slot, n] : st.memberships_per_slot) print_line(fmt::format("    {:<12} {:>7}", slot, n));
    print_line("  items per category:");
    for (const auto& [category, n] : st.items_per_category) {
      print_line(fmt::format("    {:<38} {:>7}", category.empty() ? "(none)" : category, n));
    }
  });
}

}  // namespace mystyle::cli
