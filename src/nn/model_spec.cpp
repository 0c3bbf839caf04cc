#include "mystyle/nn/model_spec.h"

#include <array>
#include <algorithm>
#include <sstream>

#include "mystyle/core/error.h"

namespace mystyle::nn {
namespace {

constexpr std::string_view kSeed64 = R"(model seed64
input 3 64
conv 32 relu
maxpool
conv 16 relu
maxpool
conv 8 relu
maxpool
conv 8 relu
maxpool
latent
conv 8 relu
upsample
conv 8 relu
upsample
conv 16 relu
upsample
conv 32 relu
upsample
conv 3 sigmoid
)";

// The sigmoids inside the decoder are the original's.
constexpr std::string_view kSeed128 = R"(model seed128
input 3 128
conv 128 relu
maxpool
conv 64 relu
conv 64 relu
batchnorm
maxpool
conv 32 relu
conv 32 relu
batchnorm
maxpool
conv 16 relu
conv 16 relu
batchnorm
maxpool
conv 8 relu
maxpool
latent
conv 8 relu
upsample
conv 16 relu
conv 16 relu
batchnorm
upsample
conv 32 relu
conv 32 relu
batchnorm
upsample
conv 64 sigmoid
conv 64 relu
batchnorm
upsample
conv 128 sigmoid
upsample
conv 3 sigmoid
)";

// The learned style embedding: five conv-ReLU-batchnorm-maxpool blocks, 96 -> 3 px (16 to 256 channels:
// the detail of a 96 px crop for about the multiply-adds and the single-photo encode time of the
// earlier 4-block 64 px network), then 128 numbers scaled to unit length. Trained with proxy losses on
// type, family, category, colour and look (nn/proxy_loss.h). docs/results.md section 0 has the
// variants measured (two more 256-channel convolutions at 3x3 retrieve better but cost 0.57 ms a photo).
constexpr std::string_view kStyle = R"(model style
input 3 96
conv 16 relu
batchnorm
maxpool
conv 32 relu
batchnorm
maxpool
conv 64 relu
batchnorm
maxpool
conv 128 relu
batchnorm
maxpool
conv 256 relu
batchnorm
maxpool
linear 128
latent
l2norm
)";

// The person parser (train/parse_job.cpp): a whole photo squeezed to 128x128 in, one logit per parse
// class (engine/parse_classes.h) at 64x64 out. An encoder to 16x16, a decoder back to 64x64 with the
// encoder's 32x32 and 64x64 activations added back (skip connections, a small U-Net).
constexpr std::string_view kParse = R"(model parse
input 3 128
conv 16 relu
batchnorm
maxpool
conv 32 relu
batchnorm
push
maxpool
conv 48 relu
batchnorm
push
maxpool
conv 96 relu
batchnorm
conv 96 relu
batchnorm
latent
upsample
conv 48 relu
add
conv 48 relu
batchnorm
upsample
conv 32 relu
add
conv 32 relu
conv 10
)";

int parse_positive(const std::string& word, int line_no) {
  try {
    std::size_t used = 0;
    const int v = std::stoi(word, &used);
    if (used == word.size() && v > 0) return v;
  } catch (const std::exception&) {
  }
  throw Error("model spec line " + std::to_string(line_no) + ": expected a positive integer, got '" + word +
              "'");
}

Activation parse_activation(const std::vector<std::string>& words, std::size_t at, int line_no) {
  if (words.size() <= at) return Activation::kNone;
  if (words.size() > at + 1) {
    throw Error("model spec line " + std::to_string(line_no) + ": unexpected '" + words[at + 1] + "'");
  }
  if (words[at] == "relu") return Activation::kRelu;
  if (words[at] == "sigmoid") return Activation::kSigmoid;
  if (words[at] == "none") return Activation::kNone;
  throw Error("model spec line " + std::to_string(line_no) + ": expected relu, sigmoid or none, got '" +
              words[at] + "'");
}

}  // namespace

ModelSpec parse_model_spec(std::string_view text) {
  ModelSpec spec;
  bool has_input = false;
  bool has_latent = false;
  std::istringstream in{std::string(text)};
  std::string line;
  int line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (const auto hash = line.find('#'); hash != std::string::npos) line.resize(hash);
    std::istringstream words_in(line);
    std::vector<std::string> words;
    for (std::string w; words_in >> w;) words.push_back(w);
    if (words.empty()) continue;
    const std::string& op = words[0];
    const auto expect_words = [&](std::size_t lo, std::size_t hi) {
      if (words.size() < lo || words.size() > hi) {
        throw Error("model spec line " + std::to_string(line_no) + ": wrong number of fields for '" + op +
                    "'");
      }
    };
    if (op == "model") {
      expect_words(2, 2);
      spec.name = words[1];
    } else if (op == "input") {
      expect_words(3, 3);
      spec.in_channels = parse_positive(words[1], line_no);
      spec.image_side_px = parse_positive(words[2], line_no);
      has_input = true;
    } else if (op == "latent") {
      expect_words(1, 1);
      spec.encoder_layers = static_cast<int>(spec.layers.size());
      has_latent = true;
    } else if (op == "conv" || op == "linear") {
      expect_words(2, 3);
      spec.layers.push_back({op == "conv" ? LayerKind::kConv : LayerKind::kLinear,
                             parse_positive(words[1], line_no), parse_activation(words, 2, line_no)});
    } else if (op == "maxpool" || op == "upsample" || op == "batchnorm" || op == "push" || op == "add") {
      expect_words(1, 1);
      const LayerKind kind = op == "maxpool"    ? LayerKind::kMaxPool
                             : op == "upsample" ? LayerKind::kUpsample
                             : op == "push"     ? LayerKind::kPush
                             : op == "add"      ? LayerKind::kAdd
                                                : LayerKind::kBatchNorm;
      spec.layers.push_back({kind, 0, Activation::kNone});
    } else if (op == "l2norm") {
      expect_words(1, 1);
      spec.l2_normalize = true;
    } else if (op == "relu" || op == "sigmoid") {
      expect_words(1, 1);
      spec.layers.push_back({LayerKind::kActivation, 0, parse_activation(words, 0, line_no)});
    } else {
      throw Error("model spec line " + std::to_string(line_no) + ": unknown layer '" + op + "'");
    }
  }
  if (!has_input) throw Error("model spec: missing 'input <channels> <side_px>' line");
  if (spec.layers.empty()) throw Error("model spec: no layers");
  if (!has_latent) spec.encoder_layers = static_cast<int>(spec.layers.size());
  return spec;
}

std::string format_model_spec(const ModelSpec& spec) {
  std::ostringstream out;
  if (!spec.name.empty()) out << "model " << spec.name << "\n";
  out << "input " << spec.in_channels << " " << spec.image_side_px << "\n";
  for (std::size_t i = 0; i <= spec.layers.size(); ++i) {
    if (static_cast<int>(i) == spec.encoder_layers && i != spec.layers.size()) out << "latent\n";
    if (i == spec.layers.size()) break;
    const LayerSpec& l = spec.layers[i];
    switch (l.kind) {
      case LayerKind::kConv:
      case LayerKind::kLinear:
        out << (l.kind == LayerKind::kConv ? "conv " : "linear ") << l.units;
        if (l.activation != Activation::kNone) out << " " << activation_name(l.activation);
        break;
      case LayerKind::kMaxPool:
        out << "maxpool";
        break;
      case LayerKind::kUpsample:
        out << "upsample";
        break;
      case LayerKind::kBatchNorm:
        out << "batchnorm";
        break;
      case LayerKind::kPush:
        out << "push";
        break;
      case LayerKind::kAdd:
        out << "add";
        break;
      case LayerKind::kActivation:
        out << activation_name(l.activation);
        break;
    }
    out << "\n";
  }
  if (spec.l2_normalize) out << "l2norm\n";
  return out.str();
}

ModelSpec builtin_model_spec(std::string_view name) {
  if (name == "seed64") return parse_model_spec(kSeed64);
  if (name == "seed128") return parse_model_spec(kSeed128);
  if (name == "style") return parse_model_spec(kStyle);
  if (name == "parse") return parse_model_spec(kParse);
  throw Error("unknown model '" + std::string(name) + "' (known: seed64, seed128, style, parse)",
              ErrorKind::kNotFound);
}

std::vector<std::string> builtin_model_names() {
  return {"seed64", "seed128", "style", "parse"};
}

std::int64_t spec_parameter_count(const ModelSpec& spec) {
  // The same shape rules as the layers' output_shape() and parameter tensors (conv2d, linear,
  // batch_norm, max_pool, upsample), in 64-bit arithmetic with bounds, so nothing can overflow;
  // tests/nn compare it with Model::parameter_count on the built-in specs.
  std::int64_t channels = spec.in_channels, height = spec.image_side_px, width = spec.image_side_px;
  std::int64_t total = 0;
  auto check_shape = [&](std::size_t layer) {
    if (channels < 1 || height < 1 || width < 1 || channels > kMaxSpecDimension || height > kMaxSpecDimension ||
        width > kMaxSpecDimension || channels * height * width > kMaxSpecActivation) {
      throw Error("model spec '" + spec.name + "': layer " + std::to_string(layer) + " makes a " +
                  std::to_string(channels) + "x" + std::to_string(height) + "x" + std::to_string(width) +
                  " activation, over the supported size");
    }
  };
  check_shape(0);
  std::vector<std::array<std::int64_t, 3>> pushed;  // shapes of unmatched pushes
  for (std::size_t i = 0; i < spec.layers.size(); ++i) {
    const LayerSpec& l = spec.layers[i];
    const std::int64_t units = l.units;
    switch (l.kind) {
      case LayerKind::kConv:
        total += units * channels * 9 + units;  // weight O x I x 3 x 3, bias (units checked below)
        channels = units;
        break;
      case LayerKind::kMaxPool:
        if (height % 2 != 0 || width % 2 != 0) {
          throw Error("model spec '" + spec.name + "': layer " + std::to_string(i + 1) +
                      ": maxpool needs an even height and width");
        }
        height /= 2;
        width /= 2;
        break;
      case LayerKind::kUpsample:
        height *= 2;
        width *= 2;
        break;
      case LayerKind::kBatchNorm:
        total += 4 * channels;  // gamma, beta, moving mean and variance
        break;
      case LayerKind::kLinear: {
        const std::int64_t in = channels * height * width;
        total += units * in + units;  // weight O x I, bias (units checked below)
        channels = units;
        height = width = 1;
        break;
      }
      case LayerKind::kActivation:
        break;
      case LayerKind::kPush:
        pushed.push_back({channels, height, width});
        break;
      case LayerKind::kAdd:
        if (pushed.empty() || pushed.back() != std::array<std::int64_t, 3>{channels, height, width}) {
          throw Error("model spec '" + spec.name + "': layer " + std::to_string(i + 1) +
                      ": add needs a push before it of the same shape");
        }
        pushed.pop_back();
        break;
    }
    check_shape(i + 1);
    // Each term is below 2^62; saturating far above any real model keeps the sum from overflowing.
    total = std::min(total, kMaxSpecActivation * kMaxSpecDimension);
  }
  return total;
}

}  // namespace mystyle::nn
