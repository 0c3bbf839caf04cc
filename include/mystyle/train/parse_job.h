#pragma once
/// `mystyle train --model parse`: the parsing model (nn spec "parse") learned from scratch on the CCP
/// pixel labels of the training photos (ccp.h: the seeded 80/20 split; held-out photos never reach
/// training) and, when the workspace has a catalog, its studio photos of training designs
/// (catalog/design_split.h; paste.h): each as an example of one garment and no person, and pasted
/// onto CCP training people. Each step: photos cut at a random scale and place, mirrored half the
/// time, light and colour edited, squeezed to the model's square input; per-pixel softmax cross-entropy
/// (nn/pixel_loss.h) with class weights that lift small pieces; Adam on a cosine schedule. A
/// checkpoint every epoch (resumable), then the held-out evaluation with baselines in the same run
/// and a report (loss curve, overlays, per-class IoU).
#include <array>
#include <cstdint>
#include <opencv2/core/mat.hpp>
#include <span>
#include <string>
#include <vector>

#include "mystyle/engine/parse_classes.h"
#include "mystyle/train/ccp.h"
#include "mystyle/train/family.h"

namespace mystyle::train {

/// Pixel counts of predicted class (column) against true class (row), over many photos.
class ParseConfusion {
 public:
  /// `predicted` and `truth`: CV_8UC1 maps of parse classes, the same size.
  void add(const cv::Mat& predicted, const cv::Mat& truth);
  /// Intersection over union of class c (0 when c is in neither).
  double iou(int c) const;
  /// Person (every class but background) against background.
  double foreground_iou() const;
  /// Mean IoU over the garment classes (those with a catalog slot) present in the truth.
  double garment_miou() const;
  double pixel_accuracy() const;
  std::int64_t truth_pixels(int c) const;

 private:
  std::array<std::array<std::int64_t, engine::kParseClasses>, engine::kParseClasses> counts_{};
};

/// What the held-out evaluation measured: the model and its baselines, each a confusion.
struct ParseEvaluation {
  std::vector<std::string>
      methods;  ///< "parse model" (as served), "parse model, no edges", "all background", "position prior",
                ///< "object box + prior", "labels at SxS" and at 2Sx2S (S the model's output side)
  std::vector<ParseConfusion> confusion;
  std::size_t photos = 0;
};

/// The annotated CCP photos of `root`, decoded once: those ccp_held_out(split_seed) puts aside, and
/// the rest for training (at most `max_photos` of each when not 0). The job trains on `train` only.
/// With `validation`, the held-out photos are left out altogether and `held_out` holds instead the
/// validation photos: a seeded fifth of the training photos (ccp_validation), for choosing settings.
struct ParseData {
  std::vector<ParsedPhoto> train, held_out;
  bool validation = false;  ///< `held_out` are validation photos taken from the training photos
};
ParseData load_parse_data(const std::filesystem::path& root, std::uint64_t split_seed, std::size_t max_photos,
                          bool validation = false);
/// Whether a training photo (not ccp_held_out) is a validation photo of a --validation-run.
bool ccp_validation(std::string_view photo_id, std::uint64_t split_seed);

/// A catalog item's studio photo: the garment alone on the backdrop.
struct StudioGarment {
  std::int64_t item_id = 0;
  std::string design;  ///< "<source>/<design>" (catalog/design_split.h)
  engine::ParseClass cls = engine::ParseClass::kBackground;  ///< parse_class_of_item (paste.h)
  cv::Mat rgb, mask;  ///< CV_8UC3 photo; CV_8UC1 studio_garment_mask, 255 on the garment
};

/// The catalog's studio garments: `train` of training designs only, at most `per_class` of each parse
/// class; `held_out` of held-out designs (never trained on; the studio check of the evaluation), at
/// most `held_out_per_class` each. Items are drawn by a seeded hash of their id; items without a
/// parse class, a readable photo or a plausible mask are left out. No catalog.db in the workspace:
/// both empty and `note` says so (the catalog file is never created here).
struct CatalogGarments {
  std::vector<StudioGarment> train, held_out;
  std::size_t unreadable = 0, no_mask = 0;  ///< items left out
  std::string note;
};
CatalogGarments load_catalog_garments(const std::filesystem::path& workspace_root, std::uint64_t split_seed,
                                      std::size_t per_class, std::size_t held_out_per_class, std::uint64_t seed);

/// The family's job (family.h).
TrainSummary run_parse_family(const Workspace& workspace, const TrainOptions& options, OptionSet given);

}  // namespace mystyle::train
