#include "mystyle/nn/trainer.h"

#include <algorithm>
#include <chrono>
#include <limits>

#include "mystyle/core/error.h"
#include "mystyle/nn/checkpoint.h"
#include "mystyle/nn/contrastive_loss.h"

namespace mystyle::nn {

Trainer::Trainer(Model& model, TrainerSettings settings)
    : model_(model), settings_(settings), adam_(model.params(), settings.adam), rng_(settings.shuffle_seed) {
  if (settings.batch_size < 1) throw Error("trainer: batch size must be at least 1");
  if (settings.contrastive_weight > 0 && !settings.corrupt_inputs) {
    throw Error("trainer: contrastive training needs corrupt_inputs (it compares two edited views)");
  }
}

void Trainer::check_images(const ImageSet& images) const {
  const TensorShape in = model_.input_shape();
  if (images.channels() != in.channels || images.side_px() != in.height) {
    throw Error("trainer: images are " + std::to_string(images.channels()) + "x" +
                std::to_string(images.side_px()) + " px, model '" + model_.spec().name + "' wants " +
                std::to_string(in.channels) + "x" + std::to_string(in.height));
  }
}

double Trainer::train_batch(const ImageSet& images, std::span<const std::uint32_t> indices) {
  check_images(images);
  const int n = static_cast<int>(indices.size());
  batch_.resize(static_cast<std::size_t>(n * images.image_floats()));
  images.gather(indices, batch_);
  if (settings_.corrupt_inputs) {
    inputs_ = batch_;
    settings_.corrupt_inputs(inputs_, n, rng_.next_u64());
  }
  const double loss =
      model_.compute_gradients(settings_.corrupt_inputs ? inputs_ : batch_, batch_, n, settings_.loss);
  if (settings_.contrastive_weight > 0) add_contrastive_gradients(n);
  adam_.step();
  return loss;
}

void Trainer::add_contrastive_gradients(int n) {
  const auto params = model_.params();
  saved_grads_.resize(params.size());
  for (std::size_t i = 0; i < params.size(); ++i) saved_grads_[i] = params[i]->grad;
  // View 1 is the reconstruction's edited input, view 2 another edit of the clean batch.
  views_.resize(2 * batch_.size());
  std::copy(inputs_.begin(), inputs_.end(), views_.begin());
  const std::span<float> second(views_.data() + batch_.size(), batch_.size());
  std::copy(batch_.begin(), batch_.end(), second.begin());
  settings_.corrupt_inputs(second, n, rng_.next_u64());
  const int dim = model_.feature_size(LatentPooling::kFlat);
  const double temperature = settings_.temperature;
  last_contrastive_ = model_.compute_latent_gradients(
      views_, 2 * n, [&](std::span<const float> features, std::span<float> grad) {
        return nt_xent_loss(features, 2 * n, dim, temperature, grad);
      });
  const float w = static_cast<float>(settings_.contrastive_weight);
  for (std::size_t i = 0; i < params.size(); ++i) {
    std::vector<float>& g = params[i]->grad;
    for (std::size_t j = 0; j < g.size(); ++j) g[j] = saved_grads_[i][j] + w * g[j];
  }
}

EpochStats Trainer::train_epoch(const ImageSet& images, std::span<const std::uint32_t> indices) {
  if (indices.empty()) throw Error("trainer: no training images");
  const auto start = std::chrono::steady_clock::now();
  order_.assign(indices.begin(), indices.end());
  rng_.shuffle(order_);
  double sum = 0.0, contrastive = 0.0;
  const std::size_t bs = static_cast<std::size_t>(settings_.batch_size);
  for (std::size_t i = 0; i < order_.size(); i += bs) {
    const auto batch = std::span<const std::uint32_t>(order_).subspan(i, std::min(bs, order_.size() - i));
    sum += train_batch(images, batch) * static_cast<double>(batch.size());
    contrastive += last_contrastive_ * static_cast<double>(batch.size());
  }
  ++epoch_;
  EpochStats stats;
  stats.epoch = epoch_;
  stats.images = static_cast<std::int64_t>(order_.size());
  stats.train_loss = sum / static_cast<double>(order_.size());
  stats.contrastive_loss = contrastive / static_cast<double>(order_.size());
  stats.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return stats;
}

double Trainer::evaluate(const ImageSet& images, std::span<const std::uint32_t> indices) {
  check_images(images);
  if (indices.empty()) throw Error("trainer: no validation images");
  double sum = 0.0;
  const std::size_t bs = static_cast<std::size_t>(settings_.batch_size);
  for (std::size_t i = 0; i < indices.size(); i += bs) {
    const auto batch = indices.subspan(i, std::min(bs, indices.size() - i));
    const int n = static_cast<int>(batch.size());
    batch_.resize(static_cast<std::size_t>(n * images.image_floats()));
    images.gather(batch, batch_);
    sum += model_.evaluate_loss(batch_, batch_, n, settings_.loss) * n;
  }
  return sum / static_cast<double>(indices.size());
}

void Trainer::save_checkpoint(const std::filesystem::path& path) {
  CheckpointWriter(std::string(kAutoencoderFamily))
      .put_int("epoch", epoch_)
      .put_int("batch_size", settings_.batch_size)
      .put_rng("rng", rng_.state())
      .put_adam("adam", adam_)
      .save(path, model_);
}

void Trainer::load_checkpoint(const std::filesystem::path& path) {
  const CheckpointReader r = CheckpointReader::load(path, model_, kAutoencoderFamily);
  if (r.get_int("batch_size") != settings_.batch_size) r.fail("written with another batch size");
  const auto epoch = static_cast<int>(r.get_int("epoch", 0, std::numeric_limits<int>::max()));
  const Rng::State state = r.get_rng("rng");
  r.get_adam_into("adam", adam_);
  epoch_ = epoch;
  rng_.set_state(state);
}

}  // namespace mystyle::nn
