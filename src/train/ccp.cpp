#include "mystyle/train/ccp.h"

#include <fmt/format.h>

#include <charconv>
#include <map>
#include <sstream>
#include <opencv2/imgcodecs.hpp>

#include "mystyle/core/csv_reader.h"
#include "mystyle/core/error.h"
#include "mystyle/core/file_io.h"
#include "mystyle/image/decode.h"

namespace mystyle::train {
namespace {

using engine::ParseClass;

const std::map<std::string_view, ParseClass>& ccp_table() {
  static const std::map<std::string_view, ParseClass> table = {
      {"null", ParseClass::kBackground},
      {"skin", ParseClass::kPerson},
      {"hair", ParseClass::kPerson},
      {"blouse", ParseClass::kTop},
      {"bodysuit", ParseClass::kTop},
      {"hoodie", ParseClass::kTop},
      {"jumper", ParseClass::kTop},
      {"shirt", ParseClass::kTop},
      {"sweater", ParseClass::kTop},
      {"sweatshirt", ParseClass::kTop},
      {"t-shirt", ParseClass::kTop},
      {"top", ParseClass::kTop},
      {"vest", ParseClass::kTop},
      {"blazer", ParseClass::kOuterwear},
      {"cape", ParseClass::kOuterwear},
      {"cardigan", ParseClass::kOuterwear},
      {"coat", ParseClass::kOuterwear},
      {"jacket", ParseClass::kOuterwear},
      {"suit", ParseClass::kOuterwear},
      {"jeans", ParseClass::kBottom},
      {"leggings", ParseClass::kBottom},
      {"pants", ParseClass::kBottom},
      {"shorts", ParseClass::kBottom},
      {"skirt", ParseClass::kBottom},
      {"dress", ParseClass::kDress},
      {"romper", ParseClass::kDress},
      {"boots", ParseClass::kShoes},
      {"clogs", ParseClass::kShoes},
      {"flats", ParseClass::kShoes},
      {"heels", ParseClass::kShoes},
      {"loafers", ParseClass::kShoes},
      {"pumps", ParseClass::kShoes},
      {"sandals", ParseClass::kShoes},
      {"shoes", ParseClass::kShoes},
      {"sneakers", ParseClass::kShoes},
      {"wedges", ParseClass::kShoes},
      {"bag", ParseClass::kBag},
      {"purse", ParseClass::kBag},
      {"wallet", ParseClass::kBag},
      {"accessories", ParseClass::kAccessory},
      {"belt", ParseClass::kAccessory},
      {"bracelet", ParseClass::kAccessory},
      {"earrings", ParseClass::kAccessory},
      {"glasses", ParseClass::kAccessory},
      {"gloves", ParseClass::kAccessory},
      {"hat", ParseClass::kAccessory},
      {"necklace", ParseClass::kAccessory},
      {"ring", ParseClass::kAccessory},
      {"scarf", ParseClass::kAccessory},
      {"sunglasses", ParseClass::kAccessory},
      {"tie", ParseClass::kAccessory},
      {"watch", ParseClass::kAccessory},
      {"bra", ParseClass::kLegwear},
      {"intimate", ParseClass::kLegwear},
      {"panties", ParseClass::kLegwear},
      {"socks", ParseClass::kLegwear},
      {"stockings", ParseClass::kLegwear},
      {"swimwear", ParseClass::kLegwear},
      {"tights", ParseClass::kLegwear},
  };
  return table;
}

}  // namespace

std::optional<ParseClass> ccp_class(std::string_view label_name) {
  const auto& table = ccp_table();
  const auto it = table.find(label_name);
  if (it == table.end()) return std::nullopt;
  return it->second;
}

CcpSet load_ccp(const std::filesystem::path& root) {
  CcpSet set;
  set.root = root;
  set.class_of_label.fill(-1);
  std::vector<std::string> row;
  {
    CsvReader labels(root / "labels.csv");
    if (!labels.read_row(row))
      throw Error(fmt::format("{}: empty", labels.path().string()), ErrorKind::kCorrupt);
    const CsvHeader header(row, labels.where());
    const std::size_t number_col = header.require("label"), name_col = header.require("name");
    while (labels.read_row(row)) {
      if (row.size() < header.size()) {
        throw Error(fmt::format("{}: {} fields, expected {}", labels.where(), row.size(), header.size()),
                    ErrorKind::kCorrupt);
      }
      int number = -1;
      const std::string& text = row[number_col];
      const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), number);
      if (ec != std::errc() || end != text.data() + text.size() || number < 0 || number > 255) {
        throw Error(
            fmt::format("{}: field 'label' must be a number from 0 to 255, not '{}'", labels.where(), text),
            ErrorKind::kCorrupt);
      }
      const auto c = ccp_class(row[name_col]);
      if (!c) {
        throw Error(
            fmt::format("{}: label '{}' has no parse class (train/ccp.cpp)", labels.where(), row[name_col]),
            ErrorKind::kCorrupt);
      }
      set.class_of_label[static_cast<std::size_t>(number)] = static_cast<std::int8_t>(*c);
      if (set.label_names.size() <= static_cast<std::size_t>(number)) set.label_names.resize(number + 1);
      set.label_names[static_cast<std::size_t>(number)] = row[name_col];
    }
  }
  CsvReader photos(root / "photos.csv");
  if (!photos.read_row(row))
    throw Error(fmt::format("{}: empty", photos.path().string()), ErrorKind::kCorrupt);
  const CsvHeader header(row, photos.where());
  const std::size_t photo_col = header.require("photo"), annotation_col = header.require("annotation");
  while (photos.read_row(row)) {
    if (row.size() < header.size()) {
      throw Error(fmt::format("{}: {} fields, expected {}", photos.where(), row.size(), header.size()),
                  ErrorKind::kCorrupt);
    }
    if (row[annotation_col] != "pixel") continue;
    CcpPhoto p{row[photo_col], root / "photos" / (row[photo_col] + ".jpg"),
               root / "labels" / (row[photo_col] + ".png")};
    for (const auto* path : {&p.photo, &p.label_map}) {
      if (!std::filesystem::exists(*path)) {
        throw Error(
            fmt::format("{}: photo {} is annotated but {} is missing", photos.where(), p.id, path->string()),
            ErrorKind::kNotFound);
      }
    }
    set.annotated.push_back(std::move(p));
  }
  std::ranges::sort(set.annotated, {}, &CcpPhoto::id);
  return set;
}

std::vector<CcpTagged> load_ccp_tagged(const std::filesystem::path& root) {
  CsvReader photos(root / "photos.csv");
  std::vector<std::string> row;
  if (!photos.read_row(row))
    throw Error(fmt::format("{}: empty", photos.path().string()), ErrorKind::kCorrupt);
  const CsvHeader header(row, photos.where());
  const std::size_t photo_col = header.require("photo"), annotation_col = header.require("annotation"),
                    tags_col = header.require("tags");
  std::vector<CcpTagged> out;
  while (photos.read_row(row)) {
    if (row.size() < header.size()) {
      throw Error(fmt::format("{}: {} fields, expected {}", photos.where(), row.size(), header.size()),
                  ErrorKind::kCorrupt);
    }
    if (row[annotation_col] != "image") continue;
    CcpTagged t{row[photo_col], root / "photos" / (row[photo_col] + ".jpg"), {}};
    std::string word;
    for (std::istringstream in(row[tags_col]); in >> word;) t.tags.push_back(word);
    if (!std::filesystem::exists(t.photo)) {
      throw Error(fmt::format("{}: photo {} is tagged but {} is missing", photos.where(), t.id, t.photo.string()),
                  ErrorKind::kNotFound);
    }
    out.push_back(std::move(t));
  }
  return out;
}

bool ccp_held_out(std::string_view photo_id, std::uint64_t split_seed) {
  std::uint64_t h = mix64(split_seed ^ 0x43435053ull);  // "CCPS"
  for (const char c : photo_id) h = mix64(h ^ static_cast<std::uint8_t>(c));
  return h % 5 == 0;
}

cv::Mat read_label_map(const CcpPhoto& photo) {
  const cv::Mat labels = cv::imread(photo.label_map.string(), cv::IMREAD_GRAYSCALE);
  if (labels.empty()) {
    throw Error(fmt::format("{}: not a readable 8-bit label map", photo.label_map.string()),
                ErrorKind::kCorrupt);
  }
  return labels;
}

cv::Mat classes_of_labels(const CcpSet& set, const cv::Mat& labels, const std::filesystem::path& file) {
  cv::Mat classes(labels.size(), CV_8UC1);
  for (int y = 0; y < labels.rows; ++y) {
    const std::uint8_t* in = labels.ptr<std::uint8_t>(y);
    std::uint8_t* o = classes.ptr<std::uint8_t>(y);
    for (int x = 0; x < labels.cols; ++x) {
      const std::int8_t c = set.class_of_label[in[x]];
      if (c < 0) {
        throw Error(fmt::format("{}: pixel {},{} has label {}, which labels.csv does not name", file.string(), x,
                                y, in[x]),
                    ErrorKind::kCorrupt);
      }
      o[x] = static_cast<std::uint8_t>(c);
    }
  }
  return classes;
}

ParsedPhoto load_parsed_photo(const CcpSet& set, const CcpPhoto& photo) {
  ParsedPhoto out;
  out.id = photo.id;
  out.rgb = image::read_image(photo.photo);
  const cv::Mat labels = read_label_map(photo);
  if (labels.size() != out.rgb.size()) {
    throw Error(fmt::format("{}: {}x{} labels for a {}x{} photo", photo.label_map.string(), labels.cols,
                            labels.rows, out.rgb.cols, out.rgb.rows),
                ErrorKind::kCorrupt);
  }
  out.classes = classes_of_labels(set, labels, photo.label_map);
  return out;
}

}  // namespace mystyle::train
