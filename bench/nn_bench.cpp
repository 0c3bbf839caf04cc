// Training and encoding speed of nn/ against the same model in PyTorch, in the same run, plus the
// machine's sgemm peak (numpy/OpenBLAS) to express both as a fraction of it.
//
//   nn_bench [--threads 2] [--batches 20] [--models seed64,seed128] [--no-peer] [--peer-script path]
//
// The PyTorch peer (tools/torch_peer.py, run with /usr/bin/python3) builds its model from our
// spec text, so both sides train the identical network: Adam, BCE, batch 64, channels_last.
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
#include "mystyle/nn/trainer.h"

namespace {

using namespace mystyle::nn;
using Clock = std::chrono::steady_clock;

struct Options {
  int threads = 2;
  int batches = 20;
  int warmup = 3;
  int encode_batch = 256;
  std::vector<std::string> models = {"seed64", "seed128"};
  bool peer = true;
  std::string peer_script = MYSTYLE_TORCH_PEER;
};

constexpr double kEncodeSeconds = 3.0;

double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

// Forward + backward FLOPs per image for one training step: 3 x the forward convolutions
// (forward, backward-data, backward-weights), the first layer's backward-data excluded.
double train_gflop_per_image(const ModelSpec& spec) {
  double total = 0, first = 0;
  int c = spec.in_channels, side = spec.image_side_px;
  for (const LayerSpec& l : spec.layers) {
    if (l.kind == LayerKind::kConv) {
      const double f = 2.0 * 9 * c * l.units * side * side;
      if (total == 0) first = f;
      total += f;
      c = l.units;
    } else if (l.kind == LayerKind::kMaxPool) {
      side /= 2;
    } else if (l.kind == LayerKind::kUpsample) {
      side *= 2;
    }
  }
  return (3 * total - first) / 1e9;
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

struct Result {
  double train = 0, encode = 0;
};

Result bench_ours(const std::string& name, const Options& o) {
  Model model(builtin_model_spec(name), 1);
  const int side = model.input_shape().height;
  const int per_image = static_cast<int>(model.input_shape().size());
  std::vector<float> pixels(static_cast<std::size_t>(64) * per_image);
  Rng rng(3);
  for (auto& v : pixels) v = rng.uniform_float();
  const ImageSet images = ImageSet::from_floats(pixels, 64, 3, side);
  std::vector<std::uint32_t> idx(64);
  for (std::uint32_t i = 0; i < 64; ++i) idx[i] = i;
  Trainer trainer(model, {});
  Result r;
  for (int i = 0; i < o.warmup; ++i) trainer.train_batch(images, idx);
  auto t = Clock::now();
  for (int i = 0; i < o.batches; ++i) trainer.train_batch(images, idx);
  r.train = o.batches * 64.0 / seconds_since(t);
  model.release_plans();

  const int encode_batch = encode_batch_for(o, side);
  std::vector<float> batch(static_cast<std::size_t>(encode_batch) * per_image);
  for (auto& v : batch) v = rng.uniform_float();
  std::vector<float> features(static_cast<std::size_t>(encode_batch) *
                              model.feature_size(LatentPooling::kFlat));
  model.encode(batch, encode_batch, LatentPooling::kFlat, features);
  // Repeat for at least kEncodeSeconds (and twice), so both sizes get a stable figure.
  int reps = 0;
  t = Clock::now();
  while (reps < 2 || seconds_since(t) < kEncodeSeconds) {
    model.encode(batch, encode_batch, LatentPooling::kFlat, features);
    ++reps;
  }
  r.encode = reps * encode_batch / seconds_since(t);
  return r;
}

Result bench_peer(const std::string& name, const Options& o) {
  const std::string spec = format_model_spec(builtin_model_spec(name));
  std::ostringstream cmd;
  cmd << "printf '%s' '" << spec << "' | OMP_NUM_THREADS=" << o.threads << " /usr/bin/python3 "
      << o.peer_script << " --threads " << o.threads << " --batches " << o.batches << " --warmup " << o.warmup
      << " --encode-batch " << encode_batch_for(o, builtin_model_spec(name).image_side_px)
      << " --encode-seconds " << kEncodeSeconds;
  const std::string json = run_capture(cmd.str());
  return {json_number(json, "train_img_s"), json_number(json, "encode_img_s")};
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
  std::printf("%-8s %-7s %10s %10s %7s %11s %11s\n", "model", "task", "ours img/s", "torch img/s", "ratio",
              "ours %peak", "torch %peak");
  for (const std::string& name : o.models) {
    const ModelSpec spec = builtin_model_spec(name);
    const Result ours = bench_ours(name, o);
    const Result peer = o.peer ? bench_peer(name, o) : Result{};
    const double gflop = train_gflop_per_image(spec);
    const auto row = [&](const char* task, double a, double b, double g) {
      std::printf("%-8s %-7s %10.1f %10.1f %7.2f %10.1f%% %10.1f%%\n", name.c_str(), task, a, b,
                  b > 0 ? a / b : 0.0, peak > 0 ? 100 * a * g / peak : 0.0,
                  peak > 0 ? 100 * b * g / peak : 0.0);
    };
    row("train", ours.train, peer.train, gflop);
    // Encoder forward FLOPs: the convolutions up to the latent marker.
    ModelSpec enc = spec;
    enc.layers.resize(static_cast<std::size_t>(spec.encoder_layers));
    row("encode", ours.encode, peer.encode,
        (train_gflop_per_image(enc) +
         2 * 9.0 * 3 * spec.layers[0].units * spec.image_side_px * spec.image_side_px / 1e9) /
            3);
    std::fflush(stdout);
  }
  std::printf("(train GFLOP/image/step: ");
  for (const std::string& name : o.models)
    std::printf("%s %.2f  ", name.c_str(), train_gflop_per_image(builtin_model_spec(name)));
  std::printf(")\n");
  return 0;
}
