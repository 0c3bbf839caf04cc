#pragma once
/// Fully connected layer y = W x + b over the flattened input (flattened in C, H, W order, as
/// PyTorch's flatten of NCHW), with an optional fused activation. Output shape {units, 1, 1}.
#include "mystyle/nn/layer.h"

namespace mystyle::nn {

class Linear : public Layer {
 public:
  Linear(TensorShape input, int units, Activation activation);

  std::string describe() const override;
  TensorShape output_shape() const override { return {units_, 1, 1}; }
  std::vector<Param*> params() override { return {&weight_, &bias_}; }
  void initialize(Rng& rng) override;
  std::unique_ptr<LayerExec> compile(const Context& ctx, const ExecConfig& config,
                                     const dnnl::memory::desc& input_desc) override;
  bool ends_with_sigmoid() const override { return activation_ == Activation::kSigmoid; }
  void set_skip_final_activation_backward(bool skip) override { skip_activation_backward_ = skip; }

  Activation activation() const { return activation_; }
  bool skip_activation_backward() const { return skip_activation_backward_; }
  const TensorShape& input_shape() const { return input_; }
  Param& weight() { return weight_; }  ///< [units, C*H*W]
  Param& bias() { return bias_; }      ///< [units]

 private:
  TensorShape input_;
  int units_;
  Activation activation_;
  bool skip_activation_backward_ = false;
  Param weight_, bias_;
};

}  // namespace mystyle::nn
