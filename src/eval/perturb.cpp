#include "mystyle/eval/perturb.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <numbers>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <random>
#include <vector>

#include "mystyle/core/error.h"
#include "mystyle/image/perturb.h"

namespace mystyle::eval {
namespace {

// ---- Transfer edits: the garment cut out of the studio and put elsewhere ----

/// The random choices of one edit.
class EditRng {
 public:
  explicit EditRng(std::uint64_t seed) : gen_(seed) {}
  double uniform(double lo, double hi) { return std::uniform_real_distribution<double>(lo, hi)(gen_); }
  int below(int n) { return static_cast<int>(gen_() % static_cast<std::uint64_t>(n)); }
  double sign() { return below(2) == 0 ? -1.0 : 1.0; }
  cv::RNG noise() { return cv::RNG(gen_()); }

 private:
  std::mt19937_64 gen_;
};

/// Smooth noise in [-1, 1]: random values on a grid of cell_x x cell_y pixels, bicubic in between.
cv::Mat value_noise(cv::Size size, double cell_x, double cell_y, cv::RNG& rng) {
  const int gw = static_cast<int>(std::ceil(size.width / cell_x)) + 2;
  const int gh = static_cast<int>(std::ceil(size.height / cell_y)) + 2;
  cv::Mat grid(gh, gw, CV_32F);
  rng.fill(grid, cv::RNG::UNIFORM, -1.0, 1.0);
  cv::Mat big;
  cv::resize(grid, big, cv::Size(static_cast<int>(gw * cell_x), static_cast<int>(gh * cell_y)), 0, 0,
             cv::INTER_CUBIC);
  return big(cv::Rect(0, 0, size.width, size.height)).clone();
}

/// Gaussian noise of `sigma` levels, one value per pixel shared by the three channels (film grain).
cv::Mat grain(cv::Size size, double sigma, cv::RNG& rng) {
  cv::Mat g(size, CV_32F);
  rng.fill(g, cv::RNG::NORMAL, 0.0, sigma);
  return g;
}

/// out = base colour + offsets (one-channel maps added to the three channels), as CV_32FC3.
cv::Mat tint(const cv::Mat& offsets, const cv::Vec3f& base) {
  cv::Mat out(offsets.size(), CV_32FC3);
  out.forEach<cv::Vec3f>([&](cv::Vec3f& px, const int* pos) {
    const float v = offsets.at<float>(pos[0], pos[1]);
    px = cv::Vec3f(base[0] + v, base[1] + v, base[2] + v);
  });
  return out;
}

/// Boards running across the frame: per-board tone, wavy growth rings, streaks, dark seams.
cv::Mat wood_texture(cv::Size size, EditRng& er) {
  cv::RNG rng = er.noise();
  const double board = size.height / er.uniform(4.0, 7.0), rings = er.uniform(4.0, 8.0);
  const double s = er.uniform(0.75, 1.1);
  const cv::Vec3f dark(105 * s, 70 * s, 42 * s), light(185 * s, 140 * s, 92 * s);
  const cv::Mat wave = value_noise(size, size.width / 2.5, board / 3, rng);
  const cv::Mat streak = value_noise(size, size.width / 10.0, 2.0, rng);
  std::vector<float> tone(static_cast<std::size_t>(size.height / board) + 2);
  for (float& t : tone) t = static_cast<float>(er.uniform(-0.2, 0.2));
  cv::Mat out(size, CV_32FC3);
  out.forEach<cv::Vec3f>([&](cv::Vec3f& px, const int* pos) {
    const int y = pos[0], x = pos[1];
    const auto b = static_cast<std::size_t>(y / board);
    const double in_board = y - static_cast<double>(b) * board;
    const double ring =
        std::sin(2 * std::numbers::pi * (in_board * rings / board + 1.2 * wave.at<float>(y, x) + 0.37 * b));
    double v = std::clamp(0.5 + 0.22 * ring + 0.15 * streak.at<float>(y, x) + tone[b], 0.0, 1.0);
    if (in_board < 1.5) v *= 0.45;  // the gap between two boards
    px = dark + (light - dark) * static_cast<float>(v);
  });
  return out + tint(grain(size, 3, rng), {0, 0, 0});
}

/// A plain weave (fine crossing threads, uneven thread by thread) with soft creases.
cv::Mat fabric_texture(cv::Size size, EditRng& er) {
  static const std::array<cv::Vec3f, 5> kColours = {cv::Vec3f(206, 196, 176), cv::Vec3f(78, 98, 138),
                                                    cv::Vec3f(148, 164, 138), cv::Vec3f(168, 168, 172),
                                                    cv::Vec3f(200, 170, 165)};
  cv::RNG rng = er.noise();
  const cv::Vec3f base = kColours[static_cast<std::size_t>(er.below(kColours.size()))];
  const double period = er.uniform(3.0, 4.5);
  std::vector<float> row(static_cast<std::size_t>(size.height)), col(static_cast<std::size_t>(size.width));
  for (float& v : row) v = static_cast<float>(rng.gaussian(5));
  for (float& v : col) v = static_cast<float>(rng.gaussian(5));
  const cv::Mat creases = value_noise(size, size.width / 2.0, size.height / 3.0, rng);
  cv::Mat offsets(size, CV_32F);
  offsets.forEach<float>([&](float& v, const int* pos) {
    const int y = pos[0], x = pos[1];
    const double weave =
        8 * std::sin(2 * std::numbers::pi * x / period) * std::sin(2 * std::numbers::pi * y / period);
    v = static_cast<float>(row[static_cast<std::size_t>(y)] + col[static_cast<std::size_t>(x)] + weave +
                           18 * creases.at<float>(y, x));
  });
  return tint(offsets + grain(size, 2, rng), base);
}

/// A painted wall: a diagonal gradient between two colours, blotchy, with a little grain.
cv::Mat wall_texture(cv::Size size, EditRng& er) {
  cv::RNG rng = er.noise();
  const cv::Vec3f a(static_cast<float>(er.uniform(90, 230)), static_cast<float>(er.uniform(90, 230)),
                    static_cast<float>(er.uniform(90, 230)));
  const cv::Vec3f b = a * static_cast<float>(er.uniform(0.65, 0.85));
  const double angle = er.uniform(0, 2 * std::numbers::pi);
  const double dx = std::cos(angle), dy = std::sin(angle);
  const double half = 0.5 * (std::abs(dx) * size.width + std::abs(dy) * size.height);
  const cv::Mat blotch = value_noise(size, size.width / 4.0, size.height / 4.0, rng);
  const cv::Mat fine = grain(size, 2.5, rng);
  cv::Mat out(size, CV_32FC3);
  out.forEach<cv::Vec3f>([&](cv::Vec3f& px, const int* pos) {
    const int y = pos[0], x = pos[1];
    const double t = 0.5 + 0.5 * ((x - size.width / 2.0) * dx + (y - size.height / 2.0) * dy) / half;
    const float v = 8 * blotch.at<float>(y, x) + fine.at<float>(y, x);
    px = a + (b - a) * static_cast<float>(t) + cv::Vec3f(v, v, v);
  });
  return out;
}

/// Concrete or stone: grey with noise at several scales and a few dark pits.
cv::Mat concrete_texture(cv::Size size, EditRng& er) {
  cv::RNG rng = er.noise();
  const float g = static_cast<float>(er.uniform(115, 175)), warm = static_cast<float>(er.uniform(-6, 6));
  cv::Mat offsets = grain(size, 6, rng);
  for (double cell = size.width / 3.0, amp = 16; cell >= 3; cell /= 2, amp *= 0.6) {
    offsets += amp * value_noise(size, cell, cell, rng);
  }
  for (int pits = size.width * size.height / 900; pits-- > 0;) {
    const cv::Point c(rng.uniform(0, size.width), rng.uniform(0, size.height));
    cv::circle(offsets, c, rng.uniform(1, 3), cv::Scalar(-40), cv::FILLED, cv::LINE_AA);
  }
  return tint(offsets, {g + warm, g, g - warm});
}

/// One of the four textures, chosen by the seed.
cv::Mat random_texture(cv::Size size, EditRng& er) {
  switch (er.below(4)) {
    case 0:
      return wood_texture(size, er);
    case 1:
      return fabric_texture(size, er);
    case 2:
      return wall_texture(size, er);
    default:
      return concrete_texture(size, er);
  }
}

/// A light falling from one side (x0.5 on the far side to x1.3 on the near one, direction by seed)
/// and a warm (tungsten) or cool (shade) white balance; values saturate.
cv::Mat relight(const cv::Mat& rgb, EditRng& er) {
  const double angle = er.uniform(0, 2 * std::numbers::pi);
  const double dx = std::cos(angle), dy = std::sin(angle);
  const double half = 0.5 * (std::abs(dx) * rgb.cols + std::abs(dy) * rgb.rows);
  const cv::Vec3d balance = er.below(2) == 0 ? cv::Vec3d(1.10, 1.0, 0.80) : cv::Vec3d(0.85, 0.97, 1.12);
  cv::Mat out(rgb.size(), CV_8UC3);
  out.forEach<cv::Vec3b>([&](cv::Vec3b& px, const int* pos) {
    const int y = pos[0], x = pos[1];
    const double t = 0.5 + 0.5 * ((x - rgb.cols / 2.0) * dx + (y - rgb.rows / 2.0) * dy) / half;
    const double light = 0.5 + 0.8 * t;
    const cv::Vec3b in = rgb.at<cv::Vec3b>(y, x);
    for (int c = 0; c < 3; ++c) px[c] = cv::saturate_cast<std::uint8_t>(in[c] * light * balance[c]);
  });
  return out;
}

/// The garment cut out of its photo: premultiplied colour and a soft alpha (CV_32FC3, CV_32F in
/// [0, 1]), the studio background with the garment filled in (CV_32FC3), and the garment's box.
struct Cutout {
  cv::Mat premultiplied, alpha, plate;
  cv::Rect box;
};

/// The background under the garment, guessed by push-pull: background pixels averaged over a
/// pyramid, coarser levels filling what finer ones do not know. Smooth, follows the studio's gradient.
cv::Mat fill_background(const cv::Mat& rgb_f, const cv::Mat& known) {
  cv::Mat known3;
  cv::merge(std::vector<cv::Mat>{known, known, known}, known3);
  std::vector<cv::Mat> colour{rgb_f.mul(known3)}, weight{known};
  while (std::min(colour.back().rows, colour.back().cols) > 4) {
    cv::Mat c, w;
    cv::pyrDown(colour.back(), c);
    cv::pyrDown(weight.back(), w);
    colour.push_back(c);
    weight.push_back(w);
  }
  const cv::Scalar total = cv::sum(colour.back()), w_total = cv::sum(weight.back());
  const double n = std::max(w_total[0], 1e-9);
  cv::Mat filled(
      colour.back().size(), CV_32FC3,
      w_total[0] > 1e-9 ? cv::Scalar(total[0] / n, total[1] / n, total[2] / n) : cv::Scalar::all(240));
  for (std::size_t l = colour.size(); l-- > 0;) {
    cv::Mat up;
    if (filled.size() == colour[l].size()) {
      up = filled;
    } else {
      cv::pyrUp(filled, up, colour[l].size());
    }
    cv::Mat w3;
    cv::merge(std::vector<cv::Mat>{weight[l], weight[l], weight[l]}, w3);
    filled = colour[l] + up.mul(cv::Scalar::all(1) - w3);
  }
  return filled;
}

cv::Mat known_weights(const cv::Mat& unknown) {
  cv::Mat known;
  cv::dilate(unknown, known, cv::Mat(), cv::Point(-1, -1), 2);
  known = 255 - known;
  known.convertTo(known, CV_32F, 1.0 / 255);
  return known;
}

/// Outline pixels: in some channel, the neighbours two apart (left and right, or above and below)
/// differ by more than `near_levels`, or those four apart by more than `far_levels` (a soft edge).
cv::Mat outline_pixels(const cv::Mat& rgb, int near_levels, int far_levels) {
  cv::Mat out(rgb.size(), CV_8U, cv::Scalar(0));
  out.forEach<std::uint8_t>([&](std::uint8_t& px, const int* pos) {
    const int y = pos[0], x = pos[1];
    const auto at = [&](int yy, int xx) {
      return rgb.at<cv::Vec3b>(std::clamp(yy, 0, rgb.rows - 1), std::clamp(xx, 0, rgb.cols - 1));
    };
    for (const auto [dy, dx, limit] : {std::array{0, 1, near_levels}, std::array{1, 0, near_levels},
                                       std::array{0, 2, far_levels}, std::array{2, 0, far_levels}}) {
      const cv::Vec3b a = at(y - dy, x - dx), b = at(y + dy, x + dx);
      for (int c = 0; c < 3; ++c) {
        if (std::abs(a[c] - b[c]) > limit) {
          px = 255;
          return;
        }
      }
    }
  });
  return out;
}

/// Drops the components of `mask` under `min_area` pixels.
cv::Mat without_specks(const cv::Mat& mask, double min_area) {
  std::vector<std::vector<cv::Point>> contours;
  std::vector<cv::Vec4i> hierarchy;
  cv::findContours(mask, contours, hierarchy, cv::RETR_CCOMP, cv::CHAIN_APPROX_NONE);
  cv::Mat out(mask.size(), CV_8U, cv::Scalar(0));
  // Outer contours with their holes (RETR_CCOMP: two levels), drawn together so holes stay holes.
  for (int i = 0; i >= 0 && i < static_cast<int>(contours.size());
       i = hierarchy[static_cast<std::size_t>(i)][0]) {
    if (cv::contourArea(contours[static_cast<std::size_t>(i)]) >= min_area)
      cv::drawContours(out, contours, i, 255, cv::FILLED, cv::LINE_8, hierarchy, 1);
  }
  return out & mask;
}

/// The garment by GrabCut on a copy at most 160 px on its longer side (colour models of garment and
/// background, and a smoothness term, iterated), started from what a flood fill from the border that
/// never crosses an outline leaves: it separates a white garment from an off-white studio where a
/// flood fill alone leaks in. CV_8U, 255 = garment; all 255 when nothing stands out.
cv::Mat segment_garment(const cv::Mat& rgb) {
  const double shrink = std::min(1.0, 160.0 / std::max(rgb.rows, rgb.cols));
  cv::Mat small;
  cv::resize(rgb, small, cv::Size(), shrink, shrink, cv::INTER_AREA);
  cv::Mat outline = outline_pixels(small, /*near_levels=*/5, /*far_levels=*/7);
  cv::morphologyEx(outline, outline, cv::MORPH_CLOSE, cv::getStructuringElement(cv::MORPH_ELLIPSE, {5, 5}));
  const cv::Mat start = 255 - image::flood_from_border(small, /*tolerance=*/3, outline);
  if (cv::countNonZero(start) == 0) return cv::Mat(rgb.size(), CV_8U, cv::Scalar(255));
  // Seeds: sure background outside the start's box (grown by 4 px). Inside the start, pixels whose
  // colour differs from the background behind them (guessed from around the start) by 12 levels or
  // more, on average over the channels, are probably garment; the others (a gap between trouser
  // legs) and those that differ only as studio light and shadow do (the background's colour at
  // x0.8 to x1.2 brightness) probably background. A light garment (three quarters of the start
  // within 40 levels of the background) is all probably garment: its colour is the studio's.
  const cv::Rect box =
      (cv::boundingRect(start) + cv::Size(8, 8) - cv::Point(4, 4)) & cv::Rect(0, 0, small.cols, small.rows);
  cv::Mat small_f;
  small.convertTo(small_f, CV_32FC3);
  const cv::Mat behind = fill_background(small_f, known_weights(start));
  cv::Mat diff(small.size(), CV_32F), lighting(small.size(), CV_8U);
  lighting.forEach<std::uint8_t>([&](std::uint8_t& out, const int* pos) {
    const cv::Vec3f px = small_f.at<cv::Vec3f>(pos[0], pos[1]), bg = behind.at<cv::Vec3f>(pos[0], pos[1]);
    cv::Vec3f ratio;
    float sum = 0;
    for (int c = 0; c < 3; ++c) {
      ratio[c] = px[c] / std::max(bg[c], 1.0f);
      sum += std::abs(px[c] - bg[c]);
    }
    diff.at<float>(pos[0], pos[1]) = sum / 3;
    const float k = (ratio[0] + ratio[1] + ratio[2]) / 3;
    float spread = 0;
    for (int c = 0; c < 3; ++c) spread = std::max(spread, std::abs(ratio[c] - k));
    out = k > 0.8f && k < 1.2f && spread < 0.04f ? 255 : 0;
  });
  std::vector<float> inside;
  for (int y = 0; y < small.rows; ++y) {
    for (int x = 0; x < small.cols; ++x) {
      if (start.at<std::uint8_t>(y, x)) inside.push_back(diff.at<float>(y, x));
    }
  }
  const auto q3 = inside.begin() + static_cast<std::ptrdiff_t>(inside.size() * 3 / 4);
  std::ranges::nth_element(inside, q3);
  cv::Mat seeds = *q3 < 40 ? start : start & (diff >= 12) & ~lighting;
  if (cv::countNonZero(seeds) == 0) seeds = start;
  cv::Mat labels(small.size(), CV_8U, cv::Scalar(cv::GC_BGD));
  labels(box).setTo(cv::GC_PR_BGD);
  labels.setTo(cv::GC_PR_FGD, seeds);
  // GrabCut needs samples of both.
  if (cv::countNonZero(seeds) == small.rows * small.cols) return cv::Mat(rgb.size(), CV_8U, cv::Scalar(255));
  cv::Mat bgr, background_model, garment_model;
  cv::cvtColor(small, bgr, cv::COLOR_RGB2BGR);
  cv::setRNGSeed(1);  // GrabCut's k-means draws from OpenCV's global generator
  cv::grabCut(bgr, labels, box, background_model, garment_model, /*iterCount=*/4, cv::GC_INIT_WITH_MASK);
  cv::Mat mask = (labels == cv::GC_FGD) | (labels == cv::GC_PR_FGD), full;
  mask = without_specks(mask, small.rows * small.cols / 500.0);
  if (cv::countNonZero(mask) == 0) return cv::Mat(rgb.size(), CV_8U, cv::Scalar(255));
  cv::resize(mask, full, rgb.size(), 0, 0, cv::INTER_LINEAR);
  return full > 127;
}

Cutout cut_out(const cv::Mat& rgb, const GarmentCutout& garment) {
  Cutout cut;
  cut.box = cv::boundingRect(garment.mask);
  garment.background.convertTo(cut.plate, CV_32FC3);
  // One pixel in from the outline: those pixels mix the garment with the studio background and
  // would draw a light halo on a dark surface.
  cv::Mat inner, rgb_f;
  cv::erode(garment.mask, inner, cv::Mat(), cv::Point(-1, -1), 1);
  inner.convertTo(cut.alpha, CV_32F, 1.0 / 255);
  cv::GaussianBlur(cut.alpha, cut.alpha, cv::Size(0, 0), 0.8);
  cv::Mat a3;
  cv::merge(std::vector<cv::Mat>{cut.alpha, cut.alpha, cut.alpha}, a3);
  rgb.convertTo(rgb_f, CV_32FC3);
  cut.premultiplied = rgb_f.mul(a3);
  return cut;
}

/// The cutout moved by a 3x3 homography (an affine one for most edits).
Cutout moved(const Cutout& cut, const cv::Matx33d& h) {
  Cutout out = cut;
  cv::warpPerspective(cut.premultiplied, out.premultiplied, h, cut.alpha.size(), cv::INTER_LINEAR,
                      cv::BORDER_CONSTANT, cv::Scalar::all(0));
  cv::warpPerspective(cut.alpha, out.alpha, h, cut.alpha.size(), cv::INTER_LINEAR, cv::BORDER_CONSTANT, 0);
  cv::Mat solid = out.alpha > 0.5;
  out.box = cv::countNonZero(solid) > 0 ? cv::boundingRect(solid) : cv::Rect();
  return out;
}

/// Darkens `surface` (CV_32FC3) under a soft shadow cast by the garment towards the lower right or left.
void cast_shadow(cv::Mat& surface, const cv::Mat& alpha, EditRng& er) {
  const double dx = er.sign() * er.uniform(0.015, 0.03) * alpha.cols,
               dy = er.uniform(0.02, 0.035) * alpha.rows;
  const cv::Matx23d shift(1, 0, dx, 0, 1, dy);
  cv::Mat shadow;
  cv::warpAffine(alpha, shadow, shift, alpha.size(), cv::INTER_LINEAR, cv::BORDER_CONSTANT, 0);
  cv::GaussianBlur(shadow, shadow, cv::Size(0, 0), 0.02 * std::min(alpha.cols, alpha.rows) + 1);
  const double strength = er.uniform(0.35, 0.5);
  cv::Mat keep = cv::Scalar::all(1) - shadow * strength, keep3;
  cv::merge(std::vector<cv::Mat>{keep, keep, keep}, keep3);
  surface = surface.mul(keep3);
}

/// The cutout over `background` (CV_32FC3), as CV_8UC3.
cv::Mat composite(const Cutout& cut, const cv::Mat& background) {
  cv::Mat a3;
  cv::merge(std::vector<cv::Mat>{cut.alpha, cut.alpha, cut.alpha}, a3);
  cv::Mat out_f = cut.premultiplied + background.mul(cv::Scalar::all(1) - a3), out;
  out_f.convertTo(out, CV_8UC3);
  return out;
}

cv::Point2d centre_of(const cv::Rect& r) {
  return {r.x + r.width / 2.0, r.y + r.height / 2.0};
}

/// Scales by `factor_x` x `factor_y` about `centre`.
cv::Matx33d scale_about(cv::Point2d centre, double factor_x, double factor_y) {
  return {factor_x, 0, centre.x * (1 - factor_x), 0, factor_y, centre.y * (1 - factor_y), 0, 0, 1};
}

/// Scales the garment box by `scale` and moves its centre off the frame's centre (12-20% of the
/// width, 8-15% of the height, directions by seed), keeping it inside the frame.
cv::Matx33d small_off_centre(const cv::Rect& box, cv::Size frame, double scale, EditRng& er) {
  const cv::Point2d from = centre_of(box);
  const double w = box.width * scale, h = box.height * scale;
  cv::Point2d to(frame.width / 2.0 + er.sign() * er.uniform(0.12, 0.2) * frame.width,
                 frame.height / 2.0 + er.sign() * er.uniform(0.08, 0.15) * frame.height);
  to.x =
      std::clamp(to.x, std::min(w / 2, frame.width / 2.0), std::max(frame.width - w / 2, frame.width / 2.0));
  to.y = std::clamp(to.y, std::min(h / 2, frame.height / 2.0),
                    std::max(frame.height - h / 2, frame.height / 2.0));
  return {scale, 0, to.x - scale * from.x, 0, scale, to.y - scale * from.y, 0, 0, 1};
}

/// Seen from a standing position at an angle: the top of the frame `keystone` x width narrower on
/// each side and pushed down, a slight turn, all at 92% about the centre.
cv::Matx33d keystone(cv::Size frame, double keystone, EditRng& er) {
  const auto w = static_cast<float>(frame.width), h = static_cast<float>(frame.height);
  const float k = static_cast<float>(keystone) * w, drop = static_cast<float>(er.uniform(0.06, 0.14)) * h;
  const std::array<cv::Point2f, 4> src{cv::Point2f(0, 0), {w, 0}, {w, h}, {0, h}};
  std::array<cv::Point2f, 4> dst{cv::Point2f(k, drop), {w - k, drop}, {w, h}, {0, h}};
  const cv::Matx23d turn = cv::getRotationMatrix2D({w / 2, h / 2}, er.uniform(-6, 6), 0.92);
  for (auto& p : dst) {
    p = cv::Point2f(static_cast<float>(turn(0, 0) * p.x + turn(0, 1) * p.y + turn(0, 2)),
                    static_cast<float>(turn(1, 0) * p.x + turn(1, 1) * p.y + turn(1, 2)));
  }
  return cv::getPerspectiveTransform(src.data(), dst.data());
}

/// A texture seen through the homography (reflected at the frame's edges), as CV_32FC3.
cv::Mat surface_under(const cv::Matx33d& h, cv::Size frame, EditRng& er) {
  cv::Mat surface;
  cv::warpPerspective(random_texture(frame, er), surface, h, frame, cv::INTER_LINEAR, cv::BORDER_REFLECT);
  return surface;
}

/// A crop of the frame's aspect, `fraction` of the smallest one holding `box`, about the box's
/// centre (moved by up to 4%), scaled back to the frame: the garment's edges fall outside.
cv::Mat tight_crop(const cv::Mat& rgb, const cv::Rect& box, double fraction, int border, EditRng& er) {
  const double aspect = static_cast<double>(rgb.cols) / rgb.rows;
  double w = std::max<double>(box.width, box.height * aspect), h = w / aspect;
  w *= fraction;
  h *= fraction;
  const cv::Point2d c =
      centre_of(box) + cv::Point2d(er.uniform(-0.04, 0.04) * w, er.uniform(-0.04, 0.04) * h);
  const double s = rgb.cols / w;
  const cv::Matx23d m(s, 0, -s * (c.x - w / 2), 0, s, -s * (c.y - h / 2));
  cv::Mat out;
  cv::warpAffine(rgb, out, m, rgb.size(), cv::INTER_LINEAR, border);
  return out;
}

/// The garment stretched `factor` times horizontally about its box's centre, on the studio background.
cv::Mat widen(const cv::Mat& rgb, const GarmentCutout& garment, double factor) {
  const Cutout cut = cut_out(rgb, garment);
  return composite(moved(cut, scale_about(centre_of(cut.box), factor, 1.0)), cut.plate);
}

}  // namespace

std::string transfer_edit_name(TransferEdit edit) {
  switch (edit) {
    case TransferEdit::kNone:
      return "none (catalog photo)";
    case TransferEdit::kBackground:
      return "textured background";
    case TransferEdit::kLighting:
      return "side light + warm/cool";
    case TransferEdit::kSmall:
      return "small (50-60%) off-centre";
    case TransferEdit::kTightCrop:
      return "tight crop (edges cut)";
    case TransferEdit::kLaidFlat:
      return "laid flat, at an angle";
    case TransferEdit::kWideCut:
      return "wide cut x1.3-1.4";
    case TransferEdit::kCombined:
      return "all combined";
  }
  return "?";
}

GarmentCutout find_garment(const cv::Mat& rgb) {
  if (rgb.empty() || rgb.type() != CV_8UC3) throw Error("find_garment: expected a CV_8UC3 RGB image");
  GarmentCutout garment;
  garment.mask = segment_garment(rgb);
  cv::Mat rgb_f;
  rgb.convertTo(rgb_f, CV_32FC3);
  const cv::Mat first = fill_background(rgb_f, known_weights(garment.mask));
  // The studio shadow under a bag or a shoe would stay behind when the garment moves: background
  // clearly darker (8 levels) than the smoothed background is painted out too.
  cv::Mat smooth, grey_smooth, grey;
  cv::GaussianBlur(first, smooth, cv::Size(0, 0), 0.1 * std::min(rgb.rows, rgb.cols));
  cv::cvtColor(smooth, grey_smooth, cv::COLOR_RGB2GRAY);
  cv::cvtColor(rgb_f, grey, cv::COLOR_RGB2GRAY);
  const cv::Mat shadow = (grey_smooth - grey > 8) & (garment.mask == 0);
  fill_background(rgb_f, known_weights(garment.mask | shadow)).convertTo(garment.background, CV_8UC3);
  return garment;
}

cv::Mat garment_mask(const cv::Mat& rgb) {
  return find_garment(rgb).mask;
}

cv::Mat widen_garment(const cv::Mat& rgb, double factor) {
  if (rgb.empty() || rgb.type() != CV_8UC3) throw Error("widen_garment: expected a CV_8UC3 RGB image");
  return widen(rgb, find_garment(rgb), factor);
}

cv::Mat transfer_edit(const cv::Mat& rgb, TransferEdit edit, std::uint64_t seed) {
  if (rgb.empty() || rgb.type() != CV_8UC3) throw Error("transfer_edit: expected a CV_8UC3 RGB image");
  return transfer_edit(
      rgb,
      edit == TransferEdit::kNone || edit == TransferEdit::kLighting ? GarmentCutout{} : find_garment(rgb),
      edit, seed);
}

cv::Mat transfer_edit(const cv::Mat& rgb, const GarmentCutout& garment, TransferEdit edit,
                      std::uint64_t seed) {
  if (rgb.empty() || rgb.type() != CV_8UC3) throw Error("transfer_edit: expected a CV_8UC3 RGB image");
  const bool needs_garment = edit != TransferEdit::kNone && edit != TransferEdit::kLighting;
  if (needs_garment && (garment.mask.size() != rgb.size() || garment.background.size() != rgb.size()))
    throw Error("transfer_edit: the garment cutout was found in another image");
  // Each edit draws from its own stream, so one query's edits are independent of each other.
  EditRng er(seed * 0x9E3779B97F4A7C15ull + static_cast<std::uint64_t>(edit) + 1);
  switch (edit) {
    case TransferEdit::kNone:
      return rgb.clone();
    case TransferEdit::kBackground:
      return composite(cut_out(rgb, garment), random_texture(rgb.size(), er));
    case TransferEdit::kLighting:
      return relight(rgb, er);
    case TransferEdit::kSmall: {
      const Cutout cut = cut_out(rgb, garment);
      return composite(moved(cut, small_off_centre(cut.box, rgb.size(), er.uniform(0.5, 0.6), er)),
                       cut.plate);
    }
    case TransferEdit::kTightCrop:
      return tight_crop(rgb, cut_out(rgb, garment).box, er.uniform(0.8, 0.88), cv::BORDER_REPLICATE, er);
    case TransferEdit::kLaidFlat: {
      const cv::Matx33d h = keystone(rgb.size(), er.uniform(0.08, 0.14), er);
      const Cutout flat = moved(cut_out(rgb, garment), h);
      cv::Mat surface = surface_under(h, rgb.size(), er);
      cast_shadow(surface, flat.alpha, er);
      return composite(flat, surface);
    }
    case TransferEdit::kWideCut:
      return widen(rgb, garment, er.uniform(1.3, 1.4));
    case TransferEdit::kCombined: {
      const Cutout cut = cut_out(rgb, garment);
      const bool small = er.below(2) == 0;
      cv::Matx33d g = scale_about(centre_of(cut.box), er.uniform(1.3, 1.4), 1.0);
      if (small) {
        g = small_off_centre(cut.box, rgb.size(), er.uniform(0.6, 0.7), er) * g;
      }
      const cv::Matx33d h = keystone(rgb.size(), er.uniform(0.06, 0.1), er);
      const Cutout flat = moved(cut, h * g);
      cv::Mat surface = surface_under(h, rgb.size(), er);
      cast_shadow(surface, flat.alpha, er);
      const cv::Mat lit = relight(composite(flat, surface), er);
      return small ? lit : tight_crop(lit, flat.box, er.uniform(0.8, 0.88), cv::BORDER_REFLECT, er);
    }
  }
  return rgb.clone();
}

}  // namespace mystyle::eval
