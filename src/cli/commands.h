#pragma once
// Each `mystyle` subcommand registers itself on the app; the callbacks run after parsing.
#include <CLI/CLI.hpp>

#include <filesystem>
#include <string>

namespace mystyle::cli {

/// Adds `--workspace DIR` to `command` (default `$MYSTYLE_WORKSPACE` or ./mystyle-workspace).
void add_workspace_option(CLI::App& command, std::filesystem::path& workspace);

/// Prints `text` to stdout followed by a newline (the one place results are written).
void print_line(const std::string& text);

void add_import_command(CLI::App& app);
void add_info_command(CLI::App& app);
void add_model_commands(CLI::App& app);
void add_recommend_command(CLI::App& app);
void add_complete_command(CLI::App& app);
void add_colours_command(CLI::App& app);
void add_serve_command(CLI::App& app);
void add_eval_command(CLI::App& app);
void add_catalog_command(CLI::App& app);
void add_parse_command(CLI::App& app);

/// $MYSTYLE_CATALOG, else empty (the workspace's own SQLite catalog).
std::string catalog_url_default();

}  // namespace mystyle::cli
