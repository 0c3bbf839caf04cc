#pragma once
/// The colour model (`colour`, issue 24): what a photo's colour family and product type are, read off
/// what the engine already computes, and a ranking that puts both right.
///
/// Two softmax read-outs (nn/softmax_probe.h), fitted by `mystyle train --model colour` on the
/// training designs (train/colour_job.h):
/// - the colour family, from the photo's colour histogram (image/colour_naming.h) beside the style
///   code (times kCodeWeight);
/// - the product type, from the style code.
///
/// Ranking: the style code's nearest `candidates` items by cosine are reordered by
///   cosine + w_colour p(item's family) + w_type p(item's type) + w_joint p(family) p(type),
/// p being the photo's predicted distributions and the item's family and type the catalog's, for a
/// photo whose read-out is confident enough (RankWeights::min_confidence); the others keep the cosine
/// order. The weights and the gate are chosen on the validation designs (never the held-out ones) by
/// the training job. The scores shown stay the cosines; only the order changes.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <opencv2/core/mat.hpp>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "mystyle/engine/workspace.h"
#include "mystyle/nn/softmax_probe.h"

namespace mystyle::engine {

/// The model's name in the workspace: models/colour.json.
inline constexpr const char* kColourModel = "colour";

/// What the confidence gate (RankWeights::min_confidence) reads off a photo.
enum class GateOn {
  kFamily,   ///< the most likely colour family's probability, max p(family)
  kType,     ///< the most likely type's probability, max p(type)
  kProduct,  ///< the two multiplied, max p(family) * max p(type)
};

/// "family", "type" or "product".
const char* gate_on_name(GateOn on);

/// The ranking's weights (see the file comment).
struct RankWeights {
  double colour = 0, type = 0, joint = 0;
  /// Candidates whose cosine is at least this stay first, in cosine order: the photo's own product
  /// (or a photo of it) is not reordered away. The training job sets it to a cosine that another
  /// design's item reaches for only 1 validation photo in 100 (the 99th percentile of the best
  /// other-design cosine).
  double keep_above = 2.0;
  /// The cosine ranking's first this many candidates stay first too (a photo of the product itself,
  /// edited by the light or the camera, is nearly always among them).
  std::size_t keep_first = 0;
  /// The confidence gate: a photo whose confidence (read as `gate_on` says) is below this keeps the
  /// cosine order, unchanged. An edited photo (dark, blurred, on another background) reads flatter
  /// distributions, and the bonus then mostly adds noise. 0: every photo is reordered (the gate off,
  /// as in a colour.json written before the gate).
  double min_confidence = 0;
  GateOn gate_on = GateOn::kFamily;
  bool operator==(const RankWeights&) const = default;
};

/// A photo's predicted colour family and type.
struct PhotoAttributes {
  std::vector<float> colour;  ///< per AttributeModel::families, sums to 1
  std::vector<float> type;    ///< per AttributeModel::types, sums to 1
  std::string colour_family;  ///< the most likely family
  double colour_confidence = 0;
  std::string type_name;  ///< the most likely type
  double type_confidence = 0;
};

class AttributeModel {
 public:
  static constexpr float kCodeWeight = 0.5f;

  std::vector<std::string> families;  ///< sorted: the colour read-out's classes
  std::vector<std::string> types;     ///< sorted: the type read-out's classes
  nn::SoftmaxProbe colour;            ///< on colour_input()
  nn::SoftmaxProbe type;              ///< on the style code
  RankWeights weights;
  std::size_t candidates = 200;  ///< how many cosine neighbours are reordered
  std::uint64_t source_hash = 0;  ///< embedding_source_hash of the style model whose codes it reads
  int code_dim = 0;

  /// The colour read-out's input: colour_naming_features(seen_rgb8), then code * kCodeWeight.
  static std::vector<float> colour_input(const cv::Mat& seen_rgb8, std::span<const float> code);

  /// Throws mystyle::Error (kInvalidInput) when `code` is not code_dim numbers.
  PhotoAttributes predict(const cv::Mat& seen_rgb8, std::span<const float> code) const;
  /// Both read-outs of many inputs at once (colour_rows: [n, colour.dim], codes: [n, code_dim]).
  std::vector<PhotoAttributes> predict_rows(std::span<const float> colour_rows, std::span<const float> codes) const;

  /// Index of a family / type in families / types, or -1.
  int family_code(const std::string& family) const;
  int type_code(const std::string& type_name) const;

  /// What an item of family code `f` and type code `t` (-1 = unknown: no bonus) adds to its cosine for
  /// `photo` under `w`.
  static double bonus(const PhotoAttributes& photo, int f, int t, const RankWeights& w);

  /// models/colour.json, written atomically. Throws mystyle::Error naming the file on failure.
  void save(const std::filesystem::path& path) const;
  /// Throws mystyle::Error naming the file and the field for a missing or malformed one.
  static AttributeModel load(const std::filesystem::path& path);

  /// Rebuilds the name lookups of family_code and type_code (after families or types change).
  void index_names();

 private:
  std::unordered_map<std::string, int> family_index_, type_index_;
};

/// The photo's confidence as the gate reads it (`on`), in [0, 1].
double gate_confidence(const PhotoAttributes& photo, GateOn on);

/// Whether the ranking reorders `photo`'s candidates under `w`: its gate_confidence is at least
/// w.min_confidence. When not, rerank() returns the given (cosine) order.
bool reorders(const PhotoAttributes& photo, const RankWeights& w);

/// The order of `scores.size()` candidates after the reordering (when reorders(photo, w) is false: the
/// given order, 0, 1, 2, ...; else candidates scoring at least
/// w.keep_above first, in their given order; then the others by cosine + bonus; ties: the earlier
/// candidate first):
/// position i of the result is the index of the candidate ranked i-th. `families` / `types` are the
/// candidates' codes (AttributeModel::family_code / type_code).
/// With `first`, only the first that many positions are returned.
std::vector<std::size_t> rerank(const PhotoAttributes& photo, std::span<const double> scores,
                                std::span<const int> families, std::span<const int> types, const RankWeights& w,
                                std::size_t first = SIZE_MAX);

/// Per row i of `codes` ([n, dim], unit length), the `candidates` other rows of highest cosine, best
/// first (ties: the earlier row), as (row, cosine): what the ranking reorders, for a gallery of the
/// rows themselves (leave-one-out, as the evaluation ranks held-out items and the training job
/// validation items).
std::vector<std::vector<std::pair<std::size_t, double>>> leave_one_out_candidates(std::span<const float> codes,
                                                                                 std::size_t dim,
                                                                                 std::size_t candidates);

/// The first `k` rows of each list of `lists` after rerank() with the photos' `photos[i]` and the
/// rows' codes `families` / `types` (indexed by row).
std::vector<std::vector<std::size_t>> rerank_lists(
    const std::vector<std::vector<std::pair<std::size_t, double>>>& lists, std::span<const PhotoAttributes> photos,
    std::span<const int> families, std::span<const int> types, const RankWeights& w, std::size_t k);

/// The workspace's colour model when it reads the codes of the model file whose
/// embedding_source_hash is `source_hash`; std::nullopt when there is none, and when it is stale
/// (then `why`, when given, says which command brings it up to date).
std::optional<AttributeModel> load_current_attribute_model(const Workspace& workspace, std::uint64_t source_hash,
                                                           std::string* why = nullptr);

}  // namespace mystyle::engine
