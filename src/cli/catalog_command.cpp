// `mystyle catalog push`: a workspace's catalog, photos and embeddings into a shared PostgreSQL
// catalog that several `mystyle serve --catalog postgresql://...` follow (docs/deploy.md).
#include <fmt/format.h>

#include <cstdlib>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "mystyle/core/error.h"
#include "mystyle/engine/embeddings.h"
#include "mystyle/pgsync/pg_catalog.h"

namespace mystyle::cli {

std::string catalog_url_default() {
  const char* env = std::getenv("MYSTYLE_CATALOG");
  return env ? env : "";
}

void add_catalog_command(CLI::App& app) {
  CLI::App* catalog = app.add_subcommand("catalog", "A catalog shared by several servers, on PostgreSQL");
  catalog->require_subcommand(1);
  struct Args {
    std::filesystem::path workspace;
    std::string url = catalog_url_default(), model = engine::kDefaultModel, pooling = "flat";
    bool replace = false, json = false;
  };
  auto args = std::make_shared<Args>();
  CLI::App* push = catalog->add_subcommand(
      "push", "Copy this workspace's catalog, photos and embeddings into the shared catalog (ids kept)");
  add_workspace_option(*push, args->workspace);
  push->add_option("--catalog", args->url, "postgresql://user@host:port/db (default: $MYSTYLE_CATALOG)");
  push->add_option("--model", args->model, "Whose embeddings to copy")->capture_default_str();
  push->add_option("--pooling", args->pooling, "flat or mean")->check(CLI::IsMember({"flat", "mean"}))->capture_default_str();
  push->add_flag("--replace", args->replace, "Replace a catalog already there (every server follows)");
  push->add_flag("--json", args->json, "Print the summary as JSON");
  push->callback([args] {
    if (!pgsync::is_postgres_url(args->url))
      throw Error("--catalog must be a postgresql:// URL (or set MYSTYLE_CATALOG)", ErrorKind::kInvalidInput);
    const auto r = pgsync::push_workspace(engine::Workspace(args->workspace), args->url, args->model,
                                          engine::parse_pooling(args->pooling), args->replace);
    if (args->json) {
      print_line(nlohmann::json{{"items", r.items}, {"outfits", r.outfits}, {"photos", r.photos},
                                {"vectors", r.vectors}, {"seconds", r.seconds}}
                     .dump());
    } else {
      print_line(fmt::format("pushed {} items, {} outfits, {} photos, {} vectors in {:.2f} s", r.items, r.outfits,
                             r.photos, r.vectors, r.seconds));
    }
  });
}

}  // namespace mystyle::cli
