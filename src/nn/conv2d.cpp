#include "mystyle/nn/conv2d.h"

#include <cmath>
#include <optional>
#include <unordered_map>

#include "dnnl_util.h"
#include "mystyle/core/error.h"
#include "mystyle/nn/batch_norm.h"

namespace mystyle::nn {
namespace {

using namespace detail;
using dnnl::memory;

class Conv2dExec : public LayerExec {
 public:
  /// `batch_norm` (inference with constant weights only): applied after the activation as post-ops.
  Conv2dExec(Conv2d& layer, const Context& ctx, const ExecConfig& config, BatchNorm* batch_norm = nullptr)
      : layer_(layer), config_(config), batch_norm_(batch_norm) {
    const auto& eng = ctx.engine();
    const TensorShape in = layer.input_shape();
    const TensorShape out = layer.output_shape();
    const memory::dims weight_dims = {out.channels, in.channels, Conv2d::kKernel, Conv2d::kKernel};
    const memory::dims bias_dims = {out.channels};
    const memory::dims strides = {1, 1};
    const memory::dims padding = {1, 1};
    const memory::desc any_weights(weight_dims, dt::f32, tag::any);
    const memory::desc plain_weights(weight_dims, dt::f32, tag::oihw);
    const memory::desc bias_md(bias_dims, dt::f32, tag::x);
    const auto prop =
        config.training ? dnnl::prop_kind::forward_training : dnnl::prop_kind::forward_inference;

    dnnl::primitive_attr attr = user_scratchpad_attr();
    dnnl::post_ops ops;
    if (layer.activation() != Activation::kNone) {
      ops.append_eltwise(1.0f, eltwise_forward_algorithm(layer.activation()), 0.0f, 0.0f);
    }
    if (batch_norm_ != nullptr) {
      // y = act(conv) * scale + shift, per output channel (the batch norm with its moving statistics).
      const memory::desc channel_md({1, out.channels, 1, 1}, dt::f32, tag::abcd);
      bn_scale_.assign(static_cast<std::size_t>(out.channels), 1.0f);
      bn_shift_.assign(static_cast<std::size_t>(out.channels), 0.0f);
      bn_scale_arg_ = DNNL_ARG_ATTR_MULTIPLE_POST_OP(ops.len()) | DNNL_ARG_SRC_1;
      ops.append_binary(dnnl::algorithm::binary_mul, channel_md);
      bn_shift_arg_ = DNNL_ARG_ATTR_MULTIPLE_POST_OP(ops.len()) | DNNL_ARG_SRC_1;
      ops.append_binary(dnnl::algorithm::binary_add, channel_md);
      bn_scale_mem_ = memory(channel_md, eng, bn_scale_.data());
      bn_shift_mem_ = memory(channel_md, eng, bn_shift_.data());
    }
    if (ops.len() > 0) attr.set_post_ops(ops);
    // Try layouts best first and keep the first JIT implementation.
    std::optional<dnnl::convolution_forward::primitive_desc> fwd_pd;
    for (tag src_tag : activation_tags(in.channels)) {
      for (tag dst_tag : activation_tags(out.channels)) {
        const auto src_md = activation_desc(config.batch, in, src_tag);
        const auto dst_md = activation_desc(config.batch, out, dst_tag);
        dnnl::convolution_forward::desc d(prop, dnnl::algorithm::convolution_direct, src_md, any_weights,
                                          bias_md, dst_md, strides, padding, padding);
        dnnl::convolution_forward::primitive_desc pd(d, attr, eng);
        if (!fwd_pd || (is_reference(*fwd_pd) && !is_reference(pd))) fwd_pd = pd;
        if (!is_reference(*fwd_pd)) break;
      }
      if (!is_reference(*fwd_pd)) break;
    }
    fwd_pd_ = *fwd_pd;
    src_md_ = fwd_pd_.src_desc();
    fwd_ = dnnl::convolution_forward(fwd_pd_);
    fwd_scratch_ = make_scratchpad(fwd_pd_, eng);
    dst_ = memory(fwd_pd_.dst_desc(), eng);
    weights_ = ParamView(eng, plain_weights, layer.weight().value.data(), fwd_pd_.weights_desc());
    bias_ = memory(bias_md, eng, layer.bias().value.data());
    if (!config.training) return;

    if (layer.activation() != Activation::kNone) {
      dnnl::eltwise_backward::desc ed(eltwise_backward_algorithm(layer.activation()), dst_.get_desc(),
                                      dst_.get_desc(), 0.0f, 0.0f);
      dnnl::eltwise_forward::desc efd(dnnl::prop_kind::forward_training,
                                      eltwise_forward_algorithm(layer.activation()), dst_.get_desc(), 0.0f,
                                      0.0f);
      dnnl::eltwise_forward::primitive_desc efpd(efd, eng);
      act_bwd_ = dnnl::eltwise_backward(dnnl::eltwise_backward::primitive_desc(ed, eng, efpd));
    }
    dnnl::convolution_backward_weights::desc wd(dnnl::algorithm::convolution_direct, src_md_, any_weights,
                                                bias_md, dst_.get_desc(), strides, padding, padding);
    dnnl::convolution_backward_weights::primitive_desc wpd(wd, user_scratchpad_attr(), eng, fwd_pd_);
    bwd_weights_ = dnnl::convolution_backward_weights(wpd);
    bwd_weights_scratch_ = make_scratchpad(wpd, eng);
    diff_weights_ = ParamView(eng, plain_weights, layer.weight().grad.data(), wpd.diff_weights_desc());
    diff_bias_ = memory(bias_md, eng, layer.bias().grad.data());
    if (config.need_diff_src) {
      dnnl::convolution_backward_data::desc dd(dnnl::algorithm::convolution_direct, src_md_, any_weights,
                                               dst_.get_desc(), strides, padding, padding);
      dnnl::convolution_backward_data::primitive_desc dpd(dd, user_scratchpad_attr(), eng, fwd_pd_);
      bwd_data_ = dnnl::convolution_backward_data(dpd);
      bwd_data_scratch_ = make_scratchpad(dpd, eng);
      bwd_data_weights_ = ParamView(eng, plain_weights, layer.weight().value.data(), dpd.weights_desc());
      diff_src_ = memory(dpd.diff_src_desc(), eng);
    }
  }

  const memory::desc& src_desc() const override { return src_md_; }
  const memory& dst() const override { return dst_; }
  const memory& diff_src() const override { return diff_src_; }

  bool is_reference_kernel() const { return is_reference(fwd_pd_); }

  void forward(dnnl::stream& s, const memory& src) override {
    src_ = src;
    if (!config_.constant_weights || !weights_ready_) {
      weights_.pull(s);
      if (batch_norm_ != nullptr) fold_batch_norm();
      weights_ready_ = true;
    }
    std::unordered_map<int, memory> args = {{DNNL_ARG_SRC, src},
                                            {DNNL_ARG_WEIGHTS, weights_.mem()},
                                            {DNNL_ARG_BIAS, bias_},
                                            {DNNL_ARG_DST, dst_},
                                            {DNNL_ARG_SCRATCHPAD, fwd_scratch_}};
    if (batch_norm_ != nullptr) {
      args.emplace(bn_scale_arg_, bn_scale_mem_);
      args.emplace(bn_shift_arg_, bn_shift_mem_);
    }
    fwd_.execute(s, args);
  }

  void backward(dnnl::stream& s, const memory& diff_dst) override {
    if (act_bwd_ && !layer_.skip_activation_backward()) {
      // In place: diff_dst belongs to the next layer and is not needed after this.
      act_bwd_.execute(s,
                       {{DNNL_ARG_DST, dst_}, {DNNL_ARG_DIFF_DST, diff_dst}, {DNNL_ARG_DIFF_SRC, diff_dst}});
    }
    bwd_weights_.execute(s, {{DNNL_ARG_SRC, src_},
                             {DNNL_ARG_DIFF_DST, diff_dst},
                             {DNNL_ARG_DIFF_WEIGHTS, diff_weights_.mem()},
                             {DNNL_ARG_DIFF_BIAS, diff_bias_},
                             {DNNL_ARG_SCRATCHPAD, bwd_weights_scratch_}});
    diff_weights_.push(s);
    if (config_.need_diff_src) {
      bwd_data_weights_.pull(s);
      bwd_data_.execute(s, {{DNNL_ARG_DIFF_DST, diff_dst},
                            {DNNL_ARG_WEIGHTS, bwd_data_weights_.mem()},
                            {DNNL_ARG_DIFF_SRC, diff_src_},
                            {DNNL_ARG_SCRATCHPAD, bwd_data_scratch_}});
    }
  }

 private:
  /// scale = gamma / sqrt(moving_variance + eps), shift = beta - moving_mean * scale.
  void fold_batch_norm() {
    const auto& gamma = batch_norm_->gamma().value;
    const auto& beta = batch_norm_->beta().value;
    const auto& mean = batch_norm_->moving_mean().value;
    const auto& variance = batch_norm_->moving_variance().value;
    for (std::size_t c = 0; c < bn_scale_.size(); ++c) {
      bn_scale_[c] = gamma[c] / std::sqrt(variance[c] + BatchNorm::kEpsilon);
      bn_shift_[c] = beta[c] - mean[c] * bn_scale_[c];
    }
  }

  Conv2d& layer_;
  ExecConfig config_;
  BatchNorm* batch_norm_ = nullptr;
  bool weights_ready_ = false;
  std::vector<float> bn_scale_, bn_shift_;
  memory bn_scale_mem_, bn_shift_mem_;
  int bn_scale_arg_ = 0, bn_shift_arg_ = 0;
  dnnl::convolution_forward::primitive_desc fwd_pd_;
  memory::desc src_md_;
  dnnl::convolution_forward fwd_;
  dnnl::eltwise_backward act_bwd_;
  dnnl::convolution_backward_weights bwd_weights_;
  dnnl::convolution_backward_data bwd_data_;
  ParamView weights_, diff_weights_, bwd_data_weights_;
  memory bias_, diff_bias_, src_, dst_, diff_src_;
  memory fwd_scratch_, bwd_weights_scratch_, bwd_data_scratch_;
};

}  // namespace

std::unique_ptr<LayerExec> Conv2d::compile_with_batch_norm(const Context& ctx, const ExecConfig& config,
                                                           BatchNorm& batch_norm) {
  if (config.training || !config.constant_weights) {
    throw Error("conv: a batch norm folds into a convolution only for inference with constant weights");
  }
  if (batch_norm.shape() != output_shape()) throw Error("conv: the batch norm's shape differs from the output's");
  auto exec = std::make_unique<Conv2dExec>(*this, ctx, config, &batch_norm);
  if (exec->is_reference_kernel()) return nullptr;
  return exec;
}

Conv2d::Conv2d(TensorShape input, int out_channels, Activation activation)
    : input_(input),
      out_channels_(out_channels),
      activation_(activation),
      weight_(make_param("weight", {out_channels, input.channels, kKernel, kKernel})),
      bias_(make_param("bias", {out_channels})) {}

std::string Conv2d::describe() const {
  std::string s = "conv " + std::to_string(out_channels_);
  if (activation_ != Activation::kNone) s += std::string(" ") + activation_name(activation_);
  return s;
}

void Conv2d::initialize(Rng& rng) {
  const double receptive = kKernel * kKernel;
  glorot_uniform(rng, weight_.value, receptive * input_.channels, receptive * out_channels_);
  std::fill(bias_.value.begin(), bias_.value.end(), 0.0f);
}

std::unique_ptr<LayerExec> Conv2d::compile(const Context& ctx, const ExecConfig& config,
                                           const dnnl::memory::desc& /*input_desc*/) {
  return std::make_unique<Conv2dExec>(*this, ctx, config);
}

}  // namespace mystyle::nn
