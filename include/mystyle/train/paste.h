#pragma once
/// MANGO studio garments for the `parse` model (docs/parsing.md, "MANGO garments"): a catalog item's
/// parse class (its slot, and for `main_top` its category), its mask cut from the light studio
/// backdrop, and the garment pasted onto a person photo over the region its class is worn in.
/// The training job uses them on training designs and training CCP photos only; an evaluation may
/// reuse paste_garment to dress held-out CCP people in held-out MANGO designs. Thread-safe.
#include <opencv2/core/mat.hpp>
#include <optional>

#include "mystyle/catalog/catalog.h"
#include "mystyle/engine/parse_classes.h"
#include "mystyle/nn/rng.h"

namespace mystyle::train {

/// The parse class a catalog item's photo shows, nullopt for items the parser has no class for
/// (`other`, and intimate pieces that are not legwear, such as pyjamas). By slot:
/// main_top -> outerwear when its category is "Outerwear" or its family "Cardigans" (CCP calls a
/// cardigan outerwear), else top; inner_top -> top; bottom -> bottom; dress -> dress; shoes -> shoes;
/// bag -> bag; accessory and hat -> accessory (gadgets such as umbrellas left out); intimate ->
/// legwear for socks, tights, bras, knickers and swimwear only.
std::optional<engine::ParseClass> parse_class_of_item(const catalog::Item& item);

/// The garment of a studio photo (CV_8UC3 RGB, one garment on a light plain backdrop): CV_8UC1, 255 on
/// the garment. The backdrop is what a flood from the frame reaches through small steps of colour
/// (the backdrop's gradients and vignetting) and that stays near the frame's colour
/// (image::estimate_background), and the flat parts of the frame's very colour that the garment
/// encloses (inside a bag's handle) unless they are much of the garment (a white shirt); parts
/// smaller than a fifth of the largest are dropped. Empty (no pixel set) when the photo is not a plain-backdrop product
/// photo: the garment would be under 2% or over 90% of the frame.
cv::Mat studio_garment_mask(const cv::Mat& rgb);

/// A person photo with a garment pasted on.
struct PastedPhoto {
  cv::Mat rgb;      ///< CV_8UC3, the person photo's size
  cv::Mat classes;  ///< CV_8UC1 parse classes: `cls` where the garment was pasted, the person's elsewhere
  cv::Rect box;     ///< where the garment's mask box went (within the photo); empty when nothing was pasted
};

/// Pastes the garment (`garment_rgb` under `garment_mask`, 255 on the garment, its studio photo) onto
/// the person photo (`person_rgb` CV_8UC3 and `person_classes` CV_8UC1 of parse classes, one size),
/// labelled `cls` where pasted. The garment is scaled into the region where `cls` is worn: the box of
/// the person's own pixels of that class when the photo has some (shoes: each of the two largest
/// shoe parts, the second mirrored), else a share of the person's box (top: 15-50% of its height,
/// outerwear 15-60%, bottom 45-85%, dress 15-75%, shoes 90-100%, legwear 65-95%, bag at a hip,
/// accessory at the neck). It is scaled to fit that box (the smaller of the two scales), hung from
/// its top (tops, outerwear, dresses, bottoms), stood on its bottom (shoes) or centred; its size and
/// place are jittered by `rng` (scale 0.9-1.15, a twentieth of the box). Nothing is pasted (rgb and classes are copies, box empty) when the mask is empty or the
/// photo has no person pixels. Throws mystyle::Error (kInvalidInput) for mismatched sizes or types.
PastedPhoto paste_garment(const cv::Mat& person_rgb, const cv::Mat& person_classes, const cv::Mat& garment_rgb,
                          const cv::Mat& garment_mask, engine::ParseClass cls, nn::Rng& rng);

}  // namespace mystyle::train
