#pragma once
/// Trains a Model as the original did: Adam on a reconstruction loss (BCE), mini-batches of 64
/// over the given image indices, reshuffled every epoch by a seeded RNG. Knows nothing of files of
/// images: it reads an ImageSet. Checkpoints hold weights, Adam moments and step, the shuffling
/// RNG and the epoch, so a resumed run is bit-identical to an uninterrupted one (same thread count).
#include <cstdint>
#include <filesystem>
#include <functional>
#include <span>
#include <vector>

#include "mystyle/nn/adam.h"
#include "mystyle/nn/image_set.h"
#include "mystyle/nn/model.h"

namespace mystyle::nn {

struct TrainerSettings {
  int batch_size = 64;
  AdamSettings adam;
  LossKind loss = LossKind::kBinaryCrossEntropy;
  std::uint64_t shuffle_seed = 1;
  /// Optional: edits a copy of each training batch ([n, C, S, S] floats) before the forward pass,
  /// while the target stays the unedited batch (a denoising autoencoder). `seed` is drawn from the
  /// trainer's checkpointed RNG, so a resumed run stays bit-identical. Evaluation never edits.
  std::function<void(std::span<float> inputs, int n, std::uint64_t seed)> corrupt_inputs;
  /// > 0: also train the encoder contrastively: two independently edited views of each batch image
  /// (corrupt_inputs, required) go through the encoder together, and nt_xent_loss on their flat
  /// latent features, times this weight, is added to the reconstruction loss's gradients.
  double contrastive_weight = 0.0;
  double temperature = 0.2;  ///< NT-Xent temperature
};

/// What one epoch did.
struct EpochStats {
  int epoch = 0;            ///< 1-based number of the epoch just finished
  double train_loss = 0.0;  ///< mean over the epoch's images (batch losses weighted by batch size)
  double contrastive_loss = 0.0;  ///< the same mean of the contrastive loss (0 when not used)
  std::int64_t images = 0;
  double seconds = 0.0;
};

class Trainer {
 public:
  /// `model` must outlive the trainer. Throws mystyle::Error for a batch size < 1.
  Trainer(Model& model, TrainerSettings settings);

  /// One epoch: shuffles a copy of `indices`, trains on batches of batch_size (the last one may
  /// be smaller). Targets are the images (autoencoder).
  EpochStats train_epoch(const ImageSet& images, std::span<const std::uint32_t> indices);
  /// One Adam step on the images at `indices` (one batch, any size >= 1). Returns its
  /// reconstruction loss (the contrastive loss, if any, is last_contrastive_loss()).
  double train_batch(const ImageSet& images, std::span<const std::uint32_t> indices);
  /// Mean loss in inference mode over `indices`, in batches of batch_size, in the given order.
  double evaluate(const ImageSet& images, std::span<const std::uint32_t> indices);

  double last_contrastive_loss() const { return last_contrastive_; }
  int epoch() const { return epoch_; }
  std::int64_t step() const { return adam_.step_count(); }

  /// Writes a checkpoint (checkpoint.h, family "autoencoder") atomically.
  void save_checkpoint(const std::filesystem::path& path);
  /// Restores weights and trainer state from a checkpoint written for the same spec and batch
  /// size. Throws mystyle::Error (kCorrupt) for a model file without trainer state or a mismatch.
  void load_checkpoint(const std::filesystem::path& path);

 private:
  void check_images(const ImageSet& images) const;
  void add_contrastive_gradients(int n);

  Model& model_;
  TrainerSettings settings_;
  Adam adam_;
  Rng rng_;
  int epoch_ = 0;
  std::vector<float> batch_;
  std::vector<float> inputs_;  // the edited copy of batch_ when corrupt_inputs is set
  std::vector<float> views_;   // contrastive training: two edited copies of the batch
  std::vector<std::vector<float>> saved_grads_;
  double last_contrastive_ = 0.0;
  std::vector<std::uint32_t> order_;
};

}  // namespace mystyle::nn
