// The JSON API's request parsing. Also compiled by the clang 14 fuzz build: std algorithms rather
// than std::ranges here (clang 14 trips over parts of libstdc++ 12's ranges).
#include "request_parsing.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <sstream>
#include <system_error>
#include <utility>

#include "mystyle/core/error.h"
#include "mystyle/engine/colour_query.h"
#include "mystyle/index/metric.h"

namespace mystyle::server {
namespace {

index::Metric parse_metric_param(const std::string& text) {
  try {
    return index::parse_metric(text);
  } catch (const Error& e) {
    throw Error(fmt::format("parameter 'metric': {}", e.what()));
  }
}

}  // namespace

std::optional<std::string> param(const httplib::Request& req, const std::string& key) {
  if (req.has_param(key)) return req.get_param_value(key);
  if (req.is_multipart_form_data() && req.has_file(key)) {
    const auto field = req.get_file_value(key);
    if (field.filename.empty()) return field.content;
  }
  return std::nullopt;
}

std::int64_t parse_integer(const std::string& text, const std::string& name, std::int64_t min,
                           std::int64_t max) {
  std::int64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value < min || value > max) {
    throw Error(
        fmt::format("parameter '{}' must be a whole number from {} to {}, not '{}'", name, min, max, text));
  }
  return value;
}

bool parse_bool(const std::string& text, const std::string& name) {
  std::string t = text;
  std::transform(t.begin(), t.end(), t.begin(), [](unsigned char c) { return char(std::tolower(c)); });
  if (t == "1" || t == "true" || t == "on" || t == "yes") return true;
  if (t == "0" || t == "false" || t == "off" || t == "no" || t.empty()) return false;
  throw Error(fmt::format("parameter '{}' must be true or false, not '{}'", name, text));
}

void require_known_category(std::span<const std::string> categories, const std::string& category) {
  if (!std::binary_search(categories.begin(), categories.end(), category)) {
    throw Error(fmt::format("parameter 'category': unknown category '{}' (GET /api/categories lists them)",
                            category));
  }
}

catalog::Slot parse_slot_param(const std::string& text, const std::string& name) {
  if (const auto slot = catalog::parse_slot(text)) return *slot;
  std::string known;
  for (const auto s : catalog::kAllSlots)
    known += (known.empty() ? "" : ", ") + std::string(catalog::slot_name(s));
  throw Error(fmt::format("parameter '{}': unknown slot '{}' (known: {})", name, text, known));
}

std::string parse_colour_param(const std::string& text) {
  return engine::parse_colour_query(text, "parameter 'colour'");
}

engine::OtherColoursRequest parse_other_colours_request(const httplib::Request& req) {
  engine::OtherColoursRequest r;
  if (auto v = param(req, "colour"); v && !v->empty()) r.colour_family = parse_colour_param(*v);
  if (auto v = param(req, "k"))
    r.k = static_cast<std::size_t>(
        parse_integer(*v, "k", 1, static_cast<std::int64_t>(engine::OtherColoursRequest::kMaxK)));
  return r;
}

engine::PieceChoice parse_piece_param(const std::string& value) {
  try {
    return engine::PieceChoice::parse(value);
  } catch (const Error& e) {
    throw Error(fmt::format("parameter '{}'", e.what()), ErrorKind::kInvalidInput);
  }
}

engine::RecommendRequest parse_recommend_request(const httplib::Request& req,
                                                 std::span<const std::string> categories) {
  engine::RecommendRequest r;
  if (auto v = param(req, "metric")) r.metric = parse_metric_param(*v);
  if (auto v = param(req, "k")) r.k = static_cast<std::size_t>(parse_integer(*v, "k", 1, kMaxK));
  if (auto v = param(req, "outfits"))
    r.max_outfits = static_cast<std::size_t>(parse_integer(*v, "outfits", 0, kMaxOutfits));
  if (auto v = param(req, "mode")) {
    if (*v == "ranked") {
      r.mode = recommend::CoordinationMode::kRanked;
    } else if (*v == "seed") {
      r.mode = recommend::CoordinationMode::kSeed;
    } else {
      throw Error(fmt::format("parameter 'mode' must be ranked or seed, not '{}'", *v));
    }
  }
  if (auto v = param(req, "category"); v && !v->empty()) {
    require_known_category(categories, *v);
    r.category = *v;
  }
  if (auto v = param(req, "colour"); v && !v->empty()) r.colour_family = parse_colour_param(*v);
  if (auto v = param(req, "same_slot")) r.same_slot = parse_bool(*v, "same_slot");
  if (auto v = param(req, "slot"); v && !v->empty()) r.slot = parse_slot_param(*v, "slot");
  return r;
}

engine::CompleteRequest parse_complete_request(const httplib::Request& req,
                                               std::span<const std::string> categories) {
  engine::CompleteRequest r;
  if (auto v = param(req, "slots")) {
    std::stringstream list(*v);
    for (std::string name; std::getline(list, name, ',');) {
      if (!name.empty()) r.slots.push_back(parse_slot_param(name, "slots"));
    }
  }
  if (auto v = param(req, "outfits"))
    r.outfits = static_cast<std::size_t>(parse_integer(*v, "outfits", 0, kMaxCompleteOutfits));
  if (auto v = param(req, "per_slot"))
    r.per_slot = static_cast<std::size_t>(parse_integer(*v, "per_slot", 1, kMaxPerSlot));
  if (auto v = param(req, "category"); v && !v->empty()) {
    require_known_category(categories, *v);
    r.category = *v;
  }
  if (auto v = param(req, "colour"); v && !v->empty()) r.colour_family = parse_colour_param(*v);
  if (auto v = param(req, "slot"); v && !v->empty()) r.slot = parse_slot_param(*v, "slot");
  if (auto v = param(req, "piece"); v && !v->empty()) r.piece = parse_piece_param(*v);
  return r;
}

ItemsQuery parse_items_query(const httplib::Request& req, std::span<const std::string> categories) {
  ItemsQuery q;
  q.category = param(req, "category");
  if (q.category && q.category->empty()) q.category.reset();
  if (q.category) require_known_category(categories, *q.category);
  if (auto v = param(req, "slot"); v && !v->empty()) q.slot = parse_slot_param(*v, "slot");
  q.text_lower = param(req, "q").value_or("");
  std::transform(q.text_lower.begin(), q.text_lower.end(), q.text_lower.begin(),
                 [](unsigned char c) { return char(std::tolower(c)); });
  if (auto v = param(req, "page")) q.page = parse_integer(*v, "page", 1, kMaxPage);
  if (auto v = param(req, "per_page")) q.per_page = parse_integer(*v, "per_page", 1, kMaxPerPage);
  return q;
}

std::optional<BodyRefusal> refuse_unbounded_body(const httplib::Request& req) {
  // The methods whose body httplib reads (its detail::expect_content, less PRI, which is not routed).
  const std::string& m = req.method;
  if (m != "POST" && m != "PUT" && m != "PATCH" && m != "DELETE") return std::nullopt;
  if (req.has_header("Transfer-Encoding")) {
    return BodyRefusal{
        411, fmt::format("Transfer-Encoding '{}' is not accepted: send the body with a Content-Length",
                         req.get_header_value("Transfer-Encoding"))};
  }
  // A DELETE carries no body unless it says how long one is (httplib reads none then; curl and
  // browsers send a bodiless DELETE without Content-Length).
  if (!req.has_header("Content-Length") && m != "DELETE") {
    return BodyRefusal{411, "no Content-Length: send the body with a Content-Length (0 for none)"};
  }
  if (req.has_header("Content-Encoding")) {
    std::string encoding = req.get_header_value("Content-Encoding");
    std::transform(encoding.begin(), encoding.end(), encoding.begin(),
                   [](unsigned char c) { return char(std::tolower(c)); });
    if (encoding != "identity") {
      return BodyRefusal{415, fmt::format("Content-Encoding '{}' is not accepted: send the body uncompressed",
                                          req.get_header_value("Content-Encoding"))};
    }
  }
  return std::nullopt;
}

Upload read_upload(const httplib::Request& req, std::size_t max_bytes) {
  Upload up;
  if (req.is_multipart_form_data()) {
    if (!req.has_file("image"))
      throw Error("no form field 'image': send the photo as multipart field 'image'");
    auto file = req.get_file_value("image");
    up.bytes = std::move(file.content);
    up.name = file.filename.empty() ? "upload" : file.filename;
  } else {
    const std::string type = req.get_header_value("Content-Type");
    if (type.starts_with("application/x-www-form-urlencoded")) {
      throw Error("send the photo as multipart/form-data (field 'image') or as the raw request body");
    }
    if (req.body.empty()) {
      throw Error("empty request: send the photo as multipart field 'image' or as the raw request body");
    }
    up.bytes = req.body;
    up.name = param(req, "name").value_or("upload");
  }
  if (up.name.size() > kMaxNameChars) up.name.resize(kMaxNameChars);
  if (up.bytes.size() > max_bytes) {
    throw Error(
        fmt::format("{}: {} bytes is over the {} byte upload limit", up.name, up.bytes.size(), max_bytes),
        ErrorKind::kTooLarge);
  }
  return up;
}

}  // namespace mystyle::server
