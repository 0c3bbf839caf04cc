#pragma once
/// What `mystyle train` is asked and what a run reports, shared by every model family
/// (family.h): one set of values; each family's row in the table says which of them it takes.
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "mystyle/engine/workspace.h"
#include "mystyle/image/augment.h"

namespace mystyle::train {

using engine::kDefaultModel;
using engine::Workspace;

struct TrainOptions {
  std::string model = kDefaultModel;  ///< a family of the table (family.h)
  int epochs = 20;                    ///< upper bound; early stopping may end sooner
  int batch_size = 64;
  double learning_rate = 1e-3;
  std::uint64_t seed = 1;  ///< weights, split and shuffling
  bool resume = false;     ///< continue from models/<model>.checkpoint
  /// Epochs without a better validation loss before stopping; 0 = the model's default: 5 for the
  /// autoencoders, none for `style`, whose learning rate follows a cosine over all `epochs` (its
  /// validation loss wanders for several epochs mid-schedule and still falls at the end).
  int patience = 0;
  int threads = 0;            ///< 0 = every core
  std::size_t max_items = 0;  ///< 0 = every catalog item with a photo (a smaller number is for quick runs)
  /// Stop (as if killed) after this many epochs of this run; 0 = never. For tests of --resume.
  int stop_after_epochs = 0;
  /// Train as a denoising autoencoder: each training image is edited as a user's photo might be
  /// (image::augment_image with `augmentation`) on input, the clean image is the target.
  bool augment = false;
  image::AugmentSettings augmentation;
  /// > 0: add a contrastive loss (NT-Xent on the flat latent of two edited views of each image)
  /// with this weight to the reconstruction loss; implies `augment`.
  double contrastive_weight = 0.0;
  /// Encoder-only models (style): the seed of the held-out-designs split (catalog/design_split.h);
  /// their items never reach training. Evaluations use the same seed by default.
  std::uint64_t split_seed = 1;
  /// Families trained on a data set outside the catalog (parse: CCP): its folder; empty = the
  /// default under $MYSTYLE_DATASETS.
  std::filesystem::path data;
  /// parse: a run for choosing settings. A seeded fifth of the training photos is set aside as
  /// validation photos, and the evaluation is made on them, never on the held-out photos.
  bool validation_run = false;
};

struct TrainReport {
  std::string model;
  bool label_trained = false;  ///< an encoder-only model trained on labels (no reconstruction, no test loss)
  int epochs_run = 0;          ///< epochs in the history, over all resumed runs
  bool stopped_early = false;
  int best_epoch = 0;
  double best_val_loss = 0, last_train_loss = 0, test_loss = 0;
  double recon_error_mean = 0;      ///< per test image mean squared error, averaged
  double recon_error_variance = 0;  ///< variance of those per-image errors
  double train_seconds = 0;         ///< this run only
  double images_per_second = 0;     ///< training throughput of this run
  std::size_t train_images = 0, val_images = 0, test_images = 0;
};

/// What a run hands back to `mystyle train`: lines for people, a JSON document for programs.
struct TrainSummary {
  std::vector<std::string> lines;
  std::string json;  ///< pretty-printed
};

}  // namespace mystyle::train
