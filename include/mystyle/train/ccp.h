#pragma once
/// The Clothing Co-Parsing data set (`$MYSTYLE_DATASETS/ccp`, its README): street photos of people with
/// a label per pixel (59 CCP labels), read as the `parse` model's classes (engine/parse_classes.h),
/// with the seeded split of the annotated photos into training (80%) and held out (20%).
#include <array>
#include <cstdint>
#include <filesystem>
#include <opencv2/core/mat.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mystyle/engine/parse_classes.h"

namespace mystyle::train {

/// The parse class of a CCP label name (labels.csv), nullopt for a name the table does not know.
/// The mapping is published in docs/parsing.md.
std::optional<engine::ParseClass> ccp_class(std::string_view label_name);

struct CcpPhoto {
  std::string id;                   ///< "0001"
  std::filesystem::path photo;      ///< photos/<id>.jpg
  std::filesystem::path label_map;  ///< labels/<id>.png (8-bit, CCP label numbers)
};

struct CcpSet {
  std::filesystem::path root;
  /// CCP label number -> parse class (as int8), -1 for a number labels.csv does not name.
  std::array<std::int8_t, 256> class_of_label{};
  std::vector<std::string> label_names;  ///< by CCP label number (labels.csv)
  std::vector<CcpPhoto> annotated;       ///< the pixel-annotated photos, by id
};

/// Reads labels.csv and photos.csv of `root` and checks every annotated photo's two files exist.
/// Throws mystyle::Error naming the file and line of a malformed row or a missing file, or a CCP
/// label with no parse class.
CcpSet load_ccp(const std::filesystem::path& root);

/// A photo CCP tags only (photos.csv annotation `image`): no label map, the names of what it shows
/// (garments, and skin and hair).
struct CcpTagged {
  std::string id;               ///< "1005"
  std::filesystem::path photo;  ///< photos/<id>.jpg
  std::vector<std::string> tags;
};

/// Every tagged photo of `root`/photos.csv, in the file's order. Throws mystyle::Error naming the file
/// and line of a malformed row or a missing photo.
std::vector<CcpTagged> load_ccp_tagged(const std::filesystem::path& root);

/// Whether an annotated photo is held out of training: a seeded hash of its id, 20% held out, so
/// the split never depends on which other photos are there.
bool ccp_held_out(std::string_view photo_id, std::uint64_t split_seed);

/// One annotated photo decoded: RGB (CV_8UC3) and its parse classes (CV_8UC1), the same size.
struct ParsedPhoto {
  std::string id;
  cv::Mat rgb, classes;
};
/// A photo's label map as stored (CV_8UC1, one CCP label number a pixel). Throws mystyle::Error naming
/// the file when it does not decode.
cv::Mat read_label_map(const CcpPhoto& photo);
/// The parse classes of a label map (CV_8UC1 of the same size). Throws mystyle::Error naming `file`
/// and the pixel when a label is one labels.csv does not name.
cv::Mat classes_of_labels(const CcpSet& set, const cv::Mat& labels, const std::filesystem::path& file);
/// Decodes a photo and its label map and maps the labels to parse classes. Throws mystyle::Error
/// naming the file when either does not decode or their sizes differ.
ParsedPhoto load_parsed_photo(const CcpSet& set, const CcpPhoto& photo);

}  // namespace mystyle::train
