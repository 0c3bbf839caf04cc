#pragma once
/// Nearest-neighbour upsampling by 2 in height and width (Keras UpSampling2D defaults).
#include "mystyle/nn/layer.h"

namespace mystyle::nn {

class Upsample : public Layer {
 public:
  explicit Upsample(TensorShape input) : input_(input) {}

  std::string describe() const override { return "upsample"; }
  TensorShape output_shape() const override { return {input_.channels, input_.height * 2, input_.width * 2}; }
  std::unique_ptr<LayerExec> compile(const Context& ctx, const ExecConfig& config,
                                     const dnnl::memory::desc& input_desc) override;
  const TensorShape& input_shape() const { return input_; }

 private:
  TensorShape input_;
};

}  // namespace mystyle::nn
