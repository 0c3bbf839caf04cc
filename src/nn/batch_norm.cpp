#include "mystyle/nn/batch_norm.h"

#include <algorithm>

#include "dnnl_util.h"

namespace mystyle::nn {
namespace {

using namespace detail;
using dnnl::memory;
using flags = dnnl::normalization_flags;

class BatchNormExec : public LayerExec {
 public:
  BatchNormExec(BatchNorm& layer, const Context& ctx, const ExecConfig& config)
      : layer_(layer), config_(config) {
    const auto& eng = ctx.engine();
    const TensorShape shape = layer.shape();
    src_md_ = activation_desc(config.batch, shape, activation_tags(shape.channels).front());
    const memory::desc vec_md({shape.channels}, dt::f32, tag::x);
    count_ = std::int64_t{config.batch} * shape.height * shape.width;
    scale_ = memory(vec_md, eng, layer.gamma().value.data());
    shift_ = memory(vec_md, eng, layer.beta().value.data());
    if (!config.training) {
      mean_ = memory(vec_md, eng, layer.moving_mean().value.data());
      variance_ = memory(vec_md, eng, layer.moving_variance().value.data());
      dnnl::batch_normalization_forward::desc fd(
          dnnl::prop_kind::forward_inference, src_md_, BatchNorm::kEpsilon,
          flags::use_scale | flags::use_shift | flags::use_global_stats);
      dnnl::batch_normalization_forward::primitive_desc fpd(fd, user_scratchpad_attr(), eng);
      fwd_ = dnnl::batch_normalization_forward(fpd);
      fwd_scratch_ = make_scratchpad(fpd, eng);
      dst_ = memory(fpd.dst_desc(), eng);
      return;
    }
    mean_ = memory(vec_md, eng);
    variance_ = memory(vec_md, eng);
    const auto f = flags::use_scale | flags::use_shift;
    dnnl::batch_normalization_forward::desc fd(dnnl::prop_kind::forward_training, src_md_,
                                               BatchNorm::kEpsilon, f);
    dnnl::batch_normalization_forward::primitive_desc fpd(fd, user_scratchpad_attr(), eng);
    fwd_ = dnnl::batch_normalization_forward(fpd);
    fwd_scratch_ = make_scratchpad(fpd, eng);
    dst_ = memory(fpd.dst_desc(), eng);
    dnnl::batch_normalization_backward::desc bd(dnnl::prop_kind::backward, src_md_, src_md_,
                                                BatchNorm::kEpsilon, f);
    dnnl::batch_normalization_backward::primitive_desc bpd(bd, user_scratchpad_attr(), eng, fpd);
    bwd_ = dnnl::batch_normalization_backward(bpd);
    bwd_scratch_ = make_scratchpad(bpd, eng);
    diff_src_ = memory(src_md_, eng);
    diff_scale_ = memory(vec_md, eng, layer.gamma().grad.data());
    diff_shift_ = memory(vec_md, eng, layer.beta().grad.data());
  }

  const memory::desc& src_desc() const override { return src_md_; }
  const memory& dst() const override { return dst_; }
  const memory& diff_src() const override { return diff_src_; }

  void forward(dnnl::stream& s, const memory& src) override {
    src_ = src;
    fwd_.execute(s, {{DNNL_ARG_SRC, src},
                     {DNNL_ARG_MEAN, mean_},
                     {DNNL_ARG_VARIANCE, variance_},
                     {DNNL_ARG_SCALE, scale_},
                     {DNNL_ARG_SHIFT, shift_},
                     {DNNL_ARG_DST, dst_},
                     {DNNL_ARG_SCRATCHPAD, fwd_scratch_}});
    if (config_.training && layer_.update_moving_stats()) update_moving_stats(s);
  }

  void backward(dnnl::stream& s, const memory& diff_dst) override {
    bwd_.execute(s, {{DNNL_ARG_SRC, src_},
                     {DNNL_ARG_MEAN, mean_},
                     {DNNL_ARG_VARIANCE, variance_},
                     {DNNL_ARG_DIFF_DST, diff_dst},
                     {DNNL_ARG_SCALE, scale_},
                     {DNNL_ARG_SHIFT, shift_},
                     {DNNL_ARG_DIFF_SRC, diff_src_},
                     {DNNL_ARG_DIFF_SCALE, diff_scale_},
                     {DNNL_ARG_DIFF_SHIFT, diff_shift_},
                     {DNNL_ARG_SCRATCHPAD, bwd_scratch_}});
  }

 private:
  void update_moving_stats(dnnl::stream& s) {
    s.wait();
    const auto* mean = static_cast<const float*>(mean_.get_data_handle());
    const auto* var = static_cast<const float*>(variance_.get_data_handle());
    auto& moving_mean = layer_.moving_mean().value;
    auto& moving_var = layer_.moving_variance().value;
    const float bessel = count_ > 1 ? static_cast<float>(count_) / static_cast<float>(count_ - 1) : 1.0f;
    const float keep = BatchNorm::kMomentum;
    for (std::size_t c = 0; c < moving_mean.size(); ++c) {
      moving_mean[c] = keep * moving_mean[c] + (1.0f - keep) * mean[c];
      moving_var[c] = keep * moving_var[c] + (1.0f - keep) * var[c] * bessel;
    }
  }

  BatchNorm& layer_;
  ExecConfig config_;
  std::int64_t count_ = 0;
  memory::desc src_md_;
  dnnl::batch_normalization_forward fwd_;
  dnnl::batch_normalization_backward bwd_;
  memory fwd_scratch_, bwd_scratch_;
  memory scale_, shift_, mean_, variance_, src_, dst_, diff_src_, diff_scale_, diff_shift_;
};

}  // namespace

BatchNorm::BatchNorm(TensorShape shape)
    : shape_(shape),
      gamma_(make_param("gamma", {shape.channels}, 1.0f)),
      beta_(make_param("beta", {shape.channels}, 0.0f)),
      moving_mean_(make_param("moving_mean", {shape.channels}, 0.0f, false)),
      moving_variance_(make_param("moving_variance", {shape.channels}, 1.0f, false)) {}

void BatchNorm::initialize(Rng& /*rng*/) {
  std::fill(gamma_.value.begin(), gamma_.value.end(), 1.0f);
  std::fill(beta_.value.begin(), beta_.value.end(), 0.0f);
  std::fill(moving_mean_.value.begin(), moving_mean_.value.end(), 0.0f);
  std::fill(moving_variance_.value.begin(), moving_variance_.value.end(), 1.0f);
}

std::unique_ptr<LayerExec> BatchNorm::compile(const Context& ctx, const ExecConfig& config,
                                              const dnnl::memory::desc& /*input_desc*/) {
  return std::make_unique<BatchNormExec>(*this, ctx, config);
}

}  // namespace mystyle::nn
