#pragma once
/// Serving the `parse` model (train --model parse): a photo of a person in, a class per pixel
/// (parse_classes.h) at the photo's size and the pieces worn out. Each piece is one garment class's
/// region: its pixels (every part of at least a fifth of its largest part: two shoes are one piece),
/// its box, its share of the photo and the catalog slot it is searched in. parse() may be called
/// from several threads (the network runs under a mutex).
#include <cstdint>
#include <memory>
#include <mutex>
#include <nlohmann/json_fwd.hpp>
#include <opencv2/core/mat.hpp>
#include <optional>
#include <span>
#include <vector>

#include "mystyle/engine/parse_classes.h"
#include "mystyle/engine/workspace.h"
#include "mystyle/nn/model.h"

namespace mystyle::engine {

/// A region smaller than this share of the photo is not a piece (noise, a glimpse of a sock).
inline constexpr double kMinPieceShare = 0.004;

struct ParsePiece {
  ParseClass part = ParseClass::kBackground;
  std::optional<catalog::Slot> slot;
  cv::Rect box;      ///< in photo pixels
  double share = 0;  ///< of the photo's pixels
  std::int64_t pixels = 0;
  cv::Mat mask;  ///< CV_8UC1 at the photo's size, 255 on the piece
  /// The parser's mean probability of the piece's class over the piece (1 for a class map not from the
  /// parser, such as a data set's labels).
  double confidence = 1.0;
};

struct ParseResult {
  cv::Mat classes;                 ///< CV_8UC1 at the photo's size, one ParseClass value a pixel
  std::vector<ParsePiece> pieces;  ///< largest first
  double person_share = 0;         ///< of the photo: every class but background
  double parse_ms = 0;             ///< squeeze + network + class map
};

/// The class map (CV_8UC1, at `size`) of one image's logits [kParseClasses, side, side]: the logits
/// scaled bilinearly to `size`, then the largest at each pixel.
/// The parse model's input for `rgb`: the photo squeezed to side x side (image::squeeze_to_chw), and
/// for a model of kParseInputWithPosition channels five more planes: each pixel's place in the square
/// (row, then column, each from -1 to 1; a convolution alone cannot tell the top of a photo from its
/// middle), then three planes of zeros. The zeros make 8 channels, a layout oneDNN's fast kernels
/// take: with 5 its training ran its reference kernels, 25 times slower. `out` holds
/// channels * side * side floats; channels is 3 or kParseInputWithPosition.
constexpr int kParseInputWithPosition = 8;
void parse_input(const cv::Mat& rgb, int side, int channels, std::span<float> out);

cv::Mat classes_from_logits(std::span<const float> logits, int side, cv::Size size);

/// The same class map with its edges drawn along the photo's (`rgb`, CV_8UC3, the photo the logits are
/// of): the class probabilities, scaled to the photo at most 128 px on its longer side, pass a
/// guided filter led by the photo there, then the largest at each pixel, scaled to the photo (nearest).
cv::Mat refined_classes_from_logits(std::span<const float> logits, int side, const cv::Mat& rgb);

/// The colour of MANGO's studio backdrop (RGB; the mean corner of 300 catalog photos).
inline const cv::Vec3b kStudioBackdrop{236, 235, 233};

/// A worn piece as the catalog shows a garment, ready for the recommender: the photo's pixels under
/// its mask, every other pixel `backdrop`, cropped to the piece's box grown by a tenth of its longer
/// side on every side (within the photo). `rgb` is the photo the piece was parsed from.
cv::Mat cut_out(const cv::Mat& rgb, const ParsePiece& piece, cv::Vec3b backdrop = kStudioBackdrop);

/// The pieces of a class map (pieces_of is what parse() uses; public for tests).
std::vector<ParsePiece> pieces_of(const cv::Mat& classes);

class Parser {
 public:
  /// Loads models/parse.model. Throws mystyle::Error (kNotFound) naming `mystyle train --model parse`
  /// when it is missing, kCorrupt when it is not a parse model.
  static std::unique_ptr<Parser> open(const Workspace& workspace);

  /// `rgb`: CV_8UC3 (as image::decode_image gives).
  ParseResult parse(const cv::Mat& rgb);

  /// The JSON of `mystyle parse --json`: classes (name, slot), pieces (class, slot, box, share).
  static nlohmann::json to_json(const ParseResult& result, cv::Size photo);

 private:
  explicit Parser(nn::Model model);
  nn::Model model_;
  std::mutex mutex_;
};

}  // namespace mystyle::engine
