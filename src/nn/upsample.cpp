#include "mystyle/nn/upsample.h"

#include "dnnl_util.h"

namespace mystyle::nn {
namespace {

using namespace detail;
using dnnl::memory;

class UpsampleExec : public LayerExec {
 public:
  UpsampleExec(const Upsample& layer, const Context& ctx, const ExecConfig& config) : config_(config) {
    const auto& eng = ctx.engine();
    const TensorShape in = layer.input_shape();
    const TensorShape out = layer.output_shape();
    const tag t = blocked_tag(in.channels);
    src_md_ = activation_desc(config.batch, in, t);
    const auto dst_md = activation_desc(config.batch, out, t);
    const auto prop =
        config.training ? dnnl::prop_kind::forward_training : dnnl::prop_kind::forward_inference;
    dnnl::resampling_forward::desc fd(prop, dnnl::algorithm::resampling_nearest, src_md_, dst_md);
    dnnl::resampling_forward::primitive_desc fpd(fd, eng);
    fwd_ = dnnl::resampling_forward(fpd);
    dst_ = memory(dst_md, eng);
    if (!config.training || !config.need_diff_src) return;
    dnnl::resampling_backward::desc bd(dnnl::algorithm::resampling_nearest, src_md_, dst_md);
    bwd_ = dnnl::resampling_backward(dnnl::resampling_backward::primitive_desc(bd, eng, fpd));
    diff_src_ = memory(src_md_, eng);
  }

  const memory::desc& src_desc() const override { return src_md_; }
  const memory& dst() const override { return dst_; }
  const memory& diff_src() const override { return diff_src_; }

  void forward(dnnl::stream& s, const memory& src) override {
    fwd_.execute(s, {{DNNL_ARG_SRC, src}, {DNNL_ARG_DST, dst_}});
  }

  void backward(dnnl::stream& s, const memory& diff_dst) override {
    if (!config_.need_diff_src) return;
    bwd_.execute(s, {{DNNL_ARG_DIFF_DST, diff_dst}, {DNNL_ARG_DIFF_SRC, diff_src_}});
  }

 private:
  ExecConfig config_;
  memory::desc src_md_;
  dnnl::resampling_forward fwd_;
  dnnl::resampling_backward bwd_;
  memory dst_, diff_src_;
};

}  // namespace

std::unique_ptr<LayerExec> Upsample::compile(const Context& ctx, const ExecConfig& config,
                                             const dnnl::memory::desc& /*input_desc*/) {
  return std::make_unique<UpsampleExec>(*this, ctx, config);
}

}  // namespace mystyle::nn
