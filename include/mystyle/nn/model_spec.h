#pragma once
/// Declarative model description: a model is an ordered list of layer specs, written as text,
/// one layer per line. New encoders are new specs, not new code. Example (seed64):
///
///     model seed64
///     input 3 64          # channels, image side in pixels (square images)
///     conv 32 relu        # 3x3 'same' convolution with 32 filters, fused ReLU
///     maxpool             # 2x2, stride 2
///     ...
///     latent              # the encoder ends here; encode() returns this activation
///     conv 8 relu
///     upsample            # nearest, x2
///     batchnorm
///     linear 10 sigmoid   # fully connected
///     relu | sigmoid      # standalone activation
///     push                # remember this activation (a skip connection starts)
///     add                 # add the last remembered one back: same shape (it ends)
///     l2norm              # encode() returns each image's flat code scaled to unit length
///
/// '#' starts a comment; blank lines are ignored.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "mystyle/nn/layer.h"

namespace mystyle::nn {

/// The layer types a spec can name.
enum class LayerKind {
  kConv,        ///< Conv2d 3x3 same, `units` filters, optional activation
  kMaxPool,     ///< MaxPool 2x2
  kUpsample,    ///< nearest Upsample x2
  kBatchNorm,   ///< BatchNorm (Keras defaults)
  kLinear,      ///< Linear with `units` outputs, optional activation
  kActivation,  ///< standalone ReLU or sigmoid
  kPush,        ///< remember the activation here (skip.h)
  kAdd,         ///< add the most recent unmatched push's activation (same shape)
};

struct LayerSpec {
  LayerKind kind = LayerKind::kConv;
  int units = 0;  ///< filters (conv) or outputs (linear); 0 otherwise
  Activation activation = Activation::kNone;
  bool operator==(const LayerSpec&) const = default;
};

struct ModelSpec {
  std::string name;
  int in_channels = 3;
  int image_side_px = 64;
  std::vector<LayerSpec> layers;
  int encoder_layers = 0;  ///< the first `encoder_layers` layers form the encoder
  bool l2_normalize = false;  ///< encode() with flat pooling returns unit-length codes
  bool operator==(const ModelSpec&) const = default;
};

/// Parses the text form. Throws mystyle::Error (kInvalidInput) naming the line and what was expected.
ModelSpec parse_model_spec(std::string_view text);

/// The text form; parse_model_spec(format_model_spec(s)) == s.
std::string format_model_spec(const ModelSpec& spec);

/// The built-in specs: "seed64" and "seed128" (the original's 64x64 and 128x128 autoencoders) and
/// "style" (an encoder-only CNN whose 128-D unit-length embedding is trained on catalog labels).
/// Throws mystyle::Error (kNotFound) for another name.
ModelSpec builtin_model_spec(std::string_view name);

/// Largest activation (channels x height x width of one image after any layer) a spec may declare,
/// and the largest single dimension: far above every real model, small enough that no shape or
/// parameter count overflows.
inline constexpr std::int64_t kMaxSpecActivation = std::int64_t{1} << 31;
inline constexpr std::int64_t kMaxSpecDimension = std::int64_t{1} << 20;

/// Number of floats in the parameter and state tensors of Model(spec) (Model::parameter_count with
/// ParamCounting::kKeras), computed from the shapes alone, without allocating: a model file's spec
/// can be checked against the bytes that follow it before a Model is built. Throws mystyle::Error
/// (kInvalidInput) for a spec whose shapes pass kMaxSpecActivation or kMaxSpecDimension, or a
/// maxpool over an odd side.
std::int64_t spec_parameter_count(const ModelSpec& spec);

/// True for a model without a decoder (it is trained on labels, not on reconstruction).
inline bool is_encoder_only(const ModelSpec& spec) {
  return spec.encoder_layers == static_cast<int>(spec.layers.size());
}
/// Names accepted by builtin_model_spec.
std::vector<std::string> builtin_model_names();

}  // namespace mystyle::nn
