// `mystyle parse PHOTO`: the person parser's reading of a photo (train --model parse): every pixel's
// class, written as a label map at the photo's size, and the pieces worn, each with its catalog slot.
#include <fmt/format.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <optional>

#include "commands.h"
#include "mystyle/core/error.h"
#include "mystyle/core/file_io.h"
#include "mystyle/engine/parser.h"
#include "mystyle/image/decode.h"

namespace mystyle::cli {

void add_parse_command(CLI::App& app) {
  struct Args {
    std::filesystem::path workspace, photo;
    std::optional<std::filesystem::path> out, pieces_dir;
    bool json = false;
  };
  auto args = std::make_shared<Args>();
  CLI::App* cmd =
      app.add_subcommand("parse", "Find the pieces a person wears in PHOTO (needs train --model parse)");
  add_workspace_option(*cmd, args->workspace);
  cmd->add_option("PHOTO", args->photo, "Photo of a person (JPEG, PNG, WebP, BMP)")->required();
  cmd->add_option(
      "--out", args->out,
      "Write the label map here: a PNG at the photo's size, one class value a pixel (0-9, see the list)");
  cmd->add_option(
      "--pieces-dir", args->pieces_dir,
      "Write each piece cut out on the studio backdrop here (piece-1-<class>.png, ...): what a search sees");
  cmd->add_flag("--json", args->json, "Print the result as JSON");
  cmd->callback([args] {
    auto parser = engine::Parser::open(engine::Workspace(args->workspace));
    const cv::Mat rgb = image::read_image(args->photo);
    const engine::ParseResult r = parser->parse(rgb);
    if (args->out) {
      std::vector<std::uint8_t> png;
      if (!cv::imencode(".png", r.classes, png)) throw Error("could not encode the label map as PNG");
      write_file_atomic(*args->out, std::string_view(reinterpret_cast<const char*>(png.data()), png.size()));
    }
    std::vector<std::string> cut_outs;
    if (args->pieces_dir) {
      create_folder(*args->pieces_dir);
      for (std::size_t i = 0; i < r.pieces.size(); ++i) {
        cv::Mat bgr;
        cv::cvtColor(engine::cut_out(rgb, r.pieces[i]), bgr, cv::COLOR_RGB2BGR);
        std::vector<std::uint8_t> png;
        if (!cv::imencode(".png", bgr, png)) throw Error("could not encode a piece as PNG");
        const auto path = *args->pieces_dir /
                          fmt::format("piece-{}-{}.png", i + 1, engine::parse_class_name(r.pieces[i].part));
        write_file_atomic(path, std::string_view(reinterpret_cast<const char*>(png.data()), png.size()));
        cut_outs.push_back(path.string());
      }
    }
    if (args->json) {
      nlohmann::json doc = engine::Parser::to_json(r, rgb.size());
      doc["photo"]["path"] = args->photo.string();
      if (args->out) doc["label_map"] = args->out->string();
      for (std::size_t i = 0; i < cut_outs.size(); ++i) doc["pieces"][i]["cut_out"] = cut_outs[i];
      print_line(doc.dump(2));
      return;
    }
    print_line(fmt::format("{}: {}x{}, the person {:.0f}% of the photo; parsed in {:.1f} ms",
                           args->photo.string(), rgb.cols, rgb.rows, 100 * r.person_share, r.parse_ms));
    print_line("\nclasses (value name -> catalog slot):");
    for (int c = 0; c < engine::kParseClasses; ++c) {
      const auto slot = engine::slot_of(static_cast<engine::ParseClass>(c));
      print_line(fmt::format("  {} {:<11} -> {}", c, engine::kParseClassNames[static_cast<std::size_t>(c)],
                             slot ? catalog::slot_name(*slot) : "(not searched)"));
    }
    print_line("\npieces:");
    if (r.pieces.empty()) print_line("  none: no garment the catalog sells was found");
    for (const engine::ParsePiece& p : r.pieces) {
      print_line(fmt::format("  {:<10} slot {:<10} box {},{} {}x{}  {:.1f}% of the photo",
                             engine::parse_class_name(p.part), p.slot ? catalog::slot_name(*p.slot) : "-",
                             p.box.x, p.box.y, p.box.width, p.box.height, 100 * p.share));
    }
    if (args->out) print_line(fmt::format("\nlabel map: {}", args->out->string()));
    for (const auto& path : cut_outs) print_line(fmt::format("piece cut out: {}", path));
  });
}

}  // namespace mystyle::cli
