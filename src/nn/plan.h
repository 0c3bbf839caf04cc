#pragma once
// A run of layers compiled for one batch size and mode: the execs, the reorders between layouts
// that differ, and NCHW buffers at both ends. Created once per (batch, mode, depth), reused.
#include <memory>
#include <vector>

#include "mystyle/nn/layer.h"

namespace mystyle::nn::detail {

class Plan {
 public:
  /// `layers` must outlive the plan; `input` is the per-image input shape.
  Plan(const std::vector<Layer*>& layers, const Context& ctx, const ExecConfig& config, TensorShape input);

  /// Runs the layers on `input` ([batch, C, H, W] NCHW; not copied: it must stay alive and
  /// unchanged until backward). Returns the output, NCHW, owned by the plan.
  const float* forward(dnnl::stream& s, const float* input);
  /// NCHW buffer for dL/d(output); the caller fills it, then calls backward.
  float* diff_output();
  /// Training plans only.
  void backward(dnnl::stream& s);
  /// After backward, dL/d(input) in NCHW; only when compiled with need_diff_src.
  const float* diff_input() const;

 private:
  struct Step {
    std::unique_ptr<LayerExec> exec;
    dnnl::memory src;        // reorder target when the exec wants another layout
    dnnl::reorder to_src;    // prev dst -> src (empty when layouts match)
    dnnl::memory prev_diff;  // diff_src reordered back into prev's dst layout
    dnnl::reorder to_prev_diff;
  };
  std::vector<Step> steps_;
  ExecConfig config_;
  dnnl::memory input_;        // user NCHW input (handle set per call)
  dnnl::memory output_;       // NCHW output
  dnnl::reorder to_output_;   // last dst -> output (empty when last dst is NCHW)
  dnnl::memory diff_output_;  // NCHW
  dnnl::memory last_diff_;    // diff in the last layer's dst layout
  dnnl::reorder to_last_diff_;
};

}  // namespace mystyle::nn::detail
