#pragma once
/// Trains an encoder-only Model (the `style` embedding) on labels: each batch of images goes
/// through the encoder, ProxyLoss compares its codes with one learned proxy per class of every
/// label head, and Adam updates the encoder (model learning rate) and the proxies (their own).
/// Checkpoints hold the weights, the proxies, both optimizers' moments, the shuffling RNG and the
/// epoch, so a resumed run is bit-identical to an uninterrupted one (same thread count).
#include <cstdint>
#include <filesystem>
#include <functional>
#include <span>
#include <vector>

#include "mystyle/nn/adam.h"
#include "mystyle/nn/image_set.h"
#include "mystyle/nn/model.h"
#include "mystyle/nn/proxy_loss.h"

namespace mystyle::nn {

struct StyleTrainerSettings {
  int batch_size = 64;
  AdamSettings adam;              ///< the encoder's
  float proxy_learning_rate = 1e-2f;
  std::uint64_t shuffle_seed = 1;
  std::vector<ProxyHeadSpec> heads;
  double scale = 16.0;  ///< ProxyLoss scale (inverse temperature)
  double margin = 0.0;  ///< ProxyLoss additive cosine margin
  /// > 0: both learning rates follow a cosine decay over this many epochs (epoch e of E, from 0:
  /// rate * (1 + cos(pi e / E)) / 2); 0 keeps them constant.
  int schedule_epochs = 0;
  /// Optional: edits each training batch ([n, C, S, S] floats) in place before the forward pass
  /// (a user's photo: tilt, exposure, ...). `seed` comes from the checkpointed RNG. Never in evaluate().
  std::function<void(std::span<float> inputs, int n, std::uint64_t seed)> augment;
};

/// Labels of every image of an ImageSet: labels[h][image] for head h (-1 = none).
using ImageLabels = std::vector<std::vector<int>>;

struct StyleStats {
  int epoch = 0;          ///< train_epoch: the epoch just finished (1-based)
  double loss = 0;        ///< weighted total, mean over images
  std::vector<double> head_loss, head_accuracy;  ///< per head: mean loss, nearest-proxy accuracy
  std::int64_t images = 0;
  double seconds = 0;
};

class StyleTrainer {
 public:
  /// `model` must be encoder-only and outlive the trainer. Throws mystyle::Error for a batch size
  /// < 1, no heads, or a model that is not encoder-only.
  StyleTrainer(Model& model, StyleTrainerSettings settings);

  StyleStats train_epoch(const ImageSet& images, std::span<const std::uint32_t> indices, const ImageLabels& labels);
  /// One step on the images at `indices`; returns the batch's weighted loss.
  double train_batch(const ImageSet& images, std::span<const std::uint32_t> indices, const ImageLabels& labels,
                     std::vector<ProxyHeadStats>* stats = nullptr);
  /// Inference mode (moving statistics), no updates.
  StyleStats evaluate(const ImageSet& images, std::span<const std::uint32_t> indices, const ImageLabels& labels);

  ProxyLoss& proxies() { return proxies_; }
  int epoch() const { return epoch_; }

  /// Writes a checkpoint (checkpoint.h, family "style") atomically.
  void save_checkpoint(const std::filesystem::path& path);
  /// Restores a checkpoint of the same spec, heads and batch size (else kCorrupt).
  void load_checkpoint(const std::filesystem::path& path);

 private:
  void gather_labels(std::span<const std::uint32_t> indices, const ImageLabels& labels);
  static void add_stats(StyleStats& into, const std::vector<ProxyHeadStats>& batch);
  static void finish_stats(StyleStats& stats, const std::vector<std::int64_t>& labelled);

  Model& model_;
  StyleTrainerSettings settings_;
  ProxyLoss proxies_;
  Adam adam_, proxy_adam_;
  Rng rng_;
  int epoch_ = 0;
  std::vector<float> batch_, codes_, grad_;
  std::vector<std::vector<int>> batch_labels_;
  std::vector<std::uint32_t> order_;
};

}  // namespace mystyle::nn
