#include "mystyle/nn/activation_layer.h"

#include "dnnl_util.h"
#include "mystyle/core/error.h"

namespace mystyle::nn {
namespace {

using namespace detail;
using dnnl::memory;

class ActivationExec : public LayerExec {
 public:
  ActivationExec(ActivationLayer& layer, const Context& ctx, const ExecConfig& config,
                 const memory::desc& input_desc)
      : layer_(layer), src_md_(input_desc) {
    const auto& eng = ctx.engine();
    const auto prop =
        config.training ? dnnl::prop_kind::forward_training : dnnl::prop_kind::forward_inference;
    dnnl::eltwise_forward::desc fd(prop, eltwise_forward_algorithm(layer.activation()), src_md_, 0.0f, 0.0f);
    dnnl::eltwise_forward::primitive_desc fpd(fd, eng);
    fwd_ = dnnl::eltwise_forward(fpd);
    dst_ = memory(fpd.dst_desc(), eng);
    if (!config.training) return;
    dnnl::eltwise_backward::desc bd(eltwise_backward_algorithm(layer.activation()), src_md_, src_md_, 0.0f,
                                    0.0f);
    bwd_ = dnnl::eltwise_backward(dnnl::eltwise_backward::primitive_desc(bd, eng, fpd));
    diff_src_ = memory(src_md_, eng);
    copy_diff_ = dnnl::reorder(diff_src_, diff_src_);
  }

  const memory::desc& src_desc() const override { return src_md_; }
  const memory& dst() const override { return dst_; }
  const memory& diff_src() const override { return diff_src_; }

  void forward(dnnl::stream& s, const memory& src) override {
    fwd_.execute(s, {{DNNL_ARG_SRC, src}, {DNNL_ARG_DST, dst_}});
  }

  void backward(dnnl::stream& s, const memory& diff_dst) override {
    if (layer_.skip_backward()) {
      memory src = diff_dst;
      copy_diff_.execute(s, src, diff_src_);
      return;
    }
    bwd_.execute(s, {{DNNL_ARG_DST, dst_}, {DNNL_ARG_DIFF_DST, diff_dst}, {DNNL_ARG_DIFF_SRC, diff_src_}});
  }

 private:
  ActivationLayer& layer_;
  memory::desc src_md_;
  dnnl::eltwise_forward fwd_;
  dnnl::eltwise_backward bwd_;
  dnnl::reorder copy_diff_;  // the identity, when a fused loss gradient skips this sigmoid
  memory dst_, diff_src_;
};

}  // namespace

const char* activation_name(Activation activation) {
  switch (activation) {
    case Activation::kNone:
      return "none";
    case Activation::kRelu:
      return "relu";
    case Activation::kSigmoid:
      return "sigmoid";
  }
  return "?";
}

ActivationLayer::ActivationLayer(TensorShape shape, Activation activation)
    : shape_(shape), activation_(activation) {
  if (activation == Activation::kNone) throw Error("activation layer needs relu or sigmoid");
}

std::unique_ptr<LayerExec> ActivationLayer::compile(const Context& ctx, const ExecConfig& config,
                                                    const dnnl::memory::desc& input_desc) {
  return std::make_unique<ActivationExec>(*this, ctx, config, input_desc);
}

}  // namespace mystyle::nn
