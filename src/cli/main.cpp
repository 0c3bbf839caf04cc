// `mystyle`: the command-line face of My Style Manager. Thin: parsing and printing only.
#include <fmt/format.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <iostream>

#include "commands.h"
#include "mystyle/core/error.h"
#include "mystyle/core/paths.h"
#include "mystyle/core/version.h"

namespace mystyle::cli {

void add_workspace_option(CLI::App& command, std::filesystem::path& workspace) {
  workspace = default_workspace_dir();
  command.add_option("--workspace,-w", workspace, "Folder holding the catalog, models, embeddings and indexes")
      ->capture_default_str();
}

void print_line(const std::string& text) { std::cout << text << '\n'; }

}  // namespace mystyle::cli

int main(int argc, char** argv) {
  using namespace mystyle;
  spdlog::set_default_logger(spdlog::stderr_color_mt("mystyle"));
  spdlog::set_pattern("%^[%l]%$ %v");

  CLI::App app{"My Style Manager: photograph one garment, get the outfits it belongs in."};
  app.name("mystyle");
  app.set_version_flag("--version", fmt::format("mystyle {} ({})", version(), git_commit()));
  app.require_subcommand(1);
  bool verbose = false;
  app.add_flag("--verbose,-v", verbose, "Log debug details to stderr");
  app.parse_complete_callback([&] { spdlog::set_level(verbose ? spdlog::level::debug : spdlog::level::info); });

  cli::add_import_command(app);
  cli::add_info_command(app);
  cli::add_model_commands(app);
  cli::add_recommend_command(app);
  cli::add_complete_command(app);
  cli::add_colours_command(app);
  cli::add_parse_command(app);
  cli::add_serve_command(app);
  cli::add_eval_command(app);
  cli::add_catalog_command(app);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const Error& e) {
    std::fflush(stdout);
    fmt::print(stderr, "mystyle: error: {}\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fflush(stdout);
    fmt::print(stderr, "mystyle: unexpected error: {}\n", e.what());
    return 2;
  }
  return 0;
}
