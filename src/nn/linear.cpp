#include "mystyle/nn/linear.h"

#include <optional>

#include "dnnl_util.h"

namespace mystyle::nn {
namespace {

using namespace detail;
using dnnl::memory;

class LinearExec : public LayerExec {
 public:
  LinearExec(Linear& layer, const Context& ctx, const ExecConfig& config, const memory::desc& input_desc)
      : layer_(layer), config_(config), eng_(ctx.engine()) {
    const TensorShape in = layer.input_shape();
    const int units = layer.output_shape().channels;
    const memory::dims w4 = {units, in.channels, in.height, in.width};
    const memory::desc any_weights(w4, dt::f32, tag::any);
    const memory::desc plain_weights(w4, dt::f32, tag::oihw);
    const memory::desc bias_md({units}, dt::f32, tag::x);
    dst2_md_ = memory::desc({config.batch, units}, dt::f32, tag::nc);
    const auto prop =
        config.training ? dnnl::prop_kind::forward_training : dnnl::prop_kind::forward_inference;
    dnnl::primitive_attr attr;
    if (layer.activation() != Activation::kNone) {
      dnnl::post_ops ops;
      ops.append_eltwise(1.0f, eltwise_forward_algorithm(layer.activation()), 0.0f, 0.0f);
      attr.set_post_ops(ops);
    }
    std::optional<dnnl::inner_product_forward::primitive_desc> pd;
    for (const auto& src_md : {input_desc, activation_desc(config.batch, in, tag::nchw)}) {
      dnnl::inner_product_forward::desc d(prop, src_md, any_weights, bias_md, dst2_md_);
      dnnl::inner_product_forward::primitive_desc candidate(d, attr, eng_);
      if (!pd || is_reference(*pd)) pd = candidate;
      if (!is_reference(*pd)) break;
    }
    fwd_pd_ = *pd;
    src_md_ = fwd_pd_.src_desc();
    fwd_ = dnnl::inner_product_forward(fwd_pd_);
    dst_ = memory(dst2_md_.reshape({config.batch, units, 1, 1}), eng_);
    weights_ = ParamView(eng_, plain_weights, layer.weight().value.data(), fwd_pd_.weights_desc());
    bias_ = memory(bias_md, eng_, layer.bias().value.data());
    if (!config.training) return;
    if (layer.activation() != Activation::kNone) {
      dnnl::eltwise_forward::desc efd(dnnl::prop_kind::forward_training,
                                      eltwise_forward_algorithm(layer.activation()), dst2_md_, 0.0f, 0.0f);
      dnnl::eltwise_backward::desc ed(eltwise_backward_algorithm(layer.activation()), dst2_md_, dst2_md_,
                                      0.0f, 0.0f);
      act_bwd_ = dnnl::eltwise_backward(
          dnnl::eltwise_backward::primitive_desc(ed, eng_, dnnl::eltwise_forward::primitive_desc(efd, eng_)));
    }
    dnnl::inner_product_backward_weights::desc wd(src_md_, any_weights, bias_md, dst2_md_);
    dnnl::inner_product_backward_weights::primitive_desc wpd(wd, eng_, fwd_pd_);
    bwd_weights_ = dnnl::inner_product_backward_weights(wpd);
    diff_weights_ = ParamView(eng_, plain_weights, layer.weight().grad.data(), wpd.diff_weights_desc());
    diff_bias_ = memory(bias_md, eng_, layer.bias().grad.data());
    if (config.need_diff_src) {
      dnnl::inner_product_backward_data::desc dd(src_md_, any_weights, dst2_md_);
      dnnl::inner_product_backward_data::primitive_desc dpd(dd, eng_, fwd_pd_);
      bwd_data_ = dnnl::inner_product_backward_data(dpd);
      bwd_data_weights_ = ParamView(eng_, plain_weights, layer.weight().value.data(), dpd.weights_desc());
      diff_src_ = memory(dpd.diff_src_desc(), eng_);
    }
  }

  const memory::desc& src_desc() const override { return src_md_; }
  const memory& dst() const override { return dst_; }
  const memory& diff_src() const override { return diff_src_; }

  void forward(dnnl::stream& s, const memory& src) override {
    src_ = src;
    if (!config_.constant_weights || !weights_ready_) {
      weights_.pull(s);
      weights_ready_ = true;
    }
    const memory dst2(dst2_md_, eng_, dst_.get_data_handle());
    fwd_.execute(s, {{DNNL_ARG_SRC, src},
                     {DNNL_ARG_WEIGHTS, weights_.mem()},
                     {DNNL_ARG_BIAS, bias_},
                     {DNNL_ARG_DST, dst2}});
  }

  void backward(dnnl::stream& s, const memory& diff_dst) override {
    const memory diff2(dst2_md_, eng_, diff_dst.get_data_handle());
    if (act_bwd_ && !layer_.skip_activation_backward()) {
      const memory dst2(dst2_md_, eng_, dst_.get_data_handle());
      act_bwd_.execute(s, {{DNNL_ARG_DST, dst2}, {DNNL_ARG_DIFF_DST, diff2}, {DNNL_ARG_DIFF_SRC, diff2}});
    }
    bwd_weights_.execute(s, {{DNNL_ARG_SRC, src_},
                             {DNNL_ARG_DIFF_DST, diff2},
                             {DNNL_ARG_DIFF_WEIGHTS, diff_weights_.mem()},
                             {DNNL_ARG_DIFF_BIAS, diff_bias_}});
    diff_weights_.push(s);
    if (config_.need_diff_src) {
      bwd_data_weights_.pull(s);
      bwd_data_.execute(s, {{DNNL_ARG_DIFF_DST, diff2},
                            {DNNL_ARG_WEIGHTS, bwd_data_weights_.mem()},
                            {DNNL_ARG_DIFF_SRC, diff_src_}});
    }
  }

 private:
  Linear& layer_;
  ExecConfig config_;
  bool weights_ready_ = false;
  dnnl::engine eng_;
  dnnl::inner_product_forward::primitive_desc fwd_pd_;
  memory::desc src_md_, dst2_md_;
  dnnl::inner_product_forward fwd_;
  dnnl::eltwise_backward act_bwd_;
  dnnl::inner_product_backward_weights bwd_weights_;
  dnnl::inner_product_backward_data bwd_data_;
  ParamView weights_, diff_weights_, bwd_data_weights_;
  memory bias_, diff_bias_, src_, dst_, diff_src_;
};

}  // namespace

Linear::Linear(TensorShape input, int units, Activation activation)
    : input_(input),
      units_(units),
      activation_(activation),
      weight_(make_param("weight", {units, input.size()})),
      bias_(make_param("bias", {units})) {}

std::string Linear::describe() const {
  std::string s = "linear " + std::to_string(units_);
  if (activation_ != Activation::kNone) s += std::string(" ") + activation_name(activation_);
  return s;
}

void Linear::initialize(Rng& rng) {
  glorot_uniform(rng, weight_.value, static_cast<double>(input_.size()), units_);
  std::fill(bias_.value.begin(), bias_.value.end(), 0.0f);
}

std::unique_ptr<LayerExec> Linear::compile(const Context& ctx, const ExecConfig& config,
                                           const dnnl::memory::desc& input_desc) {
  return std::make_unique<LinearExec>(*this, ctx, config, input_desc);
}

}  // namespace mystyle::nn
