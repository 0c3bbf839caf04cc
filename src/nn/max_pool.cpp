#include "mystyle/nn/max_pool.h"

#include "dnnl_util.h"
#include "mystyle/core/error.h"

namespace mystyle::nn {
namespace {

using namespace detail;
using dnnl::memory;

class MaxPoolExec : public LayerExec {
 public:
  MaxPoolExec(const MaxPool& layer, const Context& ctx, const ExecConfig& config,
              const memory::desc& input_desc)
      : config_(config) {
    const auto& eng = ctx.engine();
    const TensorShape in = layer.input_shape();
    const TensorShape out = layer.output_shape();
    // Pool in whatever layout arrives when it is the blocked one; otherwise ask for it.
    const tag t = blocked_tag(in.channels);
    src_md_ = activation_desc(config.batch, in, t);
    (void)input_desc;
    const auto dst_md = activation_desc(config.batch, out, t);
    const memory::dims kernel = {2, 2}, strides = {2, 2}, pad = {0, 0};
    const auto prop =
        config.training ? dnnl::prop_kind::forward_training : dnnl::prop_kind::forward_inference;
    dnnl::pooling_forward::desc fd(prop, dnnl::algorithm::pooling_max, src_md_, dst_md, strides, kernel, pad,
                                   pad);
    dnnl::pooling_forward::primitive_desc fpd(fd, eng);
    fwd_ = dnnl::pooling_forward(fpd);
    dst_ = memory(fpd.dst_desc(), eng);
    if (!config.training) return;
    workspace_ = memory(fpd.workspace_desc(), eng);
    dnnl::pooling_backward::desc bd(dnnl::algorithm::pooling_max, src_md_, dst_md, strides, kernel, pad, pad);
    bwd_ = dnnl::pooling_backward(dnnl::pooling_backward::primitive_desc(bd, eng, fpd));
    if (config.need_diff_src) diff_src_ = memory(src_md_, eng);
  }

  const memory::desc& src_desc() const override { return src_md_; }
  const memory& dst() const override { return dst_; }
  const memory& diff_src() const override { return diff_src_; }

  void forward(dnnl::stream& s, const memory& src) override {
    if (config_.training) {
      fwd_.execute(s, {{DNNL_ARG_SRC, src}, {DNNL_ARG_DST, dst_}, {DNNL_ARG_WORKSPACE, workspace_}});
    } else {
      fwd_.execute(s, {{DNNL_ARG_SRC, src}, {DNNL_ARG_DST, dst_}});
    }
  }

  void backward(dnnl::stream& s, const memory& diff_dst) override {
    if (!config_.need_diff_src) return;
    bwd_.execute(
        s, {{DNNL_ARG_DIFF_DST, diff_dst}, {DNNL_ARG_WORKSPACE, workspace_}, {DNNL_ARG_DIFF_SRC, diff_src_}});
  }

 private:
  ExecConfig config_;
  memory::desc src_md_;
  dnnl::pooling_forward fwd_;
  dnnl::pooling_backward bwd_;
  memory dst_, workspace_, diff_src_;
};

}  // namespace

MaxPool::MaxPool(TensorShape input) : input_(input) {
  if (input.height % 2 != 0 || input.width % 2 != 0) {
    throw Error("maxpool needs an even height and width, got " + std::to_string(input.height) + "x" +
                std::to_string(input.width));
  }
}

std::unique_ptr<LayerExec> MaxPool::compile(const Context& ctx, const ExecConfig& config,
                                            const dnnl::memory::desc& input_desc) {
  return std::make_unique<MaxPoolExec>(*this, ctx, config, input_desc);
}

}  // namespace mystyle::nn
