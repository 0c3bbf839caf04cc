#include "mystyle/engine/pieces.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "mystyle/core/base64.h"
#include "mystyle/core/error.h"
#include "mystyle/image/skin.h"

namespace mystyle::engine {
namespace {

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

std::optional<ParseClass> class_named(std::string_view name) {
  for (int c = 0; c < kParseClasses; ++c) {
    if (kParseClassNames[static_cast<std::size_t>(c)] == name) return static_cast<ParseClass>(c);
  }
  return std::nullopt;
}

std::string garment_class_list() {
  std::string out;
  for (int c = 0; c < kParseClasses; ++c) {
    if (!is_garment(static_cast<ParseClass>(c))) continue;
    out += (out.empty() ? "" : ", ") + std::string(kParseClassNames[static_cast<std::size_t>(c)]);
  }
  return out;
}

nlohmann::json png_data_url(const cv::Mat& rgb) {
  cv::Mat bgr;
  cv::cvtColor(rgb, bgr, cv::COLOR_RGB2BGR);
  std::vector<std::uint8_t> png;
  cv::imencode(".png", bgr, png);
  return "data:image/png;base64," + base64_encode({reinterpret_cast<const char*>(png.data()), png.size()});
}

nlohmann::json box_json(const cv::Rect& b) {
  return {{"x", b.x}, {"y", b.y}, {"width", b.width}, {"height", b.height}};
}

nlohmann::json slot_json(const std::optional<catalog::Slot>& slot) {
  return slot ? nlohmann::json(catalog::slot_name(*slot)) : nlohmann::json(nullptr);
}

}  // namespace

PieceChoice PieceChoice::parse(std::string_view text) {
  PieceChoice choice;
  if (!text.empty() && std::ranges::all_of(text, [](char c) { return c >= '0' && c <= '9'; })) {
    if (text.size() > 6) throw Error(fmt::format("piece: {} is not a piece", text), ErrorKind::kInvalidInput);
    choice.index = static_cast<std::size_t>(std::stoul(std::string(text)));
    return choice;
  }
  const auto part = class_named(text);
  if (!part || !is_garment(*part)) {
    throw Error(fmt::format("piece: '{}' is neither a piece's number nor a garment class ({})", text,
                            garment_class_list()),
                ErrorKind::kInvalidInput);
  }
  choice.part = part;
  return choice;
}

std::string PieceChoice::text() const {
  if (index) return std::to_string(*index);
  if (part) return std::string(parse_class_name(*part));
  return "";
}

const RecommendResult* PiecesResult::top() const {
  return chosen ? &pieces[*chosen].match : nullptr;
}

double PiecesResult::total_ms() const {
  double ms = decode_ms + gate_ms + (parse ? parse->parse_ms : 0.0);
  for (const PhotoPiece& p : pieces) {
    ms += p.match.decode_ms + p.match.encode_ms + p.match.search_ms + p.match.outfits_ms;
  }
  return ms;
}

PieceSearch::PieceSearch(Recommender& recommender, std::shared_ptr<Parser> parser, std::vector<bool> sold)
    : recommender_(recommender), parser_(std::move(parser)), sold_(std::move(sold)) {
  if (!sold_.empty()) return;
  sold_.assign(catalog::kAllSlots.size() + 1, false);
  for (const catalog::Item& item : recommender_.graph().items()) {
    if (item.image_path) sold_[static_cast<std::size_t>(item.slot)] = true;
  }
}

std::unique_ptr<PieceSearch> PieceSearch::open(const Workspace& workspace, Recommender& recommender) {
  std::unique_ptr<Parser> parser;
  if (std::filesystem::exists(workspace.model_file("parse"))) parser = Parser::open(workspace);
  return std::unique_ptr<PieceSearch>(new PieceSearch(recommender, std::move(parser)));
}

void PieceSearch::warm_up() {
  if (parser_) (void)parser_->parse(cv::Mat(96, 64, CV_8UC3, cv::Scalar(120, 110, 100)));
}

std::unique_ptr<PieceSearch> PieceSearch::over(Recommender& next, std::span<const catalog::Item> added) const {
  // The slots sold: this one's and the added items' (a slot emptied by deletions stays until a full open).
  std::vector<bool> sold = sold_;
  for (const catalog::Item& item : added) {
    if (item.image_path) sold[static_cast<std::size_t>(item.slot)] = true;
  }
  return std::unique_ptr<PieceSearch>(new PieceSearch(next, parser_, std::move(sold)));
}

std::unique_ptr<PieceSearch> PieceSearch::without_parser(Recommender& recommender) {
  return std::unique_ptr<PieceSearch>(new PieceSearch(recommender, nullptr));
}

PiecesResult PieceSearch::find(std::span<const std::uint8_t> image_bytes, const std::string& name,
                               const RecommendRequest& request, const PieceChoice& choice) {
  request.validate();  // before decoding: a bad request costs no decode
  const auto t = Clock::now();
  const cv::Mat rgb = recommender_.decode(image_bytes, name);
  const double decode_ms = ms_since(t);
  PiecesResult result = find(rgb, name, request, choice);
  result.decode_ms += decode_ms;
  return result;
}

PiecesResult PieceSearch::find(const cv::Mat& rgb, const std::string& name, const RecommendRequest& request,
                               const PieceChoice& choice) {
  PiecesResult result;  // search_parsed sets its name and size
  auto t = Clock::now();
  const image::SkinTest skin = image::skin_test(rgb);
  result.skin_share = skin.skin_share;
  result.gate_ms = ms_since(t);

  if (parser_ && skin.may_show_person()) {
    return search_parsed(rgb, name, request, parser_->parse(rgb), choice, std::move(result));
  }
  return search_parsed(rgb, name, request, std::nullopt, choice, std::move(result));
}

PiecesResult PieceSearch::search_parsed(const cv::Mat& rgb, const std::string& name,
                                        const RecommendRequest& request, std::optional<ParseResult> parse,
                                        const PieceChoice& choice, PiecesResult result) {
  result.name = name;
  result.photo = rgb.size();
  if (parse) {
    if (parse->classes.size() != rgb.size()) throw Error("search_parsed: the class map is not of this photo");
    result.parse = std::move(parse);
    result.parsed = true;
    const double person = static_cast<double>(cv::countNonZero(result.parse->classes ==
                                                               static_cast<int>(ParseClass::kPerson))) /
                          static_cast<double>(rgb.total());
    result.worn = person >= kMinPersonShare;
  }

  if (!result.worn) {  // a garment alone: exactly today's answer
    if (choice.index.value_or(0) != 0 || choice.part) {
      throw Error(fmt::format("piece: the photo shows one garment alone (piece 0), not '{}'", choice.text()),
                  ErrorKind::kInvalidInput);
    }
    PhotoPiece piece;
    piece.match = recommender_.recommend(rgb, name, request);
    const image::CropBox& b = piece.match.query.object_box;
    piece.region.box = cv::Rect(b.x, b.y, b.width, b.height);
    piece.region.share = static_cast<double>(b.width) * b.height / static_cast<double>(rgb.total());
    piece.region.slot = piece.match.query_slot;
    if (!parser_) {
      result.note = "one garment searched: this workspace has no parsing model, so a photo of a person is not "
                    "split into pieces (run `mystyle train --model parse`)";
    }
    result.pieces.push_back(std::move(piece));
    result.chosen = 0;
    return result;
  }

  // A person: one piece per garment region, each searched among its slot's items.
  std::vector<std::string> unsold;
  for (ParsePiece& region : result.parse->pieces) {
    if (region.confidence < min_confidence_) continue;  // mostly wrong: not shown, not searched
    // More likely wrong than right: listed, not searched, unless the caller names its class ("I mean
    // the trousers"); a class gives at most one piece (pieces_of).
    if (region.likelihood < min_likelihood_ && !(choice.part && *choice.part == region.part)) {
      region.mask.release();
      result.unsure.push_back(std::move(region));
      continue;
    }
    PhotoPiece piece;
    // A top worn under outerwear is an inner top; a catalog that sells no inner tops (MANGO files
    // every top as main_top) sells it as a main top.
    if (region.slot == catalog::Slot::kInnerTop && !sold_[static_cast<std::size_t>(catalog::Slot::kInnerTop)])
      region.slot = catalog::Slot::kMainTop;
    piece.sold = region.slot && sold_[static_cast<std::size_t>(*region.slot)];
    piece.region = std::move(region);
    if (piece.sold) {
      piece.cutout = cut_out(rgb, piece.region);
      RecommendRequest r = request;
      r.similar_slot = piece.region.slot;
      r.slot = piece.region.slot;
      piece.match = recommender_.recommend(piece.cutout, name, r);
    } else {
      unsold.push_back(fmt::format("{} ({})", parse_class_name(piece.region.part),
                                   piece.region.slot ? catalog::slot_name(*piece.region.slot) : "no slot"));
    }
    result.pieces.push_back(std::move(piece));
  }
  result.parse->pieces.clear();  // moved into result.pieces

  if (choice.index || choice.part) {
    for (std::size_t i = 0; i < result.pieces.size() && !result.chosen; ++i) {
      if (choice.index ? *choice.index == i : result.pieces[i].region.part == *choice.part) result.chosen = i;
    }
    if (!result.chosen) {
      std::string found;
      for (std::size_t i = 0; i < result.pieces.size(); ++i) {
        found += fmt::format("{}{} {}", i == 0 ? "" : ", ", i, parse_class_name(result.pieces[i].region.part));
      }
      throw Error(fmt::format("piece: no piece '{}' in {} (found: {})", choice.text(), name,
                              found.empty() ? "none" : found),
                  ErrorKind::kInvalidInput);
    }
    if (!result.pieces[*result.chosen].sold) {
      throw Error(fmt::format("piece: {}'s piece {} ({}) is not sold by this catalog", name, *result.chosen,
                              parse_class_name(result.pieces[*result.chosen].region.part)),
                  ErrorKind::kInvalidInput);
    }
  } else {
    for (std::size_t i = 0; i < result.pieces.size() && !result.chosen; ++i) {
      if (result.pieces[i].sold) result.chosen = i;  // largest first: the most prominent sold piece
    }
  }
  if (!result.chosen) {
    result.note = result.pieces.empty()
                      ? (result.unsure.empty() ? "a person, but no garment was found in the photo"
                                               : "a person, but no garment the parser is sure of")
                      : fmt::format("a person, but no garment the catalog sells: {}",
                                    fmt::join(unsold, ", "));
  }
  return result;
}

nlohmann::json outline_json(const cv::Mat& mask) {
  std::vector<std::vector<cv::Point>> contours;
  cv::findContours(mask, contours, cv::RETR_EXTERNAL, cv::CHAIN_APPROX_SIMPLE);
  const double epsilon = 0.01 * std::hypot(mask.cols, mask.rows);
  nlohmann::json polygons = nlohmann::json::array();
  for (const auto& c : contours) {
    std::vector<cv::Point> poly;
    cv::approxPolyDP(c, poly, epsilon, true);
    if (poly.size() < 3) continue;
    nlohmann::json points = nlohmann::json::array();
    for (const cv::Point& p : poly) points.push_back({p.x, p.y});
    polygons.push_back(std::move(points));
  }
  return polygons;
}

nlohmann::json PieceSearch::to_json(const PiecesResult& r, const RecommendRequest& request,
                                    bool include_images) const {
  nlohmann::json doc;
  if (const RecommendResult* top = r.top()) {
    doc = recommender_.to_json(*top, request, include_images);
  } else {
    doc = {{"query", {{"name", r.name}, {"slot", nullptr}}},
           {"similar", nlohmann::json::array()},
           {"outfits", nlohmann::json::array()}};
  }
  nlohmann::json pieces = nlohmann::json::array();
  for (std::size_t i = 0; i < r.pieces.size(); ++i) {
    const PhotoPiece& p = r.pieces[i];
    nlohmann::json j = {{"index", i},
                        {"class", r.worn ? nlohmann::json(parse_class_name(p.region.part)) : nlohmann::json(nullptr)},
                        {"slot", slot_json(p.region.slot)},
                        {"box", box_json(p.region.box)},
                        {"share", p.region.share},
                        {"confidence", p.region.confidence},
                        {"likelihood", p.region.likelihood},
                        {"sold", p.sold},
                        {"chosen", r.chosen == i},
                        {"outline", p.region.mask.empty() ? nlohmann::json::array() : outline_json(p.region.mask)}};
    if (p.sold) {
      j["similar"] = r.chosen == i ? doc["similar"] : recommender_.similar_json(p.match, request);
      j["outfits"] = r.chosen == i ? doc["outfits"] : recommender_.outfits_json(p.match);
    } else {
      j["similar"] = nlohmann::json::array();
      j["outfits"] = nlohmann::json::array();
    }
    if (include_images && !p.cutout.empty()) j["cutout_image"] = png_data_url(p.cutout);
    pieces.push_back(std::move(j));
  }
  doc["worn"] = r.worn;
  doc["photo"] = {{"width", r.photo.width}, {"height", r.photo.height}};
  doc["note"] = r.note.empty() ? nlohmann::json(nullptr) : nlohmann::json(r.note);
  doc["piece"] = r.chosen ? nlohmann::json(*r.chosen) : nlohmann::json(nullptr);
  doc["parse"] = {{"parsed", r.parsed},
                  {"skin_share", r.skin_share},
                  {"parser", has_parser()},
                  {"person_share", r.parse ? nlohmann::json(r.parse->person_share) : nlohmann::json(nullptr)}};
  doc["pieces"] = std::move(pieces);
  nlohmann::json unsure = nlohmann::json::array();
  for (const ParsePiece& p : r.unsure) {
    unsure.push_back({{"class", parse_class_name(p.part)},
                      {"box", box_json(p.box)},
                      {"share", p.share},
                      {"confidence", p.confidence},
                      {"likelihood", p.likelihood}});
  }
  doc["unsure_pieces"] = std::move(unsure);
  auto& timings = doc["timings_ms"];
  timings["gate"] = r.gate_ms;
  timings["parse"] = r.parse ? r.parse->parse_ms : 0.0;
  timings["pieces_total"] = r.total_ms();
  return doc;
}

}  // namespace mystyle::engine
