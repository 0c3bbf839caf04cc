#pragma once
/// The layer abstraction: a Layer owns its parameters; a LayerExec is that layer compiled for one
/// batch size and mode (oneDNN primitives and buffers created once, reused every step).
#include <cstdint>
#include <memory>
#include <oneapi/dnnl/dnnl.hpp>
#include <string>
#include <vector>

#include "mystyle/nn/context.h"
#include "mystyle/nn/rng.h"

namespace mystyle::nn {

/// One image's activation shape (channels x height x width); a vector of n is {n, 1, 1}.
struct TensorShape {
  int channels = 0;
  int height = 0;
  int width = 0;
  std::int64_t size() const { return std::int64_t{channels} * height * width; }
  bool operator==(const TensorShape&) const = default;
};

/// A parameter tensor in its plain (PyTorch) layout: conv weights OIHW, linear weights OI, vectors.
/// `grad` has the same size and is overwritten by each backward pass. Non-trainable tensors (batch
/// norm moving statistics) have an empty `grad`.
struct Param {
  std::string name;  ///< e.g. "weight", "bias", "gamma", "moving_mean"
  std::vector<std::int64_t> dims;
  std::vector<float> value;
  std::vector<float> grad;
  bool trainable = true;
};

/// A parameter of shape `dims` filled with `fill` (and a zero gradient when trainable).
inline Param make_param(std::string name, std::vector<std::int64_t> dims, float fill = 0.0f, bool trainable = true) {
  Param p;
  p.name = std::move(name);
  std::size_t count = 1;
  for (const auto d : dims) count *= static_cast<std::size_t>(d);
  p.dims = std::move(dims);
  p.value.assign(count, fill);
  if (trainable) p.grad.assign(count, 0.0f);
  p.trainable = trainable;
  return p;
}

/// What a LayerExec is compiled for.
struct ExecConfig {
  int batch = 1;              ///< images per call
  bool training = false;      ///< training: keep what backward needs; inference: nothing more
  bool need_diff_src = true;  ///< false for the first layer: skip the input gradient
  /// Inference only: the parameters do not change while the exec lives, so weights are laid out
  /// for the primitive once (first forward) instead of on every call.
  bool constant_weights = false;
};

/// A layer compiled for one ExecConfig. Owns its output and gradient buffers. Holds a pointer to
/// its Layer (for parameters): the Layer must outlive it.
class LayerExec {
 public:
  virtual ~LayerExec() = default;
  /// The memory layout this exec wants its input in (the model reorders into it when needed).
  virtual const dnnl::memory::desc& src_desc() const = 0;
  /// Runs the forward pass; `src` has src_desc() and must stay alive until backward.
  virtual void forward(dnnl::stream& stream, const dnnl::memory& src) = 0;
  /// The output of the last forward (layout chosen by the exec).
  virtual const dnnl::memory& dst() const = 0;
  /// Training only: from dL/d(dst) (same layout as dst(), may be overwritten) computes the
  /// parameter gradients and, unless need_diff_src is false, dL/d(src) in diff_src().
  virtual void backward(dnnl::stream& stream, const dnnl::memory& diff_dst) = 0;
  virtual const dnnl::memory& diff_src() const = 0;
};

/// A layer of a convolutional network. Not thread-safe.
class Layer {
 public:
  virtual ~Layer() = default;
  /// One line of the model spec that built it, e.g. "conv 32 relu".
  virtual std::string describe() const = 0;
  virtual TensorShape output_shape() const = 0;
  /// Parameters and state, in a fixed order (saved in this order).
  virtual std::vector<Param*> params() { return {}; }
  /// Keras initialisation (Glorot uniform weights, zero bias, BN gamma 1 beta 0, mean 0 var 1).
  virtual void initialize(Rng& /*rng*/) {}
  /// Compiles the layer for `config`, given the layout its input will arrive in.
  virtual std::unique_ptr<LayerExec> compile(const Context& ctx, const ExecConfig& config,
                                             const dnnl::memory::desc& input_desc) = 0;
  /// True when the layer ends with a sigmoid whose backward the caller may skip (BCE fusion).
  virtual bool ends_with_sigmoid() const { return false; }
  /// Makes the next backward passes treat diff_dst as the gradient before the final sigmoid.
  virtual void set_skip_final_activation_backward(bool /*skip*/) {}
};

/// Activation functions a layer can end with.
enum class Activation {
  kNone,     ///< identity
  kRelu,     ///< max(x, 0)
  kSigmoid,  ///< 1 / (1 + exp(-x))
};

/// "none", "relu", "sigmoid".
const char* activation_name(Activation activation);

}  // namespace mystyle::nn
