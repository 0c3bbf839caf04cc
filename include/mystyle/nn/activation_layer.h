#pragma once
/// A standalone element-wise activation (ReLU or sigmoid). Convolutions and linear layers fuse
/// their activation instead; this layer is for specs that place one on its own.
#include "mystyle/nn/layer.h"

namespace mystyle::nn {

class ActivationLayer : public Layer {
 public:
  ActivationLayer(TensorShape shape, Activation activation);

  std::string describe() const override { return activation_name(activation_); }
  TensorShape output_shape() const override { return shape_; }
  std::unique_ptr<LayerExec> compile(const Context& ctx, const ExecConfig& config,
                                     const dnnl::memory::desc& input_desc) override;
  bool ends_with_sigmoid() const override { return activation_ == Activation::kSigmoid; }
  void set_skip_final_activation_backward(bool skip) override { skip_backward_ = skip; }
  Activation activation() const { return activation_; }
  bool skip_backward() const { return skip_backward_; }

 private:
  TensorShape shape_;
  Activation activation_;
  bool skip_backward_ = false;
};

}  // namespace mystyle::nn
