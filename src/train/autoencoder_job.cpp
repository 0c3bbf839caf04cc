#include "mystyle/train/autoencoder_job.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>

#include "common.h"
#include "mystyle/catalog/catalog.h"
#include "mystyle/core/error.h"
#include "mystyle/core/file_io.h"
#include "mystyle/core/progress.h"
#include "mystyle/core/threads.h"
#include "mystyle/engine/image_cache.h"
#include "mystyle/nn/context.h"
#include "mystyle/nn/model_file.h"
#include "mystyle/nn/trainer.h"
#include "mystyle/train/report_plots.h"

namespace mystyle::train {
namespace {

struct EpochRecord {
  int epoch = 0;
  double train_loss = 0, val_loss = 0, seconds = 0, images_per_second = 0;
};

constexpr double kMinImprovement = 1e-5;
constexpr int kDefaultPatience = 5;  // TrainOptions::patience 0 means this for the autoencoders
constexpr std::size_t kGridImages = 10;

void write_history(const std::filesystem::path& path, const std::vector<EpochRecord>& history) {
  std::string csv = "epoch,train_loss,val_loss,seconds,images_per_second\n";
  for (const auto& r : history) {
    csv += fmt::format("{},{:.6f},{:.6f},{:.3f},{:.1f}\n", r.epoch, r.train_loss, r.val_loss, r.seconds,
                       r.images_per_second);
  }
  write_file_atomic(path, csv);
}

std::vector<EpochRecord> read_history(const std::filesystem::path& path, int up_to_epoch) {
  std::vector<EpochRecord> history;
  for (const auto& v : detail::read_history_rows(path, 5, up_to_epoch)) {
    history.push_back({static_cast<int>(v[0]), v[1], v[2], v[3], v[4]});
  }
  return history;
}

/// Per-image mean squared reconstruction error over `indices`, and the grid's originals and
/// reconstructions for the first few.
struct ReconstructionCheck {
  std::vector<double> errors;
  std::vector<cv::Mat> originals, reconstructions;
};

cv::Mat chw_to_rgb8(const float* chw, int side) {
  cv::Mat rgb(side, side, CV_8UC3);
  for (int y = 0; y < side; ++y) {
    for (int x = 0; x < side; ++x) {
      for (int c = 0; c < 3; ++c) {
        const float v = chw[(c * side + y) * side + x];
        rgb.at<cv::Vec3b>(y, x)[c] = static_cast<std::uint8_t>(std::clamp(std::lround(v * 255.0f), 0L, 255L));
      }
    }
  }
  return rgb;
}

ReconstructionCheck check_reconstructions(nn::Model& model, const nn::ImageSet& images,
                                          const std::vector<std::uint32_t>& indices) {
  ReconstructionCheck check;
  constexpr int kBatch = 64;
  const auto per_image = static_cast<std::size_t>(images.image_floats());
  std::vector<float> in, out;
  for (std::size_t start = 0; start < indices.size(); start += kBatch) {
    const std::size_t n = std::min<std::size_t>(kBatch, indices.size() - start);
    in.resize(n * per_image);
    out.resize(n * per_image);
    images.gather(std::span(indices).subspan(start, n), in);
    model.reconstruct(in, static_cast<int>(n), out);
    for (std::size_t i = 0; i < n; ++i) {
      double sum = 0;
      for (std::size_t k = 0; k < per_image; ++k) {
        const double d = in[i * per_image + k] - out[i * per_image + k];
        sum += d * d;
      }
      check.errors.push_back(sum / static_cast<double>(per_image));
      if (check.originals.size() < kGridImages) {
        check.originals.push_back(chw_to_rgb8(&in[i * per_image], images.side_px()));
        check.reconstructions.push_back(chw_to_rgb8(&out[i * per_image], images.side_px()));
      }
    }
  }
  return check;
}

}  // namespace

Split split_of(std::int64_t item_id, std::uint64_t seed) {
  const std::uint64_t bucket = mix64(static_cast<std::uint64_t>(item_id) ^ mix64(seed)) % 10;
  return bucket < 8 ? Split::kTrain : bucket == 8 ? Split::kValidation : Split::kTest;
}

TrainReport train_autoencoder(const Workspace& workspace, const TrainOptions& options) {
  const nn::ModelSpec spec = nn::builtin_model_spec(options.model);
  const int threads = thread_count(options.threads);
  nn::set_num_threads(threads);
  const std::vector<catalog::Item> items = detail::items_with_photos(workspace, options.max_items);
  image::PreprocessOptions preprocess;
  preprocess.image_side_px = spec.image_side_px;
  const engine::ImageCache cache = engine::ImageCache::build(workspace.root(), items, preprocess, threads);
  for (const auto& w : cache.warnings()) spdlog::warn("{}", w);
  const nn::ImageSet images = cache.images();

  std::vector<std::uint32_t> train, val, test;
  for (std::uint32_t i = 0; i < cache.size(); ++i) {
    switch (split_of(cache.item_ids()[i], options.seed)) {
      case Split::kTrain:
        train.push_back(i);
        break;
      case Split::kValidation:
        val.push_back(i);
        break;
      case Split::kTest:
        test.push_back(i);
        break;
    }
  }
  if (train.empty() || val.empty() || test.empty()) {
    throw Error(
        fmt::format("only {} items with a photo: too few for a train/validation/test split", cache.size()));
  }

  nn::Model model(spec, options.seed);
  nn::TrainerSettings settings;
  settings.batch_size = options.batch_size;
  settings.adam.learning_rate = static_cast<float>(options.learning_rate);
  settings.shuffle_seed = options.seed;
  if (options.augment || options.contrastive_weight > 0) {
    const int side = spec.image_side_px;
    settings.corrupt_inputs = [side, threads, aug = options.augmentation](std::span<float> inputs, int n,
                                                                          std::uint64_t seed) {
      image::augment_batch(inputs, n, 3, side, aug, seed, threads, /*mirror=*/false);
    };
  }
  settings.contrastive_weight = options.contrastive_weight;
  nn::Trainer trainer(model, settings);

  const detail::RunFiles files = detail::run_files(workspace, options.model);
  const auto& [report_dir, history_path, model_path, checkpoint_path] = files;
  std::vector<EpochRecord> history;
  if (options.resume) history = detail::resume_run(files, trainer, options.model, read_history);
  detail::make_run_dirs(files);

  TrainReport report;
  report.model = options.model;
  report.train_images = train.size();
  report.val_images = val.size();
  report.test_images = test.size();
  detail::EarlyStopping stopping(kMinImprovement);
  for (const auto& r : history) stopping.update(r.epoch, r.val_loss);
  spdlog::info("training {} on {} images ({} validation, {} test), batch {}, lr {}, {} threads{}",
               options.model, train.size(), val.size(), test.size(), options.batch_size,
               options.learning_rate, threads,
               options.contrastive_weight > 0
                   ? fmt::format(", inputs augmented, contrastive weight {}", options.contrastive_weight)
               : options.augment ? std::string(", inputs augmented (denoising)")
                                 : std::string());

  int run_epochs = 0;
  double run_seconds = 0;
  std::int64_t run_images = 0;
  for (int epoch = trainer.epoch() + 1; epoch <= options.epochs; ++epoch) {
    if (stopping.should_stop(options.patience > 0 ? options.patience : kDefaultPatience)) {
      report.stopped_early = true;
      spdlog::info("stopping early: validation loss has not improved for {} epochs", stopping.since_best());
      break;
    }
    const nn::EpochStats stats = trainer.train_epoch(images, train);
    const double val_loss = trainer.evaluate(images, val);
    const double rate = static_cast<double>(stats.images) / std::max(stats.seconds, 1e-9);
    history.push_back({epoch, stats.train_loss, val_loss, stats.seconds, rate});
    run_seconds += stats.seconds;
    run_images += stats.images;
    const bool improved = stopping.update(epoch, val_loss);
    // The checkpoint last, as in style_job.cpp: its epoch's history row is then on disk.
    if (improved) nn::save_model(model_path, model);
    write_history(history_path, history);
    trainer.save_checkpoint(checkpoint_path);
    const double eta = run_seconds / ++run_epochs * (options.epochs - epoch);
    const std::string contrast = options.contrastive_weight > 0
                                     ? fmt::format("  contrast {:.4f}", stats.contrastive_loss)
                                     : std::string();
    fmt::print(stderr, "epoch {:>3}/{}  loss {:.5f}  val {:.5f}{}{}  {:.0f} img/s  {}  ETA {}\n", epoch,
               options.epochs, stats.train_loss, val_loss, improved ? " *" : "  ", contrast, rate,
               format_duration(stats.seconds), format_duration(eta));
    if (options.stop_after_epochs != 0 && run_epochs == options.stop_after_epochs) break;
  }
  report.epochs_run = static_cast<int>(history.size());
  report.best_epoch = stopping.best_epoch();
  report.best_val_loss = stopping.best();
  report.last_train_loss = history.empty() ? 0 : history.back().train_loss;
  report.train_seconds = run_seconds;
  report.images_per_second = run_seconds > 0 ? static_cast<double>(run_images) / run_seconds : 0;
  if (!std::filesystem::exists(model_path)) return report;

  // The report describes the kept model: the epoch with the best validation loss.
  nn::Model best_model = nn::load_model(model_path);
  nn::Trainer evaluator(best_model, settings);
  report.test_loss = evaluator.evaluate(images, test);
  const ReconstructionCheck check = check_reconstructions(best_model, images, test);
  double mean = 0, var = 0;
  for (double e : check.errors) mean += e;
  mean /= static_cast<double>(check.errors.size());
  for (double e : check.errors) var += (e - mean) * (e - mean);
  report.recon_error_mean = mean;
  report.recon_error_variance = var / static_cast<double>(check.errors.size());

  const std::vector<Series> curves = {
      {"train loss", detail::series_of(history, &EpochRecord::train_loss), {200, 110, 30}},
      {"validation loss", detail::series_of(history, &EpochRecord::val_loss), {40, 120, 230}}};
  cv::imwrite((report_dir / "loss_curve.png").string(),
              plot_series(curves, fmt::format("{}: binary cross-entropy per epoch", options.model), "loss"));
  const int zoom = spec.image_side_px >= 128 ? 1 : 2;
  cv::imwrite((report_dir / "reconstructions.png").string(),
              image_grid({check.originals, check.reconstructions}, {"test image", "reconstruction"}, zoom));

  nlohmann::json doc = {
      {"model", report.model},
      {"epochs", report.epochs_run},
      {"best_epoch", report.best_epoch},
      {"stopped_early", report.stopped_early},
      {"train_loss", report.last_train_loss},
      {"best_val_loss", report.best_val_loss},
      {"test_loss", report.test_loss},
      {"recon_error_mean", report.recon_error_mean},
      {"recon_error_variance", report.recon_error_variance},
      {"train_seconds_this_run", report.train_seconds},
      {"images_per_second", report.images_per_second},
      {"split",
       {{"train", report.train_images}, {"validation", report.val_images}, {"test", report.test_images}}},
      {"seed", options.seed},
      {"batch_size", options.batch_size},
      {"learning_rate", options.learning_rate},
      {"threads", threads},
      {"augment", options.augment}};
  write_file_atomic(report_dir / "train.json", doc.dump(2));
  return report;
}

TrainSummary run_autoencoder_family(const Workspace& workspace, const TrainOptions& options, OptionSet) {
  const TrainReport r = train_autoencoder(workspace, options);
  TrainSummary s;
  s.json = detail::summary_json(r);
  s.lines = {
      fmt::format("{}: {} epochs (best {}{}), train loss {:.5f}, best val loss {:.5f}, test loss {:.5f}",
                  r.model, r.epochs_run, r.best_epoch, r.stopped_early ? ", stopped early" : "",
                  r.last_train_loss, r.best_val_loss, r.test_loss),
      fmt::format("reconstruction error per image: mean {:.6f}, variance {:.3g}", r.recon_error_mean,
                  r.recon_error_variance),
      fmt::format("this run: {:.1f} s at {:.0f} img/s; report in {}", r.train_seconds, r.images_per_second,
                  workspace.report_dir(r.model).string())};
  return s;
}

}  // namespace mystyle::train
