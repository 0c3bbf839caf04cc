#pragma once
/// Training-time augmentation of preprocessed images: what a user's photo does to a catalog shot
/// (a tilted or off-centre garment, other exposure, a colour cast, softness), applied to the
/// network's input while the target stays the clean image (a denoising autoencoder), so the code
/// learns to ignore these changes. Works on the planar CHW floats in [0, 1] that preprocess()
/// writes; deterministic for a given seed. Thread-safe (no shared state).
#include <cstdint>
#include <span>

namespace mystyle::image {

/// Ranges of the random edits; each is drawn uniformly per image. All zero = identity.
struct AugmentSettings {
  double rotate_deg = 10.0;  ///< rotation in [-r, r] degrees about the centre
  double scale = 0.08;       ///< zoom factor in [1 - s, 1 + s]
  double shift = 0.05;       ///< translation in [-s, s] of the side, each axis
  double exposure = 0.25;    ///< gain in [1 - e, 1 + e] on every channel (then clipped to [0, 1])
  double gamma = 0.25;       ///< tone curve v^g with log g in [-gamma, gamma]
  double tint = 0.08;        ///< a further gain per channel in [1 - t, 1 + t]
  double blur_chance = 0.3;  ///< probability of a Gaussian blur ...
  double blur_sigma = 1.2;   ///< ... with sigma in [0.3, blur_sigma] pixels
  /// Probability of repainting the studio background with a texture (texture_background) before the
  /// other edits: a photo taken elsewhere, on wood, concrete, fabric or a painted wall. Drawn from its
  /// own stream, so 0 (the default) leaves every other edit exactly as before.
  double texture_chance = 0.0;
};

/// Replaces the background of `chw` (pixels within a small distance of the border's median colour)
/// with a procedural texture chosen by `seed`: wood grain, concrete, a woven check, or a painted wall
/// lit from one side. The garment's pixels are kept. Same layout and errors as augment_image.
void texture_background(std::span<float> chw, int channels, int side_px, std::uint64_t seed);

/// Edits one image in place: `chw` holds channels * side * side floats (planar). Geometric edits
/// fill uncovered pixels by replicating the border (the studio background). Throws
/// mystyle::Error (kInvalidInput) when the size does not match or channels is not 1..4.
void augment_image(std::span<float> chw, int channels, int side_px, const AugmentSettings& settings,
                   std::uint64_t seed);

/// Edits the `n` planar images of `batch` (each `channels` x side x side floats) in place, as training
/// does: image i, with its own seed s_i = seed + 0x9E3779B97F4A7C15 * (i + 1), is mirrored left-right
/// when `mirror` and bit 61 of s_i are set, then edited by augment_image(..., s_i). The images are split
/// between `threads` workers (at least 1); the result does not depend on `threads`. Throws like
/// augment_image, and mystyle::Error (kInvalidInput) when `batch` does not hold `n` such images.
void augment_batch(std::span<float> batch, int n, int channels, int side_px, const AugmentSettings& settings,
                   std::uint64_t seed, int threads, bool mirror);

}  // namespace mystyle::image
