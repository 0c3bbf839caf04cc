#pragma once
/// A model built from a ModelSpec: an ordered list of layers with their parameters, compiled
/// lazily into oneDNN plans (primitives and buffers for one batch size and mode, reused by every
/// call with that batch size; only the most recent training plan is kept). Not thread-safe; movable.
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <span>
#include <tuple>
#include <vector>

#include "mystyle/nn/context.h"
#include "mystyle/nn/layer.h"
#include "mystyle/nn/loss.h"
#include "mystyle/nn/model_spec.h"

namespace mystyle::nn {

namespace detail {
class Plan;
}

/// How parameters are counted.
enum class ParamCounting {
  kKeras,      ///< every tensor, batch-norm moving mean and variance included (Keras's summary)
  kTrainable,  ///< trainable tensors only (PyTorch's count)
};

/// How the latent activation [latent C, H, W] becomes a feature vector.
enum class LatentPooling {
  kFlat,  ///< all C*H*W numbers, in channel, row, column order (index c*H*W + y*W + x)
  kMean,  ///< C channel means (the original's 8-number feature)
};

class Model {
 public:
  /// Builds the layers of `spec` and initialises them as Keras does, from `init_seed`.
  /// Throws mystyle::Error (kInvalidInput) when the spec's shapes do not work out.
  Model(ModelSpec spec, std::uint64_t init_seed);
  ~Model();
  Model(Model&&) noexcept;
  Model& operator=(Model&&) noexcept;

  const ModelSpec& spec() const { return spec_; }
  TensorShape input_shape() const { return {spec_.in_channels, spec_.image_side_px, spec_.image_side_px}; }
  TensorShape latent_shape() const;
  TensorShape output_shape() const { return layers_.back()->output_shape(); }
  /// Values per image in encode() output.
  int feature_size(LatentPooling pooling) const;

  std::size_t num_layers() const { return layers_.size(); }
  Layer& layer(std::size_t i) { return *layers_[i]; }
  /// Every parameter and state tensor, layer by layer (the order of the model file).
  std::vector<Param*> params();
  /// Counts over layers [first, last) (default: all).
  std::int64_t parameter_count(ParamCounting counting, std::size_t first = 0,
                               std::size_t last = SIZE_MAX) const;

  /// Inference (batch-norm moving statistics). `images`: [batch, C, S, S] NCHW floats in [0, 1].
  /// Writes the reconstruction, same shape as output_shape() per image, into `out`.
  void reconstruct(std::span<const float> images, int batch, std::span<float> out);
  /// Encoder only, inference: writes batch * feature_size(pooling) floats into `out`.
  void encode(std::span<const float> images, int batch, LatentPooling pooling, std::span<float> out);

  /// Training forward (batch statistics, moving averages updated) and backward: every trainable
  /// Param's grad is overwritten with dL/dp for `loss` between the output and `targets` (same
  /// size as the output). When `input_grad` is not empty it receives dL/d(images). Returns the loss.
  /// `images` must stay unchanged during the call.
  double compute_gradients(std::span<const float> images, std::span<const float> targets, int batch,
                           LossKind loss, std::span<float> input_grad = {});
  /// A loss on the latent features: given [batch, feature_size(kFlat)] features (flat order), writes
  /// dL/d(features) into `grad` (same size) and returns the loss.
  using LatentLoss = std::function<double(std::span<const float> features, std::span<float> grad)>;
  /// Encoder-only training forward and backward for a loss on the latent features (e.g. a
  /// contrastive loss): the encoder's trainable grads are overwritten with dL/dp, the decoder's are
  /// set to zero. Returns the loss. `images` must stay unchanged during the call.
  double compute_latent_gradients(std::span<const float> images, int batch, const LatentLoss& latent_loss);
  /// A loss on the whole model's output (e.g. pixel_cross_entropy on a parsing model's logits):
  /// given [batch, output_shape().size()] outputs, writes dL/d(outputs) into `grad` (same size) and
  /// returns the loss.
  using OutputLoss = std::function<double(std::span<const float> outputs, std::span<float> grad)>;
  /// Training forward and backward for such a loss: every trainable Param's grad is overwritten
  /// with dL/dp. Returns the loss. `images` must stay unchanged during the call.
  double compute_output_gradients(std::span<const float> images, int batch, const OutputLoss& output_loss);
  /// Loss in inference mode (no gradients, moving statistics untouched).
  double evaluate_loss(std::span<const float> images, std::span<const float> targets, int batch,
                       LossKind loss);

  /// Drops the compiled plans (frees their buffers); they are rebuilt on demand.
  void release_plans();

  /// Serving: the caller promises not to change any parameter until set_serving(false). Inference
  /// plans then lay the weights out once, not on every call, and run each batch norm that follows a
  /// convolution inside it (same results to float rounding, fewer passes; what a one-photo query
  /// pays for). Training while serving is refused.
  void set_serving(bool serving);
  bool serving() const { return serving_; }

 private:
  detail::Plan& plan(int batch, bool training, std::size_t depth, bool input_grad);
  void check_batch(std::span<const float> images, int batch) const;
  /// Forward and backward through the first `depth` layers for a loss on their output.
  double gradients_through(std::span<const float> images, int batch, std::size_t depth, const OutputLoss& loss);

  ModelSpec spec_;
  Context ctx_;
  std::vector<std::unique_ptr<Layer>> layers_;
  std::map<std::tuple<int, bool, std::size_t, bool>, std::unique_ptr<detail::Plan>> plans_;
  bool serving_ = false;
};

}  // namespace mystyle::nn
