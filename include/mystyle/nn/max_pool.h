#pragma once
/// 2x2 max pooling, stride 2 (Keras MaxPooling2D defaults); input height and width must be even.
#include "mystyle/nn/layer.h"

namespace mystyle::nn {

class MaxPool : public Layer {
 public:
  explicit MaxPool(TensorShape input);

  std::string describe() const override { return "maxpool"; }
  TensorShape output_shape() const override { return {input_.channels, input_.height / 2, input_.width / 2}; }
  std::unique_ptr<LayerExec> compile(const Context& ctx, const ExecConfig& config,
                                     const dnnl::memory::desc& input_desc) override;
  const TensorShape& input_shape() const { return input_; }

 private:
  TensorShape input_;
};

}  // namespace mystyle::nn
