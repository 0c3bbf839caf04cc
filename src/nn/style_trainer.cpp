#include "mystyle/nn/style_trainer.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>

#include "mystyle/core/error.h"
#include "mystyle/nn/checkpoint.h"

namespace mystyle::nn {
namespace {

AdamSettings with_rate(AdamSettings s, float rate) {
  s.learning_rate = rate;
  return s;
}

int code_size(Model& model) {
  return model.feature_size(LatentPooling::kFlat);
}

}  // namespace

StyleTrainer::StyleTrainer(Model& model, StyleTrainerSettings settings)
    : model_(model),
      settings_(std::move(settings)),
      proxies_(code_size(model), settings_.heads, settings_.scale, settings_.shuffle_seed ^ 0x5EEDull,
               settings_.margin),
      adam_(model.params(), settings_.adam),
      proxy_adam_(proxies_.params(), with_rate(settings_.adam, settings_.proxy_learning_rate)),
      rng_(settings_.shuffle_seed) {
  if (settings_.batch_size < 1) throw Error("style trainer: batch size must be at least 1");
  if (!is_encoder_only(model.spec())) {
    throw Error("style trainer: model '" + model.spec().name + "' has a decoder; it trains on reconstruction");
  }
}

void StyleTrainer::gather_labels(std::span<const std::uint32_t> indices, const ImageLabels& labels) {
  if (labels.size() != settings_.heads.size()) {
    throw Error("style trainer: labels for " + std::to_string(labels.size()) + " heads, expected " +
                std::to_string(settings_.heads.size()));
  }
  batch_labels_.resize(labels.size());
  for (std::size_t h = 0; h < labels.size(); ++h) {
    batch_labels_[h].clear();
    for (std::uint32_t i : indices) {
      if (i >= labels[h].size()) throw Error("style trainer: no label for image " + std::to_string(i));
      batch_labels_[h].push_back(labels[h][i]);
    }
  }
}

double StyleTrainer::train_batch(const ImageSet& images, std::span<const std::uint32_t> indices,
                                 const ImageLabels& labels, std::vector<ProxyHeadStats>* stats) {
  const int n = static_cast<int>(indices.size());
  batch_.resize(static_cast<std::size_t>(n * images.image_floats()));
  images.gather(indices, batch_);
  const std::uint64_t edit_seed = rng_.next_u64();
  if (settings_.augment) settings_.augment(batch_, n, edit_seed);
  gather_labels(indices, labels);
  const double loss = model_.compute_latent_gradients(
      batch_, n, [&](std::span<const float> codes, std::span<float> grad) {
        return proxies_.compute(codes, n, batch_labels_, grad, stats);
      });
  adam_.step();
  proxy_adam_.step();
  return loss;
}

void StyleTrainer::add_stats(StyleStats& into, const std::vector<ProxyHeadStats>& batch) {
  into.head_loss.resize(batch.size());
  into.head_accuracy.resize(batch.size());
  for (std::size_t h = 0; h < batch.size(); ++h) {
    into.head_loss[h] += batch[h].loss * static_cast<double>(batch[h].labelled);
    into.head_accuracy[h] += static_cast<double>(batch[h].correct);
  }
}

void StyleTrainer::finish_stats(StyleStats& stats, const std::vector<std::int64_t>& labelled) {
  for (std::size_t h = 0; h < stats.head_loss.size(); ++h) {
    const double n = static_cast<double>(std::max<std::int64_t>(labelled[h], 1));
    stats.head_loss[h] /= n;
    stats.head_accuracy[h] /= n;
  }
  stats.loss /= static_cast<double>(std::max<std::int64_t>(stats.images, 1));
}

StyleStats StyleTrainer::train_epoch(const ImageSet& images, std::span<const std::uint32_t> indices,
                                     const ImageLabels& labels) {
  if (indices.empty()) throw Error("style trainer: no training images");
  const auto start = std::chrono::steady_clock::now();
  if (settings_.schedule_epochs > 0) {
    const double t = std::min(1.0, static_cast<double>(epoch_) / settings_.schedule_epochs);
    const double f = 0.5 * (1.0 + std::cos(3.14159265358979323846 * t));
    adam_.set_learning_rate(static_cast<float>(settings_.adam.learning_rate * f));
    proxy_adam_.set_learning_rate(static_cast<float>(settings_.proxy_learning_rate * f));
  }
  order_.assign(indices.begin(), indices.end());
  rng_.shuffle(order_);
  StyleStats stats;
  std::vector<std::int64_t> labelled(settings_.heads.size(), 0);
  std::vector<ProxyHeadStats> batch_stats;
  const std::size_t bs = static_cast<std::size_t>(settings_.batch_size);
  for (std::size_t i = 0; i < order_.size(); i += bs) {
    const auto batch = std::span<const std::uint32_t>(order_).subspan(i, std::min(bs, order_.size() - i));
    stats.loss += train_batch(images, batch, labels, &batch_stats) * static_cast<double>(batch.size());
    add_stats(stats, batch_stats);
    for (std::size_t h = 0; h < labelled.size(); ++h) labelled[h] += batch_stats[h].labelled;
  }
  ++epoch_;
  stats.epoch = epoch_;
  stats.images = static_cast<std::int64_t>(order_.size());
  finish_stats(stats, labelled);
  stats.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return stats;
}

StyleStats StyleTrainer::evaluate(const ImageSet& images, std::span<const std::uint32_t> indices,
                                  const ImageLabels& labels) {
  if (indices.empty()) throw Error("style trainer: no validation images");
  const auto start = std::chrono::steady_clock::now();
  StyleStats stats;
  std::vector<std::int64_t> labelled(settings_.heads.size(), 0);
  std::vector<ProxyHeadStats> batch_stats;
  const int dim = code_size(model_);
  const std::size_t bs = static_cast<std::size_t>(settings_.batch_size);
  for (std::size_t i = 0; i < indices.size(); i += bs) {
    const auto batch = indices.subspan(i, std::min(bs, indices.size() - i));
    const int n = static_cast<int>(batch.size());
    batch_.resize(static_cast<std::size_t>(n * images.image_floats()));
    images.gather(batch, batch_);
    codes_.resize(static_cast<std::size_t>(n) * dim);
    grad_.resize(codes_.size());
    model_.encode(batch_, n, LatentPooling::kFlat, codes_);
    gather_labels(batch, labels);
    stats.loss += proxies_.compute(codes_, n, batch_labels_, grad_, &batch_stats) * n;
    add_stats(stats, batch_stats);
    for (std::size_t h = 0; h < labelled.size(); ++h) labelled[h] += batch_stats[h].labelled;
  }
  stats.epoch = epoch_;
  stats.images = static_cast<std::int64_t>(indices.size());
  finish_stats(stats, labelled);
  stats.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return stats;
}

void StyleTrainer::save_checkpoint(const std::filesystem::path& path) {
  CheckpointWriter w{std::string(kStyleFamily)};
  w.put_int("epoch", epoch_);
  w.put_int("batch_size", settings_.batch_size);
  w.put_rng("rng", rng_.state());
  w.put_int("heads", static_cast<std::int64_t>(settings_.heads.size()));
  for (Param* p : proxies_.params()) w.put_floats(p->name, p->value);  // "proxies_<head>"
  w.put_adam("adam", adam_);
  w.put_adam("proxy_adam", proxy_adam_);
  w.save(path, model_);
}

void StyleTrainer::load_checkpoint(const std::filesystem::path& path) {
  const CheckpointReader r = CheckpointReader::load(path, model_, kStyleFamily);
  const auto epoch = static_cast<int>(r.get_int("epoch", 0, std::numeric_limits<int>::max()));
  if (r.get_int("batch_size") != settings_.batch_size) r.fail("written with another batch size");
  const Rng::State state = r.get_rng("rng");
  if (r.get_int("heads") != static_cast<std::int64_t>(settings_.heads.size())) {
    r.fail("written with other label heads");
  }
  for (Param* p : proxies_.params()) {
    if (!r.has(p->name)) r.fail("written with other label heads");
    r.get_floats_into(p->name, p->value);
  }
  r.get_adam_into("adam", adam_);
  r.get_adam_into("proxy_adam", proxy_adam_);
  epoch_ = epoch;
  rng_.set_state(state);
}

}  // namespace mystyle::nn
