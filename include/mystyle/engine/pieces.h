#pragma once
/// Every piece of a photo, each searched: a studio photo of one garment is one piece, answered exactly as
/// Recommender::recommend answers it; a photo of a person wearing an outfit gives one piece per garment
/// region the parser finds (parser.h), each cut out on the studio backdrop and searched among the catalog
/// items of its slot. The top-level answer is the most prominent piece's (the largest one the catalog
/// sells), or the piece the caller chose.
///
/// Which is which: a photo with almost no skin-coloured pixels, or a garment on a studio backdrop that
/// is skin-coloured nearly all over (image/skin.h, about 0.05 ms), is a garment alone and never reaches
/// the parser, so studio photos keep their speed. Any other photo is parsed; it is
/// a person when the parser gives the person class (skin, hair) at least kMinPersonShare of it, and
/// otherwise still one garment (a beige coat, say), answered as before. Without a parse model in the
/// workspace every photo is one piece, and the answer says how to get pieces.
#include <cstddef>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mystyle/engine/parser.h"
#include "mystyle/engine/recommender.h"

namespace mystyle::engine {

/// A parsed photo is a person when the person class covers at least this share of it.
inline constexpr double kMinPersonShare = 0.005;
/// A piece the parser gives less confidence than this (ParsePiece::confidence) is left out: 0, none.
/// Measured (`mystyle eval worn --min-confidence C`, docs/parsing.md): leaving out the pieces under 0.5
/// raises the held-out pieces' right slot from 0.62 to 0.71 but finds fewer of the garments worn (0.64
/// to 0.55), and a garment named for a tag-only photo is then found 0.69 of the time instead of 0.95.
/// One threshold for every class hides too many right pieces; kMinPieceLikelihood (a rule per class) is
/// what leaves unsure pieces out.
inline constexpr double kMinPieceConfidence = 0.0;
/// A piece less likely than this to be of the right class (ParsePiece::likelihood, the parse model's
/// PieceRule fitted on its training photos) is left out and listed as unsure: a piece more likely wrong
/// than right is not shown as a garment. Measured in docs/parsing.md ("Unsure pieces").
inline constexpr double kMinPieceLikelihood = 0.5;

/// Which piece the top-level answer is about: by its place in pieces[] or by its class name
/// ("bottom", "shoes", ...; the largest piece of that class).
struct PieceChoice {
  std::optional<std::size_t> index;
  std::optional<ParseClass> part;
  /// "2" or a class name; throws mystyle::Error (kInvalidInput) naming the classes otherwise.
  static PieceChoice parse(std::string_view text);
  std::string text() const;
};

struct PhotoPiece {
  /// The region: for a worn piece its class, catalog slot (a top under outerwear is `inner_top`, or
  /// `main_top` in a catalog that sells no inner tops), box, share and mask; for a studio photo, part
  /// kBackground, the slot of the best match, the object box, and no mask.
  ParsePiece region;
  bool sold = true;          ///< the catalog has items of its slot (else it is not searched)
  cv::Mat cutout;            ///< the piece on the studio backdrop as it was searched (worn pieces)
  RecommendResult match;     ///< its search (empty when not sold)
};

struct PiecesResult {
  std::string name;
  cv::Size photo;                    ///< the decoded photo's size: boxes and outlines are in its pixels
  bool worn = false;                 ///< a person wearing the pieces
  bool parsed = false;               ///< the parser ran (the skin test let it)
  double skin_share = 0;             ///< image::SkinTest::skin_share of the photo
  std::optional<ParseResult> parse;  ///< when parsed
  std::vector<PhotoPiece> pieces;    ///< worn: largest first; studio: exactly one
  std::optional<std::size_t> chosen; ///< the piece the top-level answer is about; none when nothing is sold
  std::string note;                  ///< for a person with no piece the catalog sells, or no parser
  /// Pieces left out as more likely wrong than right (no mask kept); a PieceChoice naming one's class
  /// searches it as a piece.
  std::vector<ParsePiece> unsure;
  double decode_ms = 0, gate_ms = 0;
  /// The chosen piece's match (the top-level answer), or nullptr.
  const RecommendResult* top() const;
  double total_ms() const;
};

class PieceSearch {
 public:
  /// `recommender` must outlive it. Loads models/parse.model when the workspace has one (else every
  /// photo is one piece). Throws mystyle::Error when the parse model exists but does not load.
  static std::unique_ptr<PieceSearch> open(const Workspace& workspace, Recommender& recommender);
  /// Every photo one piece (a server whose parse model did not load still answers).
  static std::unique_ptr<PieceSearch> without_parser(Recommender& recommender);
  /// The same search over `next`, an edited version of its recommender (Recommender::with_edits),
  /// sharing this one's parser; `added`: the items the edits added.
  std::unique_ptr<PieceSearch> over(Recommender& next, std::span<const catalog::Item> added) const;
  bool has_parser() const { return parser_ != nullptr; }
  /// Pieces under this confidence are left out (default kMinPieceConfidence; 0 keeps every piece).
  void set_min_confidence(double c) { min_confidence_ = c; }
  /// Pieces less likely than this to be right are left out (default kMinPieceLikelihood; 0 keeps all).
  void set_min_likelihood(double l) { min_likelihood_ = l; }
  /// Sets up the parser's inference plan (its first call costs a few hundred ms), when there is one.
  void warm_up();
  Recommender& recommender() const { return recommender_; }

  /// The photo's pieces, each searched with `request` (a worn piece among its slot's items, as its
  /// slot). Throws mystyle::Error for an undecodable or oversized image, bad parameters, or a `choice`
  /// that names no piece found (kInvalidInput, listing the pieces).
  PiecesResult find(std::span<const std::uint8_t> image_bytes, const std::string& name,
                    const RecommendRequest& request, const PieceChoice& choice = {});
  /// The same on a photo Recommender::decode gave.
  PiecesResult find(const cv::Mat& rgb, const std::string& name, const RecommendRequest& request,
                    const PieceChoice& choice = {});

  /// find() after the skin test: `parse` is the photo's parse (nullopt: a garment alone); `result`
  /// may carry find()'s timings. Public so that a test can give a class map of its own.
  PiecesResult search_parsed(const cv::Mat& rgb, const std::string& name, const RecommendRequest& request,
                             std::optional<ParseResult> parse, const PieceChoice& choice = {},
                             PiecesResult result = {});

  /// The document of `mystyle recommend --json` and POST /api/recommend: the top-level fields are the
  /// chosen piece's Recommender::to_json (so clients of one-garment answers keep working), then `worn`,
  /// `photo`, `note`, `parse` and `pieces[]`, each piece with its class, slot, box, share, outline
  /// (polygons in photo pixels), sold, and its own `similar` and `outfits`.
  nlohmann::json to_json(const PiecesResult& result, const RecommendRequest& request,
                         bool include_images = false) const;

 private:
  /// `sold` empty: read off the recommender's catalog.
  PieceSearch(Recommender& recommender, std::shared_ptr<Parser> parser, std::vector<bool> sold = {});
  Recommender& recommender_;
  std::shared_ptr<Parser> parser_;  ///< shared with the versions over edited recommenders (over())
  std::vector<bool> sold_;  ///< per catalog::Slot: the catalog has items of it
  double min_confidence_ = kMinPieceConfidence;
  double min_likelihood_ = kMinPieceLikelihood;
};

/// A piece's outline: the outer contours of `mask` (CV_8UC1), simplified to within 1% of the photo's
/// diagonal, as [[x, y], ...] polygons.
nlohmann::json outline_json(const cv::Mat& mask);

}  // namespace mystyle::engine
