#include "mystyle/nn/skip.h"

#include <cstring>

#include "mystyle/core/error.h"
#include "skip_exec.h"

namespace mystyle::nn {
namespace detail {

using dnnl::memory;

namespace {

dnnl::binary make_add(const dnnl::engine& eng, const memory::desc& a, const memory::desc& b,
                      const memory::desc& dst) {
  return dnnl::binary(
      dnnl::binary::primitive_desc(dnnl::binary::desc(dnnl::algorithm::binary_add, a, b, dst), eng));
}

}  // namespace

SkipPushExec::SkipPushExec(const Context& ctx, const ExecConfig& config, const memory::desc& input_desc)
    : config_(config), src_md_(input_desc) {
  const auto& eng = ctx.engine();
  dst_ = memory(src_md_, eng, nullptr);  // the input's own buffer, set by forward
  if (!config.training) return;
  pending_ = memory(src_md_, eng);
  std::memset(pending_.get_data_handle(), 0, src_md_.get_size());  // no add in this plan: nothing to add
  diff_src_ = memory(src_md_, eng);
  sum_ = make_add(eng, src_md_, src_md_, src_md_);
}

void SkipPushExec::forward(dnnl::stream& /*s*/, const memory& src) {
  dst_.set_data_handle(src.get_data_handle());
}

void SkipPushExec::backward(dnnl::stream& s, const memory& diff_dst) {
  sum_.execute(s, {{DNNL_ARG_SRC_0, diff_dst}, {DNNL_ARG_SRC_1, pending_}, {DNNL_ARG_DST, diff_src_}});
}

SkipAddExec::SkipAddExec(const Context& ctx, const ExecConfig& config, const memory::desc& input_desc)
    : config_(config), src_md_(input_desc) {
  dst_ = memory(src_md_, ctx.engine());
  if (config.training) diff_src_ = memory(src_md_, ctx.engine());
}

void SkipAddExec::attach(const Context& ctx, const SkipPushExec& push) {
  const memory::desc& saved = push.dst().get_desc();
  if (saved.dims() != src_md_.dims()) {
    throw Error("model: an add's input and its push's activation differ in shape");
  }
  const auto& eng = ctx.engine();
  push_ = &push;
  add_ = make_add(eng, src_md_, saved, src_md_);
  if (!config_.training) return;
  copy_diff_ = dnnl::reorder(memory(src_md_, eng, nullptr), diff_src_);
  to_push_diff_ = dnnl::reorder(memory(src_md_, eng, nullptr), push.pending());
}

void SkipAddExec::forward(dnnl::stream& s, const memory& src) {
  if (push_ == nullptr) throw Error("model: an add without a push before it");
  add_.execute(s, {{DNNL_ARG_SRC_0, src}, {DNNL_ARG_SRC_1, push_->dst()}, {DNNL_ARG_DST, dst_}});
}

void SkipAddExec::backward(dnnl::stream& s, const memory& diff_dst) {
  to_push_diff_.execute(s, const_cast<memory&>(diff_dst), const_cast<memory&>(push_->pending()));
  if (config_.need_diff_src) copy_diff_.execute(s, const_cast<memory&>(diff_dst), diff_src_);
}

}  // namespace detail

std::unique_ptr<LayerExec> SkipPush::compile(const Context& ctx, const ExecConfig& config,
                                             const dnnl::memory::desc& input_desc) {
  return std::make_unique<detail::SkipPushExec>(ctx, config, input_desc);
}

std::unique_ptr<LayerExec> SkipAdd::compile(const Context& ctx, const ExecConfig& config,
                                            const dnnl::memory::desc& input_desc) {
  return std::make_unique<detail::SkipAddExec>(ctx, config, input_desc);
}

}  // namespace mystyle::nn
