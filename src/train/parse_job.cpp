#include "mystyle/train/parse_job.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <nlohmann/json.hpp>
#include <numbers>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "common.h"
#include "mystyle/catalog/catalog.h"
#include "mystyle/catalog/design_split.h"
#include "mystyle/core/error.h"
#include "mystyle/core/file_io.h"
#include "mystyle/core/paths.h"
#include "mystyle/core/progress.h"
#include "mystyle/core/threads.h"
#include "mystyle/engine/parser.h"
#include "mystyle/engine/pieces.h"
#include "mystyle/image/crop.h"
#include "mystyle/image/decode.h"
#include "mystyle/image/squeeze.h"
#include "mystyle/nn/adam.h"
#include "mystyle/nn/checkpoint.h"
#include "mystyle/nn/context.h"
#include "mystyle/nn/model_file.h"
#include "mystyle/nn/pixel_loss.h"
#include "mystyle/train/paste.h"
#include "mystyle/train/report_plots.h"

namespace mystyle::train {
namespace {

using engine::kParseClasses;
using engine::ParseClass;
using Clock = std::chrono::steady_clock;

constexpr std::string_view kFamily = "parse";
constexpr int kOverlayPhotos = 6;
/// Epochs when --epochs is not given: about 4 minutes on 2 cores with the catalog's studio photos (245 s;
/// held-out losses still improve at 30 epochs; 60 on CCP alone took 318 s, past the 5-minute budget).
constexpr int kDefaultEpochs = 50;
/// Class weights: (median class frequency / frequency)^kWeightPower, clipped to [kMinWeight, kMaxWeight].
constexpr double kWeightPower = 0.5, kMinWeight = 0.25, kMaxWeight = 5.0;
/// Catalog studio garments: at most this many training-design photos of each parse class, and this
/// many held-out-design photos for the studio check.
constexpr std::size_t kStudioPerClass = 150, kStudioCheckPerClass = 25;
/// Each epoch adds this share of the CCP training photos' count as studio photos (a class drawn
/// uniformly, then one of its garments) ... (docs/parsing.md runs 6-8: more of either cost held-out
/// CCP IoU)
constexpr double kStudioShare = 0.1;
/// ... and pastes a garment onto this share of the CCP photos: of a class the person wears with
/// kPasteWornChance, else of any class.
constexpr float kPasteChance = 0.25f, kPasteWornChance = 0.6f;

/// The catalog slot a parse class is searched in, a top under outerwear and a top alike.
std::optional<catalog::Slot> merged_slot(ParseClass c) { return engine::slot_of(c, /*under_outerwear=*/false); }

/// Every piece the served parser finds in `photos`, judged by their labels: right when at least a third
/// of it is garment and its most common garment class is searched in the piece's slot (as `eval worn`
/// judges a piece, with the parse classes in place of CCP's labels).
std::vector<engine::PieceSample> piece_samples(engine::Parser& parser, const std::vector<ParsedPhoto>& photos) {
  std::vector<engine::PieceSample> out;
  Progress progress("judging the pieces of the training photos", static_cast<std::int64_t>(photos.size()), "photos");
  for (const ParsedPhoto& p : photos) {
    const engine::ParseResult r = parser.parse(p.rgb);
    for (const engine::ParsePiece& piece : r.pieces) {
      std::array<std::int64_t, kParseClasses> counts{};
      std::int64_t total = 0, garment = 0;
      for (int y = 0; y < piece.mask.rows; ++y) {
        const auto* m = piece.mask.ptr<std::uint8_t>(y);
        const auto* c = p.classes.ptr<std::uint8_t>(y);
        for (int x = 0; x < piece.mask.cols; ++x) {
          if (m[x] == 0) continue;
          ++total;
          if (!engine::is_garment(static_cast<ParseClass>(c[x]))) continue;
          ++garment;
          ++counts[c[x]];
        }
      }
      const auto truth = static_cast<ParseClass>(std::ranges::max_element(counts) - counts.begin());
      const bool right = total > 0 && 3 * garment >= total && merged_slot(truth) == merged_slot(piece.part);
      out.push_back({piece.part, piece.confidence, piece.share, right});
    }
    progress.advance();
  }
  progress.finish();
  return out;
}

/// Colours of the classes in overlays (RGB).
const std::array<cv::Vec3b, kParseClasses> kPalette = {{{0, 0, 0},
                                                        {230, 190, 160},
                                                        {220, 40, 40},
                                                        {150, 60, 200},
                                                        {40, 90, 220},
                                                        {240, 130, 30},
                                                        {60, 180, 75},
                                                        {250, 220, 40},
                                                        {70, 220, 220},
                                                        {240, 50, 230}}};

double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

struct EpochRecord {
  int epoch = 0;
  double train_loss = 0, val_loss = 0, val_pixel_accuracy = 0, seconds = 0, images_per_second = 0;
};

void write_history(const std::filesystem::path& path, const std::vector<EpochRecord>& history) {
  std::string csv = "epoch,train_loss,val_loss,val_pixel_accuracy,seconds,images_per_second\n";
  for (const auto& r : history) {
    csv += fmt::format("{},{:.6f},{:.6f},{:.4f},{:.3f},{:.1f}\n", r.epoch, r.train_loss, r.val_loss,
                       r.val_pixel_accuracy, r.seconds, r.images_per_second);
  }
  write_file_atomic(path, csv);
}

std::vector<EpochRecord> read_history(const std::filesystem::path& path, int up_to_epoch) {
  std::vector<EpochRecord> history;
  for (const auto& v : detail::read_history_rows(path, 6, up_to_epoch)) {
    history.push_back({static_cast<int>(v[0]), v[1], v[2], v[3], v[4], v[5]});
  }
  return history;
}

}  // namespace

bool ccp_validation(std::string_view photo_id, std::uint64_t split_seed) {
  return ccp_held_out(photo_id, split_seed ^ 0x56414c49ull);  // "VALI": another fifth, drawn apart
}

ParseData load_parse_data(const std::filesystem::path& root, std::uint64_t split_seed, std::size_t max_photos,
                          bool validation) {
  const CcpSet set = load_ccp(root);
  ParseData data;
  data.validation = validation;
  Progress progress("reading CCP photos", static_cast<std::int64_t>(set.annotated.size()), "photos");
  for (const CcpPhoto& p : set.annotated) {
    const bool held = ccp_held_out(p.id, split_seed);
    if (validation && held) {  // never read in a validation run
      progress.advance();
      continue;
    }
    auto& part = (validation ? ccp_validation(p.id, split_seed) : held) ? data.held_out : data.train;
    if (max_photos == 0 || part.size() < max_photos) part.push_back(load_parsed_photo(set, p));
    progress.advance();
  }
  progress.finish();
  if (data.train.empty() || data.held_out.empty()) {
    throw Error(fmt::format("{}: {} training and {} held-out annotated photos: too few to train '{}'",
                            root.string(), data.train.size(), data.held_out.size(), kFamily),
                ErrorKind::kInvalidInput);
  }
  return data;
}

CatalogGarments load_catalog_garments(const std::filesystem::path& workspace_root, std::uint64_t split_seed,
                                      std::size_t per_class, std::size_t held_out_per_class, std::uint64_t seed) {
  CatalogGarments out;
  if (!std::filesystem::exists(workspace_root / catalog::Catalog::kFileName)) {
    out.note = fmt::format("{} has no catalog: trained on CCP alone (import a catalog to add its studio garments)",
                           workspace_root.string());
    return out;
  }
  catalog::Catalog cat(workspace_root);
  // Each class's items in a seeded order of their ids, training and held-out designs apart.
  struct Pick {
    std::uint64_t key;
    catalog::Item item;
    ParseClass cls;
  };
  std::array<std::vector<Pick>, kParseClasses> train, held;
  for (auto& item : cat.all_items()) {
    if (!item.image_path) continue;
    const auto cls = parse_class_of_item(item);
    if (!cls) continue;
    const bool held_out = catalog::is_held_out_design(item, split_seed);
    const std::uint64_t key = mix64(seed ^ mix64(static_cast<std::uint64_t>(item.id)));
    (held_out ? held : train)[static_cast<std::size_t>(*cls)].push_back({key, std::move(item), *cls});
  }
  std::size_t total = 0;
  for (int c = 0; c < kParseClasses; ++c) {
    for (auto* v : {&train[static_cast<std::size_t>(c)], &held[static_cast<std::size_t>(c)]}) {
      std::ranges::sort(*v, {}, &Pick::key);
    }
    total += std::min(per_class, train[static_cast<std::size_t>(c)].size()) +
             std::min(held_out_per_class, held[static_cast<std::size_t>(c)].size());
  }
  Progress progress("reading catalog studio photos", static_cast<std::int64_t>(total), "photos");
  const auto take = [&](std::vector<Pick>& picks, std::size_t cap, std::vector<StudioGarment>& into) {
    std::size_t taken = 0;
    for (auto& p : picks) {
      if (taken == cap) break;
      ++taken;
      progress.advance();
      StudioGarment g;
      try {
        g.rgb = image::read_image(*p.item.image_path);
      } catch (const Error&) {
        ++out.unreadable;
        continue;
      }
      g.mask = studio_garment_mask(g.rgb);
      if (cv::countNonZero(g.mask) == 0) {
        ++out.no_mask;
        continue;
      }
      g.item_id = p.item.id;
      g.design = p.item.source + "/" + catalog::design_of(p.item.source_id);
      g.cls = p.cls;
      into.push_back(std::move(g));
    }
  };
  for (int c = 0; c < kParseClasses; ++c) {
    take(train[static_cast<std::size_t>(c)], per_class, out.train);
    take(held[static_cast<std::size_t>(c)], held_out_per_class, out.held_out);
  }
  progress.finish();
  if (out.train.empty()) {
    out.note = fmt::format("{}: the catalog has no usable studio photo of a training design: trained on CCP alone",
                           workspace_root.string());
  }
  return out;
}

namespace {

/// A class map squeezed to out_side x out_side (nearest), as the model's output sees it.
void squeeze_labels(const cv::Mat& classes, int out_side, std::span<std::int8_t> labels) {
  cv::Mat small;
  cv::resize(classes, small, cv::Size(out_side, out_side), 0, 0, cv::INTER_NEAREST);
  for (int y = 0; y < out_side; ++y) {
    for (int x = 0; x < out_side; ++x) {
      labels[static_cast<std::size_t>(y * out_side + x)] =
          static_cast<std::int8_t>(small.at<std::uint8_t>(y, x));
    }
  }
}

/// One photo (RGB and its classes) as a training example, edited with `rng`: input [channels, side,
/// side] (engine::parse_input) and labels [out_side, out_side].
void make_example(cv::Mat rgb, cv::Mat classes, int side, int channels, int out_side, nn::Rng& rng,
                  std::span<float> input, std::span<std::int8_t> labels) {
  {
    // A random window of 70-100% of the photo's height (its own aspect), anywhere in the photo.
    const float scale = rng.uniform(0.7f, 1.0f);
    const int w = std::max(8, static_cast<int>(std::lround(rgb.cols * scale)));
    const int h = std::max(8, static_cast<int>(std::lround(rgb.rows * scale)));
    const int x = static_cast<int>(rng.below(static_cast<std::uint64_t>(rgb.cols - w + 1)));
    const int y = static_cast<int>(rng.below(static_cast<std::uint64_t>(rgb.rows - h + 1)));
    const cv::Rect window(x, y, w, h);
    rgb = rgb(window).clone();
    classes = classes(window).clone();
    if (rng.uniform_float() < 0.5f) {
      cv::flip(rgb, rgb, 1);
      cv::flip(classes, classes, 1);
    }
  }
  engine::parse_input(rgb, side, channels, input);
  {
    // Light and colour as street photos vary: exposure, contrast, a colour cast.
    const float gain = rng.uniform(0.7f, 1.3f), contrast = rng.uniform(0.8f, 1.2f);
    const std::array<float, 3> cast = {rng.uniform(0.9f, 1.1f), rng.uniform(0.9f, 1.1f),
                                       rng.uniform(0.9f, 1.1f)};
    const std::size_t plane = static_cast<std::size_t>(side) * static_cast<std::size_t>(side);
    for (std::size_t c = 0; c < 3; ++c) {
      for (std::size_t i = 0; i < plane; ++i) {
        float& v = input[c * plane + i];
        v = std::clamp(((v - 0.5f) * contrast + 0.5f) * gain * cast[c], 0.0f, 1.0f);
      }
    }
  }
  squeeze_labels(classes, out_side, labels);
}

/// (median / frequency)^kWeightPower per class over the training photos' pixels, clipped.
std::vector<float> class_weights(const std::vector<ParsedPhoto>& photos) {
  std::array<double, kParseClasses> count{};
  for (const auto& p : photos) {
    for (int y = 0; y < p.classes.rows; ++y) {
      const std::uint8_t* row = p.classes.ptr<std::uint8_t>(y);
      for (int x = 0; x < p.classes.cols; ++x) count[row[x]] += 1;
    }
  }
  std::vector<double> present;
  for (double c : count) {
    if (c > 0) present.push_back(c);
  }
  std::ranges::sort(present);
  const double median = present.empty() ? 1.0 : present[present.size() / 2];
  std::vector<float> w(kParseClasses);
  for (int c = 0; c < kParseClasses; ++c) {
    const double raw = count[c] > 0 ? std::pow(median / count[c], kWeightPower) : 1.0;
    w[static_cast<std::size_t>(c)] = static_cast<float>(std::clamp(raw, kMinWeight, kMaxWeight));
  }
  return w;
}

/// The position prior: the most frequent class at each of out_side x out_side places of the squeezed
/// training photos.
cv::Mat position_prior(const std::vector<ParsedPhoto>& photos, int out_side) {
  std::vector<std::array<std::int32_t, kParseClasses>> votes(static_cast<std::size_t>(out_side * out_side));
  for (const auto& p : photos) {
    cv::Mat small;
    cv::resize(p.classes, small, cv::Size(out_side, out_side), 0, 0, cv::INTER_NEAREST);
    for (int i = 0; i < out_side * out_side; ++i) votes[static_cast<std::size_t>(i)][small.data[i]] += 1;
  }
  cv::Mat prior(out_side, out_side, CV_8UC1);
  for (int i = 0; i < out_side * out_side; ++i) {
    const auto& v = votes[static_cast<std::size_t>(i)];
    prior.data[i] = static_cast<std::uint8_t>(std::ranges::max_element(v) - v.begin());
  }
  return prior;
}

cv::Mat colourise(const cv::Mat& classes) {
  cv::Mat out(classes.size(), CV_8UC3);
  for (int y = 0; y < classes.rows; ++y) {
    for (int x = 0; x < classes.cols; ++x) out.at<cv::Vec3b>(y, x) = kPalette[classes.at<std::uint8_t>(y, x)];
  }
  return out;
}

cv::Mat blend(const cv::Mat& rgb, const cv::Mat& classes) {
  cv::Mat out;
  cv::addWeighted(rgb, 0.45, colourise(classes), 0.55, 0.0, out);
  return out;
}

/// The model's logits for `photos[indices]` in batches, each handed to `use(index, logits)`.
template <typename Use>
void predict(nn::Model& model, const std::vector<ParsedPhoto>& photos, int batch, Use&& use) {
  const int side = model.spec().image_side_px, channels = model.spec().in_channels;
  const auto in_size = static_cast<std::size_t>(channels * side * side);
  const auto out_size = static_cast<std::size_t>(model.output_shape().size());
  std::vector<float> in, out;
  for (std::size_t start = 0; start < photos.size(); start += static_cast<std::size_t>(batch)) {
    const std::size_t n = std::min<std::size_t>(static_cast<std::size_t>(batch), photos.size() - start);
    in.resize(n * in_size);
    out.resize(n * out_size);
    for (std::size_t i = 0; i < n; ++i) {
      engine::parse_input(photos[start + i].rgb, side, channels, std::span(in).subspan(i * in_size, in_size));
    }
    model.reconstruct(in, static_cast<int>(n), out);
    for (std::size_t i = 0; i < n; ++i)
      use(start + i, std::span<const float>(out).subspan(i * out_size, out_size));
  }
}

/// Validation loss and pixel accuracy at the model's output size (no edits).
std::pair<double, double> validate(nn::Model& model, const std::vector<ParsedPhoto>& photos,
                                   const std::vector<float>& weights, int batch) {
  const int out_side = model.output_shape().height;
  const auto plane = static_cast<std::size_t>(out_side * out_side);
  std::vector<std::int8_t> labels(plane);
  std::vector<float> grad(kParseClasses * plane);
  double loss = 0;
  std::int64_t correct = 0, pixels = 0;
  predict(model, photos, batch, [&](std::size_t i, std::span<const float> logits) {
    squeeze_labels(photos[i].classes, out_side, labels);  // predict() squeezed the photo itself
    nn::PixelLossStats s;
    nn::pixel_cross_entropy(logits, labels, 1, kParseClasses, weights, grad, &s);
    loss += s.loss;
    correct += s.correct;
    pixels += s.pixels;
  });
  return {loss / static_cast<double>(photos.size()),
          pixels > 0 ? static_cast<double>(correct) / static_cast<double>(pixels) : 0.0};
}

ParseEvaluation evaluate(nn::Model& model, const ParseData& data, int batch, std::vector<cv::Mat>* overlays) {
  const int out_side = model.output_shape().height;
  const cv::Mat prior = position_prior(data.train, out_side);
  ParseEvaluation e;
  e.methods = {"parse model", "parse model, no edges", "all background", "position prior", "object box + prior",
               fmt::format("labels at {}x{}", out_side, out_side), fmt::format("labels at {}x{}", 2 * out_side, 2 * out_side)};
  e.confusion.resize(e.methods.size());
  e.photos = data.held_out.size();
  predict(model, data.held_out, batch, [&](std::size_t i, std::span<const float> logits) {
    const ParsedPhoto& p = data.held_out[i];
    // As served: the class map with edges from the photo; and the logits scaled alone.
    const cv::Mat predicted = engine::refined_classes_from_logits(logits, out_side, p.rgb);
    e.confusion[0].add(predicted, p.classes);
    e.confusion[1].add(engine::classes_from_logits(logits, out_side, p.classes.size()), p.classes);
    e.confusion[2].add(cv::Mat::zeros(p.classes.size(), CV_8UC1), p.classes);
    cv::Mat prior_here;
    cv::resize(prior, prior_here, p.classes.size(), 0, 0, cv::INTER_NEAREST);
    e.confusion[3].add(prior_here, p.classes);
    // Today's engine: the object box is the garment. Inside it the prior's class (person where the
    // prior says background), outside background.
    const image::CropBox b = image::find_object_box(p.rgb, image::CropOptions{});
    cv::Mat boxed = cv::Mat::zeros(p.classes.size(), CV_8UC1);
    const cv::Rect box = cv::Rect(b.x, b.y, b.width, b.height) & cv::Rect(0, 0, boxed.cols, boxed.rows);
    prior_here(box).copyTo(boxed(box));
    cv::Mat inside = boxed(box);
    inside.setTo(static_cast<int>(ParseClass::kPerson), inside == 0);
    e.confusion[4].add(boxed, p.classes);
    // The ceiling of an output this coarse: the labels squeezed as training sees them, scaled back as
    // the model's logits are (and the same at twice the side).
    for (int k = 1; k <= 2; ++k) {
      const int s = k * out_side;
      std::vector<std::int8_t> small(static_cast<std::size_t>(s * s));
      squeeze_labels(p.classes, s, small);
      std::vector<float> onehot(static_cast<std::size_t>(kParseClasses * s * s), 0.0f);
      for (std::size_t j = 0; j < small.size(); ++j)
        onehot[static_cast<std::size_t>(small[j]) * small.size() + j] = 1.0f;
      e.confusion[4 + static_cast<std::size_t>(k)].add(engine::classes_from_logits(onehot, s, p.classes.size()),
                                                        p.classes);
    }
    if (overlays != nullptr && overlays->size() < 3 * kOverlayPhotos) {
      overlays->push_back(p.rgb);
      overlays->push_back(blend(p.rgb, p.classes));
      overlays->push_back(blend(p.rgb, predicted));
    }
  });
  return e;
}

nlohmann::json evaluation_json(const ParseEvaluation& e) {
  nlohmann::json methods = nlohmann::json::array();
  for (std::size_t m = 0; m < e.methods.size(); ++m) {
    const ParseConfusion& c = e.confusion[m];
    nlohmann::json per_class = nlohmann::json::object();
    for (int k = 0; k < kParseClasses; ++k) per_class[std::string(engine::kParseClassNames[k])] = c.iou(k);
    methods.push_back({{"method", e.methods[m]},
                       {"person_vs_background_iou", c.foreground_iou()},
                       {"garment_mean_iou", c.garment_miou()},
                       {"pixel_accuracy", c.pixel_accuracy()},
                       {"iou", per_class}});
  }
  return {{"held_out_photos", e.photos}, {"methods", methods}};
}

/// The studio check: held-out designs' studio photos through the model. A studio photo is one garment
/// and no person, as serving reads it.
struct StudioCheck {
  std::size_t photos = 0, no_person = 0, one_right_piece = 0, right_largest = 0;
  ParseConfusion confusion;
};

StudioCheck check_studio(nn::Model& model, const std::vector<StudioGarment>& garments, int batch) {
  const int out_side = model.output_shape().height;
  std::vector<ParsedPhoto> photos;
  for (const auto& g : garments) {
    cv::Mat classes = cv::Mat::zeros(g.mask.size(), CV_8UC1);
    classes.setTo(static_cast<int>(g.cls), g.mask);
    photos.push_back({std::to_string(g.item_id), g.rgb, classes});
  }
  StudioCheck c;
  c.photos = photos.size();
  predict(model, photos, batch, [&](std::size_t i, std::span<const float> logits) {
    const cv::Mat predicted = engine::refined_classes_from_logits(logits, out_side, photos[i].rgb);
    c.confusion.add(predicted, photos[i].classes);
    const double person = static_cast<double>(cv::countNonZero(predicted == static_cast<int>(ParseClass::kPerson))) /
                          static_cast<double>(predicted.total());
    const std::vector<engine::ParsePiece> pieces = engine::pieces_of(predicted);
    if (person < engine::kMinPieceShare) ++c.no_person;
    if (!pieces.empty() && pieces.front().part == garments[i].cls) ++c.right_largest;
    if (person < engine::kMinPieceShare && pieces.size() == 1 && pieces.front().part == garments[i].cls)
      ++c.one_right_piece;
  });
  return c;
}

/// A grid of studio examples and pasted CCP photos as training sees them (before the edits).
cv::Mat example_grid(const ParseData& data, const CatalogGarments& garments, std::uint64_t seed) {
  nn::Rng rng(seed ^ 0x5054ull);
  std::vector<std::vector<cv::Mat>> rows(4);
  const auto add = [&](std::size_t row, const cv::Mat& rgb, const cv::Mat& classes) {
    cv::Mat a, b;
    cv::resize(rgb, a, cv::Size(110, 166), 0, 0, cv::INTER_AREA);
    cv::resize(blend(rgb, classes), b, cv::Size(110, 166), 0, 0, cv::INTER_AREA);
    rows[row].push_back(a);
    rows[row + 1].push_back(b);
  };
  for (int i = 0; i < kOverlayPhotos && !garments.train.empty(); ++i) {
    const StudioGarment& g = garments.train[rng.below(garments.train.size())];
    cv::Mat classes = cv::Mat::zeros(g.mask.size(), CV_8UC1);
    classes.setTo(static_cast<int>(g.cls), g.mask);
    add(0, g.rgb, classes);
    const ParsedPhoto& p = data.train[rng.below(data.train.size())];
    const PastedPhoto pasted = paste_garment(p.rgb, p.classes, g.rgb, g.mask, g.cls, rng);
    add(2, pasted.rgb, pasted.classes);
  }
  return image_grid(rows, {"studio photo", "its labels", "pasted on CCP", "its labels"}, 1);
}

}  // namespace

void ParseConfusion::add(const cv::Mat& predicted, const cv::Mat& truth) {
  if (predicted.size() != truth.size() || predicted.type() != CV_8UC1 || truth.type() != CV_8UC1) {
    throw Error("ParseConfusion: class maps of different sizes or types");
  }
  for (int y = 0; y < truth.rows; ++y) {
    const std::uint8_t* p = predicted.ptr<std::uint8_t>(y);
    const std::uint8_t* t = truth.ptr<std::uint8_t>(y);
    for (int x = 0; x < truth.cols; ++x) {
      if (p[x] >= kParseClasses || t[x] >= kParseClasses) throw Error("ParseConfusion: a class out of range");
      counts_[t[x]][p[x]] += 1;
    }
  }
}

double ParseConfusion::iou(int c) const {
  std::int64_t tp = counts_[c][c], fp = 0, fn = 0;
  for (int k = 0; k < kParseClasses; ++k) {
    if (k == c) continue;
    fp += counts_[k][c];
    fn += counts_[c][k];
  }
  const std::int64_t u = tp + fp + fn;
  return u > 0 ? static_cast<double>(tp) / static_cast<double>(u) : 0.0;
}

double ParseConfusion::foreground_iou() const {
  std::int64_t tp = 0, fp = 0, fn = 0;
  for (int t = 0; t < kParseClasses; ++t) {
    for (int p = 0; p < kParseClasses; ++p) {
      const bool tf = t != 0, pf = p != 0;
      if (tf && pf) tp += counts_[t][p];
      if (!tf && pf) fp += counts_[t][p];
      if (tf && !pf) fn += counts_[t][p];
    }
  }
  const std::int64_t u = tp + fp + fn;
  return u > 0 ? static_cast<double>(tp) / static_cast<double>(u) : 0.0;
}

double ParseConfusion::garment_miou() const {
  double sum = 0;
  int n = 0;
  for (int c = 0; c < kParseClasses; ++c) {
    if (!engine::is_garment(static_cast<ParseClass>(c)) || truth_pixels(c) == 0) continue;
    sum += iou(c);
    ++n;
  }
  return n > 0 ? sum / n : 0.0;
}

double ParseConfusion::pixel_accuracy() const {
  std::int64_t right = 0, all = 0;
  for (int t = 0; t < kParseClasses; ++t) {
    for (int p = 0; p < kParseClasses; ++p) {
      all += counts_[t][p];
      if (t == p) right += counts_[t][p];
    }
  }
  return all > 0 ? static_cast<double>(right) / static_cast<double>(all) : 0.0;
}

std::int64_t ParseConfusion::truth_pixels(int c) const {
  std::int64_t n = 0;
  for (int p = 0; p < kParseClasses; ++p) n += counts_[c][p];
  return n;
}

TrainSummary run_parse_family(const Workspace& workspace, const TrainOptions& options, OptionSet given) {
  const int threads = thread_count(options.threads);
  nn::set_num_threads(threads);
  const std::filesystem::path root = options.data.empty() ? datasets_dir() / "ccp" : options.data;
  const nn::ModelSpec spec = nn::builtin_model_spec(kFamily);
  const int epochs = has(given, Option::kEpochs) ? options.epochs : kDefaultEpochs;
  const int batch = has(given, Option::kBatch) ? options.batch_size : 16;
  const double lr = has(given, Option::kLearningRate) ? options.learning_rate : 2e-3;
  const ParseData data = load_parse_data(root, options.split_seed, options.max_items, options.validation_run);
  const std::vector<float> weights = class_weights(data.train);
  const CatalogGarments garments =
      load_catalog_garments(workspace.root(), options.split_seed, kStudioPerClass, kStudioCheckPerClass, options.seed);
  if (!garments.note.empty()) fmt::print(stderr, "note: {}\n", garments.note);
  // The catalog's garments by class, the classes it has, and the garment classes each CCP photo wears.
  std::array<std::vector<std::uint32_t>, kParseClasses> garments_of;
  for (std::uint32_t i = 0; i < garments.train.size(); ++i)
    garments_of[static_cast<std::size_t>(garments.train[i].cls)].push_back(i);
  std::vector<ParseClass> catalog_classes;
  for (int c = 0; c < kParseClasses; ++c) {
    if (!garments_of[static_cast<std::size_t>(c)].empty()) catalog_classes.push_back(static_cast<ParseClass>(c));
  }
  std::vector<std::vector<ParseClass>> worn(data.train.size());
  for (std::size_t i = 0; i < data.train.size(); ++i) {
    for (const ParseClass c : catalog_classes) {
      if (cv::countNonZero(data.train[i].classes == static_cast<int>(c)) > 0) worn[i].push_back(c);
    }
  }
  const std::size_t studio_per_epoch =
      catalog_classes.empty() ? 0
                              : static_cast<std::size_t>(std::lround(kStudioShare * static_cast<double>(data.train.size())));

  nn::Model model(spec, options.seed);
  const int side = spec.image_side_px, channels = spec.in_channels, out_side = model.output_shape().height;
  if (model.output_shape().channels != kParseClasses || model.output_shape().width != out_side) {
    throw Error(fmt::format("model spec '{}' gives {} planes of {}x{}, not {} square class planes", kFamily,
                            model.output_shape().channels, model.output_shape().width, out_side,
                            kParseClasses));
  }
  nn::AdamSettings adam_settings;
  adam_settings.learning_rate = static_cast<float>(lr);
  nn::Adam adam(model.params(), adam_settings);
  nn::Rng rng(options.seed);

  // A validation run never replaces the served model: its files are parse-validation.*.
  const detail::RunFiles files =
      detail::run_files(workspace, options.validation_run ? std::string(kFamily) + "-validation" : std::string(kFamily));
  std::vector<EpochRecord> history;
  int done = 0;
  if (options.resume) {
    detail::require_checkpoint(files);
    const nn::CheckpointReader r = nn::CheckpointReader::load(files.checkpoint, model, kFamily);
    done = static_cast<int>(r.get_int("epoch", 0, 1'000'000));
    rng.set_state(r.get_rng("rng"));
    r.get_adam_into("adam", adam);
    history = read_history(files.history, done);
    spdlog::info("resuming {} after epoch {}", kFamily, done);
  }
  detail::make_run_dirs(files);
  detail::EarlyStopping best(0.0);
  for (const auto& h : history) best.update(h.epoch, h.val_loss);
  spdlog::info(
      "training {} on {} CCP photos ({} {}) and {} studio photos of training designs ({} an "
      "epoch; {} held-out designs for the studio check), {}x{} in, {}x{} classes out, batch {}, lr {}, {} threads",
      kFamily, data.train.size(), data.held_out.size(),
      data.validation ? "validation photos from the training photos; the held-out photos not read" : "held out, never used",
      garments.train.size(), studio_per_epoch,
      garments.held_out.size(), side, side, out_side, out_side, batch, lr, threads);
  // A garment of class c, drawn by the run's generator.
  const auto garment_of = [&](ParseClass c) -> const StudioGarment& {
    const auto& of = garments_of[static_cast<std::size_t>(c)];
    return garments.train[of[rng.below(of.size())]];
  };
  // Example i of an epoch's order: a CCP photo (a garment pasted on some), or past them a studio photo.
  const auto example = [&](std::uint32_t i, std::span<float> input, std::span<std::int8_t> label) {
    if (i >= data.train.size()) {
      const StudioGarment& g = garment_of(catalog_classes[rng.below(catalog_classes.size())]);
      cv::Mat classes = cv::Mat::zeros(g.mask.size(), CV_8UC1);
      classes.setTo(static_cast<int>(g.cls), g.mask);
      make_example(g.rgb, classes, side, channels, out_side, rng, input, label);
      return;
    }
    const ParsedPhoto& p = data.train[i];
    if (catalog_classes.empty() || rng.uniform_float() >= kPasteChance) {
      make_example(p.rgb, p.classes, side, channels, out_side, rng, input, label);
      return;
    }
    const bool of_worn = !worn[i].empty() && rng.uniform_float() < kPasteWornChance;
    const ParseClass c = of_worn ? worn[i][rng.below(worn[i].size())]
                                 : catalog_classes[rng.below(catalog_classes.size())];
    const StudioGarment& g = garment_of(c);
    const PastedPhoto pasted = paste_garment(p.rgb, p.classes, g.rgb, g.mask, g.cls, rng);
    make_example(pasted.rgb, pasted.classes, side, channels, out_side, rng, input, label);
  };

  const auto in_size = static_cast<std::size_t>(channels * side * side);
  const auto plane = static_cast<std::size_t>(out_side * out_side);
  std::vector<float> inputs(static_cast<std::size_t>(batch) * in_size);
  std::vector<std::int8_t> labels(static_cast<std::size_t>(batch) * plane);
  std::vector<std::uint32_t> order(data.train.size() + studio_per_epoch);
  const int steps_per_epoch =
      static_cast<int>((order.size() + static_cast<std::size_t>(batch) - 1) / static_cast<std::size_t>(batch));
  double run_seconds = 0;
  std::int64_t run_images = 0;
  int run_epochs = 0;
  for (int epoch = done + 1; epoch <= epochs; ++epoch) {
    const auto t = Clock::now();
    for (std::uint32_t i = 0; i < order.size(); ++i) order[i] = i;
    rng.shuffle(order);
    double loss_sum = 0;
    for (int step = 0; step < steps_per_epoch; ++step) {
      // Cosine schedule over every step of the run, from lr to lr / 50.
      const double progress = (static_cast<double>(epoch - 1) * steps_per_epoch + step) /
                              (static_cast<double>(epochs) * steps_per_epoch);
      adam.set_learning_rate(
          static_cast<float>(lr * (0.02 + 0.98 * 0.5 * (1 + std::cos(std::numbers::pi * progress)))));
      const std::size_t start = static_cast<std::size_t>(step) * static_cast<std::size_t>(batch);
      const std::size_t n = std::min(order.size() - start, static_cast<std::size_t>(batch));
      for (std::size_t i = 0; i < n; ++i) {
        example(order[start + i], std::span(inputs).subspan(i * in_size, in_size),
                std::span(labels).subspan(i * plane, plane));
      }
      const auto loss = [&](std::span<const float> logits, std::span<float> grad) {
        return nn::pixel_cross_entropy(logits, std::span(labels).first(n * plane), static_cast<int>(n),
                                       kParseClasses, weights, grad);
      };
      loss_sum +=
          model.compute_output_gradients(std::span(inputs).first(n * in_size), static_cast<int>(n), loss) *
          static_cast<double>(n);
      adam.step();
    }
    const double seconds = seconds_since(t);
    const auto [val_loss, val_accuracy] = validate(model, data.held_out, weights, batch);
    const double rate = static_cast<double>(order.size()) / std::max(seconds, 1e-9);
    history.push_back({epoch, loss_sum / static_cast<double>(order.size()), val_loss, val_accuracy, seconds, rate});
    run_seconds += seconds;
    run_images += static_cast<std::int64_t>(order.size());
    const bool improved = best.update(epoch, val_loss);
    nn::save_model(files.model, model);  // the last epoch is the model (the schedule ends there)
    write_history(files.history, history);
    nn::CheckpointWriter(std::string(kFamily))
        .put_int("epoch", epoch)
        .put_rng("rng", rng.state())
        .put_adam("adam", adam)
        .save(files.checkpoint, model);
    const double eta = run_seconds / ++run_epochs * (epochs - epoch);
    fmt::print(
        stderr,
        "epoch {:>3}/{}  loss {:.4f}  val {:.4f}{}  val pixels right {:.3f}  {:.0f} img/s  {}  ETA {}\n",
        epoch, epochs, history.back().train_loss, val_loss, improved ? " *" : "  ", val_accuracy, rate,
        format_duration(seconds), format_duration(eta));
    if (options.stop_after_epochs != 0 && run_epochs == options.stop_after_epochs) break;
  }
  if (!std::filesystem::exists(files.model)) throw Error(fmt::format("{}: no epoch was run", kFamily));

  nn::Model trained = nn::load_model(files.model);
  trained.set_serving(true);
  std::vector<cv::Mat> overlays;
  const ParseEvaluation e = evaluate(trained, data, batch, &overlays);
  const StudioCheck studio = check_studio(trained, garments.held_out, batch);

  // The piece rule (engine::PieceRule), fitted on the training photos' pieces as served, written beside
  // the model with the model's digest.
  const auto parser = engine::Parser::of_model(nn::load_model(files.model));
  const std::vector<engine::PieceSample> samples = piece_samples(*parser, data.train);
  const engine::PieceRule rule = engine::fit_piece_rule(samples);
  std::array<std::int64_t, 4> tally{};  // right, kept, right and kept, all
  for (const engine::PieceSample& x : samples) {
    const bool kept = rule.likelihood(x.part, x.confidence, x.share) >= engine::kMinPieceLikelihood;
    tally[0] += x.right;
    tally[1] += kept;
    tally[2] += x.right && kept;
    ++tally[3];
  }
  nlohmann::json rule_doc = rule.to_json();
  rule_doc["model_digest"] = fmt::format("{:016x}", engine::model_file_digest(files.model));
  rule_doc["fitted_on"] = {{"photos", data.train.size()},
                           {"pieces", tally[3]},
                           {"right", tally[0]},
                           {"kept_at_min_likelihood", tally[1]},
                           {"right_and_kept", tally[2]},
                           {"min_likelihood", engine::kMinPieceLikelihood}};
  write_file_atomic(engine::piece_rule_file(files.model), rule_doc.dump(2));
  const auto share = [](std::int64_t a, std::int64_t b) { return b > 0 ? static_cast<double>(a) / b : 0.0; };
  if (!garments.train.empty()) {
    cv::imwrite((files.report_dir / "examples.png").string(), example_grid(data, garments, options.seed));
  }

  const std::vector<Series> curves = {
      {"train loss", detail::series_of(history, &EpochRecord::train_loss), {200, 110, 30}},
      {"held-out loss", detail::series_of(history, &EpochRecord::val_loss), {40, 120, 230}}};
  cv::imwrite(
      (files.report_dir / "loss_curve.png").string(),
      plot_series(curves, fmt::format("{}: weighted per-pixel cross-entropy per epoch", kFamily), "loss"));
  std::vector<std::vector<cv::Mat>> rows(3);
  for (std::size_t i = 0; i + 2 < overlays.size(); i += 3) {
    for (std::size_t r = 0; r < 3; ++r) {
      cv::Mat small;
      cv::resize(overlays[i + r], small, cv::Size(110, 166), 0, 0, cv::INTER_AREA);
      rows[r].push_back(small);
    }
  }
  cv::imwrite((files.report_dir / "overlays.png").string(),
              image_grid(rows, {data.validation ? "validation photo" : "held-out photo", "CCP labels", "parse model"}, 1));

  const ParseConfusion& ours = e.confusion[0];
  nlohmann::json doc = {
      {"model", kFamily},
      {"epochs", history.size()},
      {"train_photos", data.train.size()},
      {"held_out_photos", data.held_out.size()},
      {"validation_run", data.validation},
      {"split_seed", options.split_seed},
      {"seed", options.seed},
      {"batch_size", batch},
      {"learning_rate", lr},
      {"threads", threads},
      {"train_seconds_this_run", run_seconds},
      {"images_per_second", run_seconds > 0 ? static_cast<double>(run_images) / run_seconds : 0.0},
      {"class_weights", weights},
      {"catalog_studio_photos", garments.train.size()},
      {"studio_photos_per_epoch", studio_per_epoch},
      {"catalog_note", garments.note},
      {"evaluation", evaluation_json(e)},
      {"piece_rule", rule_doc},
      {"studio_check",
       {{"held_out_design_photos", studio.photos},
        {"no_person", studio.no_person},
        {"one_piece_of_the_right_class", studio.one_right_piece},
        {"largest_piece_of_the_right_class", studio.right_largest},
        {"garment_vs_backdrop_iou", studio.confusion.foreground_iou()},
        {"garment_mean_iou", studio.confusion.garment_miou()}}}};
  write_file_atomic(files.report_dir / "train.json", doc.dump(2));

  TrainSummary s;
  s.json = doc.dump(2);
  s.lines.push_back(
      fmt::format("{}: {} epochs on {} CCP photos and {} catalog studio photos; {} ({} photos): person vs background IoU "
                  "{:.3f}, garment mean IoU {:.3f}, pixels right {:.3f}",
                  kFamily, history.size(), data.train.size(), garments.train.size(),
                  data.validation ? "validation, from the training photos" : "held out", data.held_out.size(),
                  ours.foreground_iou(),
                  ours.garment_miou(), ours.pixel_accuracy()));
  std::string table = fmt::format("  {:<20} {:>8} {:>8}", "method", "person", "garments");
  for (int c = 0; c < kParseClasses; ++c) table += fmt::format(" {:>9}", engine::kParseClassNames[c]);
  s.lines.push_back(table);
  for (std::size_t m = 0; m < e.methods.size(); ++m) {
    const ParseConfusion& c = e.confusion[m];
    std::string row =
        fmt::format("  {:<20} {:>8.3f} {:>8.3f}", e.methods[m], c.foreground_iou(), c.garment_miou());
    for (int k = 0; k < kParseClasses; ++k) row += fmt::format(" {:>9.3f}", c.iou(k));
    s.lines.push_back(row);
  }
  if (studio.photos > 0) {
    s.lines.push_back(fmt::format(
        "studio check ({} photos of held-out designs): no person in {:.0f}%, one piece of the right class in {:.0f}%, "
        "largest piece right in {:.0f}%; garment vs backdrop IoU {:.3f}, garment mean IoU {:.3f}",
        studio.photos, 100.0 * studio.no_person / studio.photos, 100.0 * studio.one_right_piece / studio.photos,
        100.0 * studio.right_largest / studio.photos, studio.confusion.foreground_iou(),
        studio.confusion.garment_miou()));
  }
  s.lines.push_back(fmt::format(
      "piece rule ({}): {} pieces of the {} training photos, {:.3f} of them right; the {:.0f}% at least {} likely "
      "to be right are kept: {:.3f} of those right, {:.3f} of the right ones kept",
      engine::piece_rule_file(files.model).filename().string(), tally[3], data.train.size(), share(tally[0], tally[3]),
      100 * share(tally[1], tally[3]), engine::kMinPieceLikelihood, share(tally[2], tally[1]), share(tally[2], tally[0])));
  if (!garments.note.empty()) s.lines.push_back("note: " + garments.note);
  s.lines.push_back(fmt::format("this run: {:.1f} s at {:.0f} img/s; report in {}", run_seconds,
                                run_seconds > 0 ? static_cast<double>(run_images) / run_seconds : 0.0,
                                files.report_dir.string()));
  return s;
}

}  // namespace mystyle::train
