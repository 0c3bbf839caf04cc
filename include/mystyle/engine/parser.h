#pragma once
/// Serving the `parse` model (train --model parse): a photo of a person in, a class per pixel
/// (parse_classes.h) at the photo's size and the pieces worn out. Each piece is one garment class's
/// region: its pixels (every part of at least a fifth of its largest part: two shoes are one piece),
/// its box, its share of the photo and the catalog slot it is searched in. parse() may be called
/// from several threads (the network runs under a mutex).
#include <array>
#include <cstdint>
#include <filesystem>
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
  /// How likely the piece's class is right (PieceRule); 1 without a rule.
  double likelihood = 1.0;
};

/// A parsed piece as a sample for fitting a PieceRule: what the parser said of it, and whether the
/// labels under it are a garment of its slot.
struct PieceSample {
  ParseClass part = ParseClass::kBackground;
  double confidence = 0, share = 0;
  bool right = false;
};

/// How likely a parsed piece's class is right, from its class, its confidence and its share of the
/// photo: per class, 1 / (1 + exp(-(b + w_c confidence + w_s ln share))). `mystyle train --model parse`
/// fits it on the training photos and writes it beside the model (models/parse.pieces.json). Pieces
/// less likely than kMinPieceLikelihood to be right are left out of a search (pieces.h).
struct PieceRule {
  /// b, w_c, w_s per class; a class without weights (too few samples) is taken as right.
  std::array<std::optional<std::array<double, 3>>, kParseClasses> weights;
  double likelihood(ParseClass part, double confidence, double share) const;
  nlohmann::json to_json() const;
  /// Throws mystyle::Error (kCorrupt) naming `file` for a malformed rule.
  static PieceRule from_json(const nlohmann::json& j, const std::filesystem::path& file);
};

/// Fits a PieceRule by Newton's method on the log-likelihood (a small ridge keeps it finite when a
/// class's samples separate), one class at a time; classes with fewer than kMinPieceSamples samples,
/// or with samples all right or all wrong, get no weights.
inline constexpr std::size_t kMinPieceSamples = 20;
PieceRule fit_piece_rule(std::span<const PieceSample> samples);

/// The file beside a parse model that holds its rule ("parse.model" -> "parse.pieces.json"), and the
/// model's digest the rule records (a rule of another model is not used).
std::filesystem::path piece_rule_file(const std::filesystem::path& model_file);
std::uint64_t model_file_digest(const std::filesystem::path& model_file);

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

  /// A parser of a model in memory (a training job's), with `rule` (none: every piece likely 1).
  static std::unique_ptr<Parser> of_model(nn::Model model, std::optional<PieceRule> rule = std::nullopt);

  /// `rgb`: CV_8UC3 (as image::decode_image gives).
  ParseResult parse(const cv::Mat& rgb);

  /// The rule the pieces' likelihoods come from (models/parse.pieces.json), if any.
  const std::optional<PieceRule>& piece_rule() const { return rule_; }

  /// The JSON of `mystyle parse --json`: classes (name, slot), pieces (class, slot, box, share).
  static nlohmann::json to_json(const ParseResult& result, cv::Size photo);

 private:
  Parser(nn::Model model, std::optional<PieceRule> rule);
  nn::Model model_;
  std::optional<PieceRule> rule_;
  std::mutex mutex_;
};

}  // namespace mystyle::engine
