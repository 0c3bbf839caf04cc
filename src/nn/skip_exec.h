#pragma once
// Private to nn/: the compiled push and add of skip.h, which the plan pairs (SkipAddExec::attach).
#include <oneapi/dnnl/dnnl.hpp>

#include "mystyle/nn/layer.h"

namespace mystyle::nn::detail {

/// Passes its input on unchanged (the same buffer); in backward adds the gradient its add left.
class SkipPushExec : public LayerExec {
 public:
  SkipPushExec(const Context& ctx, const ExecConfig& config, const dnnl::memory::desc& input_desc);
  const dnnl::memory::desc& src_desc() const override { return src_md_; }
  const dnnl::memory& dst() const override { return dst_; }
  const dnnl::memory& diff_src() const override { return diff_src_; }
  void forward(dnnl::stream& s, const dnnl::memory& src) override;
  void backward(dnnl::stream& s, const dnnl::memory& diff_dst) override;
  /// The gradient the paired add writes in backward (zero until then), in dst()'s layout.
  const dnnl::memory& pending() const { return pending_; }

 private:
  ExecConfig config_;
  dnnl::memory::desc src_md_;
  dnnl::memory dst_, diff_src_, pending_;
  dnnl::binary sum_;
};

/// dst = input + the paired push's activation; in backward the gradient goes on unchanged and is
/// handed to the push.
class SkipAddExec : public LayerExec {
 public:
  SkipAddExec(const Context& ctx, const ExecConfig& config, const dnnl::memory::desc& input_desc);
  /// Pairs this add with `push` (same shape; any layouts). Must be called before forward.
  void attach(const Context& ctx, const SkipPushExec& push);
  const dnnl::memory::desc& src_desc() const override { return src_md_; }
  const dnnl::memory& dst() const override { return dst_; }
  const dnnl::memory& diff_src() const override { return diff_src_; }
  void forward(dnnl::stream& s, const dnnl::memory& src) override;
  void backward(dnnl::stream& s, const dnnl::memory& diff_dst) override;

 private:
  ExecConfig config_;
  dnnl::memory::desc src_md_;
  const SkipPushExec* push_ = nullptr;
  dnnl::memory dst_, diff_src_;
  dnnl::binary add_;
  dnnl::reorder copy_diff_, to_push_diff_;
};

}  // namespace mystyle::nn::detail
