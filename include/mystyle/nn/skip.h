#pragma once
/// Skip connections in a model that is otherwise a list of layers (a U-Net's shape): `push` remembers
/// the activation where it stands, and the next `add` whose input has the same shape adds it back
/// (the most recent unmatched push, as brackets pair). Neither has parameters. In the backward pass
/// the gradient at the add flows both on to the layers before it and, through the push, to the
/// layers before the push.
#include "mystyle/nn/layer.h"

namespace mystyle::nn {

class SkipPush : public Layer {
 public:
  explicit SkipPush(TensorShape input) : input_(input) {}
  std::string describe() const override { return "push"; }
  TensorShape output_shape() const override { return input_; }
  std::unique_ptr<LayerExec> compile(const Context& ctx, const ExecConfig& config,
                                     const dnnl::memory::desc& input_desc) override;

 private:
  TensorShape input_;
};

class SkipAdd : public Layer {
 public:
  explicit SkipAdd(TensorShape input) : input_(input) {}
  std::string describe() const override { return "add"; }
  TensorShape output_shape() const override { return input_; }
  std::unique_ptr<LayerExec> compile(const Context& ctx, const ExecConfig& config,
                                     const dnnl::memory::desc& input_desc) override;

 private:
  TensorShape input_;
};

}  // namespace mystyle::nn
