#include "mystyle/nn/model.h"

#include <algorithm>

#include "mystyle/core/error.h"
#include "mystyle/nn/activation_layer.h"
#include "mystyle/nn/batch_norm.h"
#include "mystyle/nn/conv2d.h"
#include "mystyle/nn/linear.h"
#include "mystyle/nn/max_pool.h"
#include "mystyle/nn/proxy_loss.h"
#include "mystyle/nn/skip.h"
#include "mystyle/nn/upsample.h"
#include "plan.h"

namespace mystyle::nn {

namespace {

std::unique_ptr<Layer> make_layer(const LayerSpec& s, TensorShape in) {
  switch (s.kind) {
    case LayerKind::kConv:
      return std::make_unique<Conv2d>(in, s.units, s.activation);
    case LayerKind::kMaxPool:
      return std::make_unique<MaxPool>(in);
    case LayerKind::kUpsample:
      return std::make_unique<Upsample>(in);
    case LayerKind::kBatchNorm:
      return std::make_unique<BatchNorm>(in);
    case LayerKind::kLinear:
      return std::make_unique<Linear>(in, s.units, s.activation);
    case LayerKind::kActivation:
      return std::make_unique<ActivationLayer>(in, s.activation);
    case LayerKind::kPush:
      return std::make_unique<SkipPush>(in);
    case LayerKind::kAdd:
      return std::make_unique<SkipAdd>(in);
  }
  throw Error("unknown layer kind");
}

}  // namespace

Model::Model(ModelSpec spec, std::uint64_t init_seed) : spec_(std::move(spec)) {
  if (spec_.layers.empty() || spec_.encoder_layers < 1 ||
      spec_.encoder_layers > static_cast<int>(spec_.layers.size())) {
    throw Error("model spec '" + spec_.name + "': needs layers and an encoder of at least one layer");
  }
  TensorShape shape = input_shape();
  std::vector<TensorShape> pushed;  // unmatched pushes: an add needs the last one's shape
  for (const LayerSpec& s : spec_.layers) {
    if (s.kind == LayerKind::kPush) pushed.push_back(shape);
    if (s.kind == LayerKind::kAdd) {
      if (pushed.empty() || pushed.back() != shape) {
        throw Error("model spec '" + spec_.name + "': an add needs a push before it of the same shape",
                    ErrorKind::kInvalidInput);
      }
      pushed.pop_back();
    }
    layers_.push_back(make_layer(s, shape));
    shape = layers_.back()->output_shape();
  }
  Rng rng(init_seed);
  for (auto& layer : layers_) layer->initialize(rng);
}

Model::~Model() = default;
Model::Model(Model&&) noexcept = default;
Model& Model::operator=(Model&&) noexcept = default;

TensorShape Model::latent_shape() const {
  return layers_[static_cast<std::size_t>(spec_.encoder_layers) - 1]->output_shape();
}

int Model::feature_size(LatentPooling pooling) const {
  const TensorShape s = latent_shape();
  return pooling == LatentPooling::kMean ? s.channels : static_cast<int>(s.size());
}

std::vector<Param*> Model::params() {
  std::vector<Param*> all;
  for (auto& layer : layers_) {
    for (Param* p : layer->params()) all.push_back(p);
  }
  return all;
}

std::int64_t Model::parameter_count(ParamCounting counting, std::size_t first, std::size_t last) const {
  std::int64_t n = 0;
  for (std::size_t i = first; i < std::min(last, layers_.size()); ++i) {
    for (const Param* p : layers_[i]->params()) {
      if (p->trainable || counting == ParamCounting::kKeras) n += static_cast<std::int64_t>(p->value.size());
    }
  }
  return n;
}

detail::Plan& Model::plan(int batch, bool training, std::size_t depth, bool input_grad) {
  const auto key = std::make_tuple(batch, training, depth, input_grad);
  if (training && !plans_.contains(key)) {
    // Training plans hold every activation and gradient (GBs for seed128): keep one per depth (the
    // whole model, the encoder), so an epoch's smaller last batch does not double the memory.
    std::erase_if(plans_, [depth](const auto& entry) {
      return std::get<1>(entry.first) && std::get<2>(entry.first) == depth;
    });
  }
  auto& slot = plans_[key];
  if (!slot) {
    std::vector<Layer*> run;
    for (std::size_t i = 0; i < depth; ++i) run.push_back(layers_[i].get());
    if (training && serving_) {
      throw Error("model '" + spec_.name + "': cannot train while serving (call set_serving(false) first)");
    }
    ExecConfig config{batch, training, input_grad};
    config.constant_weights = serving_ && !training;
    slot = std::make_unique<detail::Plan>(run, ctx_, config, input_shape());
  }
  return *slot;
}

void Model::check_batch(std::span<const float> images, int batch) const {
  if (batch < 1 || images.size() != static_cast<std::size_t>(batch * input_shape().size())) {
    throw Error("model '" + spec_.name + "': expected " + std::to_string(batch) + " images of " +
                std::to_string(input_shape().size()) + " floats, got " + std::to_string(images.size()) +
                " floats");
  }
}

void Model::reconstruct(std::span<const float> images, int batch, std::span<float> out) {
  check_batch(images, batch);
  const std::size_t n = static_cast<std::size_t>(batch * output_shape().size());
  if (out.size() != n) throw Error("reconstruct: output buffer has the wrong size");
  const float* y = plan(batch, false, layers_.size(), false).forward(ctx_.stream(), images.data());
  std::copy_n(y, n, out.data());
}

void Model::encode(std::span<const float> images, int batch, LatentPooling pooling, std::span<float> out) {
  check_batch(images, batch);
  const int features = feature_size(pooling);
  if (out.size() != static_cast<std::size_t>(batch) * features)
    throw Error("encode: output buffer has the wrong size");
  const float* z = plan(batch, false, static_cast<std::size_t>(spec_.encoder_layers), false)
                       .forward(ctx_.stream(), images.data());
  const TensorShape s = latent_shape();
  if (pooling == LatentPooling::kFlat) {
    std::copy_n(z, out.size(), out.data());
    if (spec_.l2_normalize) l2_normalize_rows(out, features);
    return;
  }
  const int hw = s.height * s.width;
  for (int b = 0; b < batch; ++b) {
    for (int c = 0; c < s.channels; ++c) {
      const float* plane = z + (static_cast<std::size_t>(b) * s.channels + c) * hw;
      double sum = 0.0;
      for (int i = 0; i < hw; ++i) sum += plane[i];
      out[static_cast<std::size_t>(b) * s.channels + c] = static_cast<float>(sum / hw);
    }
  }
}

double Model::compute_gradients(std::span<const float> images, std::span<const float> targets, int batch,
                                LossKind loss, std::span<float> input_grad) {
  check_batch(images, batch);
  const std::size_t n = static_cast<std::size_t>(batch * output_shape().size());
  if (targets.size() != n) throw Error("compute_gradients: targets have the wrong size");
  if (!input_grad.empty() && input_grad.size() != images.size()) {
    throw Error("compute_gradients: input gradient buffer has the wrong size");
  }
  detail::Plan& p = plan(batch, true, layers_.size(), !input_grad.empty());
  const float* y = p.forward(ctx_.stream(), images.data());
  const std::span<const float> out(y, n);
  const double value = compute_loss(loss, out, targets);
  Layer& last = *layers_.back();
  const bool fused = loss == LossKind::kBinaryCrossEntropy && last.ends_with_sigmoid();
  last.set_skip_final_activation_backward(fused);
  const std::span<float> diff(p.diff_output(), n);
  if (fused) {
    bce_gradient_before_sigmoid(out, targets, diff);
  } else {
    loss_gradient(loss, out, targets, diff);
  }
  p.backward(ctx_.stream());
  last.set_skip_final_activation_backward(false);
  if (!input_grad.empty()) std::copy_n(p.diff_input(), input_grad.size(), input_grad.data());
  return value;
}

double Model::gradients_through(std::span<const float> images, int batch, std::size_t depth,
                                const OutputLoss& loss) {
  check_batch(images, batch);
  detail::Plan& p = plan(batch, true, depth, false);
  const std::size_t n =
      static_cast<std::size_t>(batch) * static_cast<std::size_t>(layers_[depth - 1]->output_shape().size());
  const float* z = p.forward(ctx_.stream(), images.data());
  const std::span<float> diff(p.diff_output(), n);
  const double value = loss(std::span<const float>(z, n), diff);
  p.backward(ctx_.stream());
  return value;
}

double Model::compute_output_gradients(std::span<const float> images, int batch, const OutputLoss& output_loss) {
  return gradients_through(images, batch, layers_.size(), output_loss);
}

double Model::compute_latent_gradients(std::span<const float> images, int batch,
                                       const LatentLoss& latent_loss) {
  const std::size_t encoder = static_cast<std::size_t>(spec_.encoder_layers);
  const double value = gradients_through(images, batch, encoder, latent_loss);
  for (std::size_t i = encoder; i < layers_.size(); ++i) {
    for (Param* param : layers_[i]->params()) std::fill(param->grad.begin(), param->grad.end(), 0.0f);
  }
  return value;
}

double Model::evaluate_loss(std::span<const float> images, std::span<const float> targets, int batch,
                            LossKind loss) {
  check_batch(images, batch);
  const std::size_t n = static_cast<std::size_t>(batch * output_shape().size());
  if (targets.size() != n) throw Error("evaluate_loss: targets have the wrong size");
  const float* y = plan(batch, false, layers_.size(), false).forward(ctx_.stream(), images.data());
  return compute_loss(loss, std::span<const float>(y, n), targets);
}

void Model::set_serving(bool serving) {
  if (serving == serving_) return;
  serving_ = serving;
  plans_.clear();
}

void Model::release_plans() {
  plans_.clear();
}

}  // namespace mystyle::nn
