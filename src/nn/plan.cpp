#include "plan.h"

#include "dnnl_util.h"
#include "mystyle/core/error.h"
#include "mystyle/nn/batch_norm.h"
#include "mystyle/nn/conv2d.h"
#include "skip_exec.h"

namespace mystyle::nn::detail {

using dnnl::memory;

Plan::Plan(const std::vector<Layer*>& layers, const Context& ctx, const ExecConfig& config, TensorShape input)
    : config_(config) {
  const auto& eng = ctx.engine();
  input_ = memory(activation_desc(config.batch, input, tag::nchw), eng, nullptr);
  memory::desc prev = input_.get_desc();
  std::vector<const SkipPushExec*> pushes;  // unmatched, innermost last
  for (std::size_t i = 0; i < layers.size(); ++i) {
    ExecConfig c = config;
    c.need_diff_src = config.need_diff_src || i > 0;
    Step step;
    if (c.constant_weights && !c.training && i + 1 < layers.size()) {
      auto* conv = dynamic_cast<Conv2d*>(layers[i]);
      auto* batch_norm = dynamic_cast<BatchNorm*>(layers[i + 1]);
      if (conv != nullptr && batch_norm != nullptr) {
        step.exec = conv->compile_with_batch_norm(ctx, c, *batch_norm);
        if (step.exec) ++i;  // the batch norm runs inside the convolution
      }
    }
    if (!step.exec) step.exec = layers[i]->compile(ctx, c, prev);
    if (const auto* push = dynamic_cast<const SkipPushExec*>(step.exec.get())) pushes.push_back(push);
    if (auto* add = dynamic_cast<SkipAddExec*>(step.exec.get())) {
      if (pushes.empty()) throw Error("model: an add without a push before it");
      add->attach(ctx, *pushes.back());
      pushes.pop_back();
    }
    if (step.exec->src_desc() != prev) {
      step.src = memory(step.exec->src_desc(), eng);
      step.to_src = dnnl::reorder(memory(prev, eng, nullptr), step.src);
      if (config.training && c.need_diff_src) {
        step.prev_diff = memory(prev, eng);
        step.to_prev_diff = dnnl::reorder(step.exec->diff_src(), step.prev_diff);
      }
    }
    prev = step.exec->dst().get_desc();
    steps_.push_back(std::move(step));
  }
  const TensorShape out = layers.back()->output_shape();
  const auto out_md = activation_desc(config.batch, out, tag::nchw);
  if (prev == out_md) {
    output_ = steps_.back().exec->dst();
  } else {
    output_ = memory(out_md, eng);
    to_output_ = dnnl::reorder(steps_.back().exec->dst(), output_);
  }
  if (!config.training) return;
  diff_output_ = memory(out_md, eng);
  if (prev == out_md) {
    last_diff_ = diff_output_;
  } else {
    last_diff_ = memory(prev, eng);
    to_last_diff_ = dnnl::reorder(diff_output_, last_diff_);
  }
}

const float* Plan::forward(dnnl::stream& s, const float* input) {
  input_.set_data_handle(const_cast<float*>(input));
  memory prev = input_;
  for (auto& step : steps_) {
    if (step.to_src) {
      step.to_src.execute(s, prev, step.src);
      prev = step.src;
    }
    step.exec->forward(s, prev);
    prev = step.exec->dst();
  }
  if (to_output_) to_output_.execute(s, prev, output_);
  s.wait();
  return static_cast<const float*>(output_.get_data_handle());
}

const float* Plan::diff_input() const {
  const Step& first = steps_.front();
  const dnnl::memory& m = first.to_prev_diff ? first.prev_diff : first.exec->diff_src();
  return static_cast<const float*>(m.get_data_handle());
}

float* Plan::diff_output() {
  return static_cast<float*>(diff_output_.get_data_handle());
}

void Plan::backward(dnnl::stream& s) {
  if (to_last_diff_) to_last_diff_.execute(s, diff_output_, last_diff_);
  memory diff = last_diff_;
  for (std::size_t i = steps_.size(); i-- > 0;) {
    Step& step = steps_[i];
    step.exec->backward(s, diff);
    if (i == 0 && !config_.need_diff_src) break;
    diff = step.exec->diff_src();
    if (step.to_prev_diff) {
      step.to_prev_diff.execute(s, diff, step.prev_diff);
      diff = step.prev_diff;
    }
  }
  s.wait();
}

}  // namespace mystyle::nn::detail
