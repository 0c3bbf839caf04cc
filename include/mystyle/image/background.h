#pragma once
/// Photos taken away from a studio: a garment on a wooden floor, a patterned bedspread or a painted
/// wall. The object crop (crop.h) finds the object by its outline against a plain backdrop; on a
/// textured one every pixel is an edge and the crop takes the whole frame, so the model sees the
/// floor as much as the garment. Such photos are recognised by the edges in the outer band of the
/// frame, where a studio backdrop has none (and which is not mostly light grey backdrop), and their background is painted out: the object is
/// segmented with GrabCut (initialised with the frame less a thin margin) and every other pixel
/// becomes a plain studio grey. Studio photos are left exactly as they are. Thread-safe.
#include <opencv2/core/mat.hpp>

#include "mystyle/image/crop.h"

namespace mystyle::image {

struct BackgroundOptions {
  /// The outer band, as a fraction of each side, whose edges tell a busy background from a studio's.
  double band_frac = 0.06;
  /// Busy when more than this share of the band's pixels are edge pixels (CropOptions::edge_threshold's
  /// test; a few stray edge pixels already stretch the object crop to the frame) ...
  double busy_edge_share = 0.01;
  /// ... and under this share of the band's pixels look like a studio backdrop (light and nearly grey:
  /// every channel >= 200, within 20 of each other). Close-ups of a garment on a studio backdrop, whose
  /// own pattern fills part of the band: 36% and more in 9 of 10 of `eval transfer`'s tight crops;
  /// textured backgrounds: under 1% in 9 of 10.
  double max_studio_share = 0.2;
  /// GrabCut runs on a copy at most this many pixels a side (speed), with this many iterations.
  int segment_side_px = 160;
  int segment_iterations = 4;
  /// The colour painted over the background (a studio backdrop; preprocess's background reference).
  cv::Vec3b fill{240, 240, 240};
};

/// Share of edge pixels in the outer band of `rgb` (CV_8UC3), by the crop's edge test with threshold
/// `edge_threshold`. Throws mystyle::Error (kInvalidInput) for an empty or non-CV_8UC3 image.
double band_edge_share(const cv::Mat& rgb, const BackgroundOptions& options, int edge_threshold);

/// What paint_out_background did.
struct BackgroundResult {
  cv::Mat rgb;           ///< the photo to crop: `rgb` itself (shared) unless it was repainted
  bool busy = false;     ///< the band looked textured
  bool painted = false;  ///< the background was painted out (false when busy but the segmentation was implausible)
  double edge_share = 0;
  double studio_share = 0;   ///< share of the band that looks like a studio backdrop
  double frame_contact = 0;  ///< busy: share of the frame (less its margin) the segmented object touches
};

/// Recognises a busy background (edges in the band, little studio backdrop) and paints it out (see the file comment). The segmentation is
/// discarded as implausible when it keeps under 3% or over 92% of the frame. `edge_threshold`:
/// the crop's (CropOptions::edge_threshold).
BackgroundResult paint_out_background(const cv::Mat& rgb, const BackgroundOptions& options, int edge_threshold);

}  // namespace mystyle::image
