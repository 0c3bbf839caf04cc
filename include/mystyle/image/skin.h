#pragma once
/// A cheap first look (well under a millisecond) that tells a studio photo of a garment alone from a
/// photo that may show a person, so that only the latter pays for the person parser. On a copy scaled
/// to kSkinThumbnailSide it counts the skin-coloured pixels and, on a studio backdrop (a light, nearly
/// grey frame), which share of the garment's pixels they are. A person shows skin (face, hands, legs)
/// beside the clothes; a beige, pink or brown garment alone is skin-coloured nearly all over.
///
/// Measured (docs/parsing.md) on 1,542 MANGO catalog photos and 633 CCP street photos: every CCP photo
/// has a skin share of at least 0.002 and all but 3% a busy frame; 58% of MANGO's garments have less
/// skin colour than that, and of the rest most are skin-coloured over more than 60% of the garment. With
/// both tests 25% of MANGO's photos and 100% of CCP's may show a person.
#include <opencv2/core/mat.hpp>

namespace mystyle::image {

/// The photo is looked at this many pixels on its longer side.
inline constexpr int kSkinThumbnailSide = 96;
/// Below this share of skin-coloured pixels a photo holds no visible person.
inline constexpr double kSkinShareForPerson = 0.002;
/// On a studio backdrop, a garment skin-coloured over at least this share of its pixels is a garment alone.
inline constexpr double kSkinOfGarmentAlone = 0.6;
/// A frame is a studio backdrop when at least this share of its outer band (3 thumbnail pixels) is light
/// and nearly grey (every channel above 200, within 20 of each other).
inline constexpr double kStudioFrameShare = 0.5;

struct SkinTest {
  double skin_share = 0;        ///< skin-coloured pixels, of the photo
  double skin_of_foreground = 0;  ///< of the pixels that are not backdrop-like
  double studio_frame = 0;      ///< share of the outer band that looks like a studio backdrop
  /// The photo may show a person: enough skin colour, and not a garment alone on a studio backdrop
  /// that is skin-coloured nearly all over.
  bool may_show_person() const {
    return skin_share >= kSkinShareForPerson &&
           (studio_frame < kStudioFrameShare || skin_of_foreground < kSkinOfGarmentAlone);
  }
};

/// Skin is Y > 60, 138 <= Cr <= 175, 90 <= Cb <= 128 in YCrCb. Throws mystyle::Error (kInvalidInput)
/// for an empty or non-CV_8UC3 image (`rgb`: RGB order).
SkinTest skin_test(const cv::Mat& rgb);

}  // namespace mystyle::image
