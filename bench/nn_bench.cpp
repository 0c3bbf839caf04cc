// Training and encoding speed of nn/ against the same model in PyTorch, in the same run, plus the
// machine's sgemm peak (numpy/OpenBLAS) to express both as a fraction of it.
//
//   nn_bench [--threads 2] [--batches 20] [--models seed64,seed128,style] [--no-peer] [--peer-script path]
//
// The PyTorch peer (tools/torch_peer.py, run with /usr/bin/python3) builds its model from our
// spec text, so both sides train the identical network, batch 64, channels_last. Autoencoders
// train with Adam on BCE (Trainer); encoder-only models (style) with StyleTrainer's step: forward,
// ProxyLoss on the four label heads, backward, Adam on the encoder and on the proxies (the peer:
// --objective proxy, the same heads, scale and learning rates). Only the network step is timed:
// random images and labels, no per-image augmentation (training applies it, the bench does not).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "mystyle/nn/context.h"
#include "mystyle/nn/model.h"
#include "mystyle/nn/style_trainer.h"
#include "mystyle/nn/trainer.h"

namespace {

using namespace mystyle::nn;
using Clock = std::chrono::steady_clock;

struct Options {
  int threads = 2;
  int batches = 20;
  int warmup = 3;
  int encode_batch = 256;
  std::vector<std::string> models = {"seed64", "seed128", "style"};
  bool peer = true;
  std::string peer_script = MYSTYLE_TORCH_PEER;
};

constexpr double kEncodeSeconds = 3.0;
constexpr int kTrainBatch = 64;

// The style model's heads, scale and learning rates as `mystyle train --model style` sets them
// (train/style_job.cpp; classes as on MANGO: 118 types, 39 families, 7 categories, 10
// colour groups). Duplicated here so the bench links nn/ only.
const std::vector<ProxyHeadSpec> kStyleHeads = {
    {"type", 118, 1.0}, {"family", 39, 0.5}, {"category", 7, 0.25}, {"colour", 10, 1.0}};
constexpr double kProxyScale = 16.0;
constexpr float kEncoderLearningRate = 1e-3f;
constexpr float kProxyLearningRate = 1e-2f;

double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

// Forward FLOPs per image of the first `depth` layers (all by default): 3x3 convolutions and
// fully connected layers (pooling, batch norm and activations are not counted).
double forward_gflop_per_image(const ModelSpec& spec, std::size_t depth = SIZE_MAX) {
  double total = 0;
  int c = spec.in_channels, side = spec.image_side_px;
  for (std::size_t i = 0; i < std::min(depth, spec.layers.size()); ++i) {
    const LayerSpec& l = spec.layers[i];
    if (l.kind == LayerKind::kConv) {
      total += 2.0 * 9 * c * l.units * side * side;
      c = l.units;
    } else if (l.kind == LayerKind::kLinear) {
      total += 2.0 * c * side * side * l.units;
      c = l.units;
      side = 1;
    } else if (l.kind == LayerKind::kMaxPool) {
      side /= 2;
    } else if (l.kind == LayerKind::kUpsample) {
      side *= 2;
    }
  }
  return total / 1e9;
}

// Forward + backward FLOPs per image for one training step: 3 x the forward FLOPs (forward,
// backward-data, backward-weights), the first layer's backward-data excluded.
double train_gflop_per_image(const ModelSpec& spec) {
  return 3 * forward_gflop_per_image(spec) - forward_gflop_per_image(spec, 1);
}

std::string run_capture(const std::string& command) {
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(popen(command.c_str(), "r"), pclose);
  if (!pipe) return {};
  std::string out;
  char buf[512];
  while (fgets(buf, sizeof buf, pipe.get())) out += buf;
  return out;
}

double json_number(const std::string& json, const std::string& key) {
  const auto at = json.find("\"" + key + "\":");
  return at == std::string::npos ? 0.0 : std::atof(json.c_str() + at + key.size() + 3);
}

// Images per encode call: --encode-batch at 64x64, scaled down with the pixel count (min 16).
int encode_batch_for(const Options& o, int side) {
  return std::max(16, o.encode_batch * 64 * 64 / (side * side));
}

// img/s: the mean over the timed steps (or encode calls), and the fastest single one. On a shared
// machine the mean follows the other processes' load; the fastest step is what the code does
// when both cores are free.
struct Result {
  double train = 0, encode = 0;
  double train_best = 0, encode_best = 0;
};

struct Rate {
  double mean = 0, best = 0;
};

// Random images in [0, 1]: `count` images of the model's input shape, NCHW.
std::vector<float> random_images(const Model& model, int count, Rng& rng) {
  std::vector<float> pixels(static_cast<std::size_t>(count) * model.input_shape().size());
  for (auto& v : pixels) v = rng.uniform_float();
  return pixels;
}

// Training steps per second, times the batch: `step` runs one step on the same batch.
template <typename Step>
Rate time_training(const Options& o, Step step) {
  for (int i = 0; i < o.warmup; ++i) step();
  double total = 0, fastest = 1e300;
  for (int i = 0; i < o.batches; ++i) {
    const auto t = Clock::now();
    step();
    const double s = seconds_since(t);
    total += s;
    fastest = std::min(fastest, s);
  }
  return {o.batches * static_cast<double>(kTrainBatch) / total, kTrainBatch / fastest};
}

// Encoder-only inference (flat codes; unit rows for an l2norm model) on random images, in serving
// mode as `embed` and the server run it (weights laid out once, batch norms inside convolutions).
Rate time_encoding(Model& model, const Options& o, Rng& rng) {
  model.set_serving(true);
  const int encode_batch = encode_batch_for(o, model.input_shape().height);
  const std::vector<float> batch = random_images(model, encode_batch, rng);
  std::vector<float> features(static_cast<std::size_t>(encode_batch) *
                              model.feature_size(LatentPooling::kFlat));
  model.encode(batch, encode_batch, LatentPooling::kFlat, features);
  // Repeat for at least kEncodeSeconds (and twice), so both sizes get a stable figure.
  int reps = 0;
  double total = 0, fastest = 1e300;
  while (reps < 2 || total < kEncodeSeconds) {
    const auto t = Clock::now();
    model.encode(batch, encode_batch, LatentPooling::kFlat, features);
    const double s = seconds_since(t);
    total += s;
    fastest = std::min(fastest, s);
    ++reps;
  }
  model.set_serving(false);
  return {reps * static_cast<double>(encode_batch) / total, encode_batch / fastest};
}

Result bench_ours(const std::string& name, const Options& o) {
  Model model(builtin_model_spec(name), 1);
  const int side = model.input_shape().height;
  Rng rng(3);
  const std::vector<float> pixels = random_images(model, kTrainBatch, rng);
  const ImageSet images = ImageSet::from_floats(pixels, kTrainBatch, model.input_shape().channels, side);
  std::vector<std::uint32_t> idx(kTrainBatch);
  for (std::uint32_t i = 0; i < kTrainBatch; ++i) idx[i] = i;
  Rate train;
  if (is_encoder_only(model.spec())) {
    StyleTrainerSettings settings;
    settings.batch_size = kTrainBatch;
    settings.adam.learning_rate = kEncoderLearningRate;
    settings.proxy_learning_rate = kProxyLearningRate;
    settings.heads = kStyleHeads;
    settings.scale = kProxyScale;
    ImageLabels labels;
    for (const ProxyHeadSpec& h : kStyleHeads) {
      labels.emplace_back(kTrainBatch);
      for (int& y : labels.back()) y = static_cast<int>(rng.below(static_cast<std::uint64_t>(h.classes)));
    }
    StyleTrainer trainer(model, settings);
    train = time_training(o, [&] { trainer.train_batch(images, idx, labels); });
  } else {
    Trainer trainer(model, {});
    train = time_training(o, [&] { trainer.train_batch(images, idx); });
  }
  model.release_plans();
  const Rate encode = time_encoding(model, o, rng);
  return {train.mean, encode.mean, train.best, encode.best};
}

Result bench_peer(const std::string& name, const Options& o) {
  const std::string spec = format_model_spec(builtin_model_spec(name));
  std::ostringstream cmd;
  cmd << "printf '%s' '" << spec << "' | OMP_NUM_THREADS=" << o.threads << " /usr/bin/python3 "
      << o.peer_script << " --threads " << o.threads << " --batches " << o.batches << " --warmup " << o.warmup
      << " --encode-batch " << encode_batch_for(o, builtin_model_spec(name).image_side_px)
      << " --encode-seconds " << kEncodeSeconds;
  if (is_encoder_only(builtin_model_spec(name))) {
    cmd << " --objective proxy --scale " << kProxyScale << " --lr " << kEncoderLearningRate << " --proxy-lr "
        << kProxyLearningRate << " --heads ";
    for (std::size_t h = 0; h < kStyleHeads.size(); ++h)
      cmd << (h ? "," : "") << kStyleHeads[h].classes << ":" << kStyleHeads[h].weight;
  }
  const std::string json = run_capture(cmd.str());
  return {json_number(json, "train_img_s"), json_number(json, "encode_img_s"),
          json_number(json, "train_best_img_s"), json_number(json, "encode_best_img_s")};
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const auto next = [&] { return i + 1 < argc ? std::string(argv[++i]) : std::string(); };
    if (a == "--threads")
      o.threads = std::atoi(next().c_str());
    else if (a == "--batches")
      o.batches = std::atoi(next().c_str());
    else if (a == "--peer-script")
      o.peer_script = next();
    else if (a == "--no-peer")
      o.peer = false;
    else if (a == "--models") {
      o.models.clear();
      std::stringstream ss(next());
      for (std::string m; std::getline(ss, m, ',');) o.models.push_back(m);
    } else {
      std::fprintf(
          stderr,
          "usage: nn_bench [--threads N] [--batches N] [--models a,b] [--no-peer] [--peer-script path]\n");
      std::exit(2);
    }
  }
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  const Options o = parse(argc, argv);
  set_num_threads(o.threads);
  double peak = 0;
  if (o.peer) {
    peak = json_number(run_capture("OMP_NUM_THREADS=" + std::to_string(o.threads) +
                                   " OPENBLAS_NUM_THREADS=" + std::to_string(o.threads) +
                                   " /usr/bin/python3 " + o.peer_script + " --peak"),
                       "peak_gflops");
    std::printf("sgemm peak (numpy 4096^3, %d threads): %.1f GFLOP/s\n", o.threads, peak);
  }
  std::printf("%-8s %-7s %10s %10s %7s %11s %11s   %10s %10s %7s\n", "model", "task", "ours img/s",
              "torch img/s", "ratio", "ours %peak", "torch %peak", "ours best", "torch best", "ratio");
  for (const std::string& name : o.models) {
    const ModelSpec spec = builtin_model_spec(name);
    const Result ours = bench_ours(name, o);
    const Result peer = o.peer ? bench_peer(name, o) : Result{};
    const double gflop = train_gflop_per_image(spec);
    const auto row = [&](const char* task, double a, double b, double g, double a_best, double b_best) {
      std::printf("%-8s %-7s %10.1f %10.1f %7.2f %10.1f%% %10.1f%%   %10.1f %10.1f %7.2f\n", name.c_str(),
                  task, a, b, b > 0 ? a / b : 0.0, peak > 0 ? 100 * a * g / peak : 0.0,
                  peak > 0 ? 100 * b * g / peak : 0.0, a_best, b_best, b_best > 0 ? a_best / b_best : 0.0);
    };
    row("train", ours.train, peer.train, gflop, ours.train_best, peer.train_best);
    // Encoder forward FLOPs: the layers up to the latent marker.
    row("encode", ours.encode, peer.encode,
        forward_gflop_per_image(spec, static_cast<std::size_t>(spec.encoder_layers)), ours.encode_best,
        peer.encode_best);
    std::fflush(stdout);
  }
  std::printf("(train GFLOP/image/step: ");
  for (const std::string& name : o.models)
    std::printf("%s %.2f  ", name.c_str(), train_gflop_per_image(builtin_model_spec(name)));
  std::printf(
      ")\n(best: the fastest single training step / encode call; the means follow the machine's load)\n");
  for (const std::string& name : o.models) {
    if (is_encoder_only(builtin_model_spec(name))) {
      std::printf(
          "(%s train: one StyleTrainer step on random images and labels (forward, ProxyLoss on %zu heads, "
          "backward, Adam on encoder and proxies), no augmentation; encode: batch %d, unit-length codes)\n",
          name.c_str(), kStyleHeads.size(), encode_batch_for(o, builtin_model_spec(name).image_side_px));
    }
  }
  return 0;
}
