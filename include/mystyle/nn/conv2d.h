#pragma once
/// 3x3 convolution, 'same' padding, stride 1, with bias and an optional fused activation.
#include "mystyle/nn/layer.h"

namespace mystyle::nn {
class BatchNorm;
}

namespace mystyle::nn {

class Conv2d : public Layer {
 public:
  /// Kernel 3x3; `input` is the per-image input shape.
  Conv2d(TensorShape input, int out_channels, Activation activation);

  std::string describe() const override;
  TensorShape output_shape() const override { return {out_channels_, input_.height, input_.width}; }
  std::vector<Param*> params() override { return {&weight_, &bias_}; }
  void initialize(Rng& rng) override;
  std::unique_ptr<LayerExec> compile(const Context& ctx, const ExecConfig& config,
                                     const dnnl::memory::desc& input_desc) override;
  /// Inference with constant weights, the batch norm that follows this convolution (after its
  /// activation) applied inside the convolution as a per-channel scale and shift post-op: one pass
  /// over the activations instead of two. Same result as compile() then the batch norm's exec.
  /// Returns nullptr when oneDNN has no optimised kernel for the fused form (then run them apart).
  std::unique_ptr<LayerExec> compile_with_batch_norm(const Context& ctx, const ExecConfig& config,
                                                     BatchNorm& batch_norm);
  bool ends_with_sigmoid() const override { return activation_ == Activation::kSigmoid; }
  void set_skip_final_activation_backward(bool skip) override { skip_activation_backward_ = skip; }

  Activation activation() const { return activation_; }
  bool skip_activation_backward() const { return skip_activation_backward_; }
  const TensorShape& input_shape() const { return input_; }
  Param& weight() { return weight_; }  ///< [out, in, 3, 3]
  Param& bias() { return bias_; }      ///< [out]

  static constexpr int kKernel = 3;

 private:
  TensorShape input_;
  int out_channels_;
  Activation activation_;
  bool skip_activation_backward_ = false;
  Param weight_;
  Param bias_;
};

}  // namespace mystyle::nn
