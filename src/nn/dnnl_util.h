#pragma once
// Private helpers shared by the layer implementations.
#include <cmath>
#include <oneapi/dnnl/dnnl.hpp>
#include <string>
#include <vector>

#include "mystyle/nn/layer.h"

namespace mystyle::nn::detail {

using tag = dnnl::memory::format_tag;
using dt = dnnl::memory::data_type;

/// The activation layouts: 16-channel blocks where the channel count allows (oneDNN's AVX-512
/// kernels; seed64 trains 1.3x faster than with 8-channel blocks everywhere), else 8-channel
/// blocks, which keep oneDNN on its JIT kernels (nChw16c would pad 8-channel layers to 16; plain
/// layouts send several primitives to reference kernels). The plan reorders between the two.
inline constexpr tag kBlockedTag = tag::nChw8c;
inline constexpr tag kWideBlockedTag = tag::nChw16c;

/// The blocked layout for an activation of `channels` channels (nchw when not a multiple of 8).
inline tag blocked_tag(int channels) {
  return channels % 16 == 0 ? kWideBlockedTag : channels % 8 == 0 ? kBlockedTag : tag::nchw;
}

inline dnnl::memory::desc activation_desc(int batch, const TensorShape& s, tag t) {
  return dnnl::memory::desc({batch, s.channels, s.height, s.width}, dt::f32, t);
}

/// Layout candidates for an activation with `channels` channels, best first.
inline std::vector<tag> activation_tags(int channels) {
  if (channels % 16 == 0) return {kWideBlockedTag, kBlockedTag};
  if (channels % 8 == 0) return {kBlockedTag};
  return {tag::nchw, tag::nhwc, kBlockedTag};
}

/// True when oneDNN picked a reference (slow, scalar) implementation.
template <typename PrimitiveDesc>
bool is_reference(const PrimitiveDesc& pd) {
  return std::string(pd.impl_info_str()).find("ref") != std::string::npos;
}

inline dnnl::algorithm eltwise_forward_algorithm(Activation a) {
  return a == Activation::kRelu ? dnnl::algorithm::eltwise_relu : dnnl::algorithm::eltwise_logistic;
}

inline dnnl::algorithm eltwise_backward_algorithm(Activation a) {
  return a == Activation::kRelu ? dnnl::algorithm::eltwise_relu_use_dst_for_bwd
                                : dnnl::algorithm::eltwise_logistic_use_dst_for_bwd;
}

/// Attributes asking for a caller-owned scratchpad: oneDNN's default allocates one per execution
/// (large ones are mmap'ed and page-faulted every step); we allocate it once per exec instead.
inline dnnl::primitive_attr user_scratchpad_attr() {
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  return attr;
}

template <typename PrimitiveDesc>
dnnl::memory make_scratchpad(const PrimitiveDesc& pd, const dnnl::engine& eng) {
  return dnnl::memory(pd.scratchpad_desc(), eng);
}

/// A memory over plain parameter storage (no copy; `data` must outlive the memory).
inline dnnl::memory wrap(const dnnl::engine& eng, const dnnl::memory::desc& md, float* data) {
  return dnnl::memory(md, eng, data);
}

/// A parameter seen by a primitive: the plain tensor plus, when the primitive wants another
/// layout, a private copy in that layout refreshed before each use.
class ParamView {
 public:
  ParamView() = default;
  ParamView(const dnnl::engine& eng, const dnnl::memory::desc& plain_md, float* plain,
            const dnnl::memory::desc& wanted_md)
      : plain_(plain_md, eng, plain) {
    if (wanted_md == plain_md) {
      mem_ = plain_;
    } else {
      mem_ = dnnl::memory(wanted_md, eng);
      to_wanted_ = dnnl::reorder(plain_, mem_);
      to_plain_ = dnnl::reorder(mem_, plain_);
    }
  }
  /// The memory to pass to the primitive.
  const dnnl::memory& mem() const { return mem_; }
  /// Copies the plain values into the primitive layout (a no-op when they coincide).
  void pull(dnnl::stream& s) {
    if (to_wanted_) to_wanted_.execute(s, plain_, mem_);
  }
  /// Copies the primitive-layout values back into the plain tensor (for gradients).
  void push(dnnl::stream& s) {
    if (to_plain_) to_plain_.execute(s, mem_, plain_);
  }

 private:
  dnnl::memory plain_;
  dnnl::memory mem_;
  dnnl::reorder to_wanted_;
  dnnl::reorder to_plain_;
};

/// Glorot (Xavier) uniform, as Keras initialises kernels.
inline void glorot_uniform(Rng& rng, std::vector<float>& w, double fan_in, double fan_out) {
  const auto limit = static_cast<float>(std::sqrt(6.0 / (fan_in + fan_out)));
  for (auto& v : w) v = rng.uniform(-limit, limit);
}

}  // namespace mystyle::nn::detail
