// The person parser's latency on one thread: held-out CCP photos (train/ccp.h split, seed 1) through
// engine::Parser (squeeze, network, class map at the photo's size, pieces), decoded beforehand.
// Issue 23's target: p50 <= 15 ms a photo. Usage: parse_bench WORKSPACE [CCP_DIR] [--limit N]
#include <fmt/format.h>

#include <algorithm>
#include <opencv2/core/utility.hpp>
#include <string>
#include <vector>

#include "mystyle/core/error.h"
#include "mystyle/core/paths.h"
#include "mystyle/engine/parser.h"
#include "mystyle/image/decode.h"
#include "mystyle/nn/context.h"
#include "mystyle/train/ccp.h"

int main(int argc, char** argv) {
  using namespace mystyle;
  if (argc < 2) {
    fmt::print(stderr, "usage: parse_bench WORKSPACE [CCP_DIR] [--limit N]\n");
    return 2;
  }
  std::filesystem::path root = datasets_dir() / "ccp";
  std::size_t limit = 100;
  for (int i = 2; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--limit" && i + 1 < argc) {
      limit = std::stoul(argv[++i]);
    } else {
      root = a;
    }
  }
  nn::set_num_threads(1);
  cv::setNumThreads(1);
  try {
    auto parser = engine::Parser::open(engine::Workspace(argv[1]));
    const train::CcpSet set = train::load_ccp(root);
    std::vector<cv::Mat> photos;
    for (const auto& p : set.annotated) {
      if (train::ccp_held_out(p.id, 1) && photos.size() < limit) photos.push_back(image::read_image(p.photo));
    }
    if (photos.empty()) throw Error("no held-out CCP photo");
    (void)parser->parse(photos.front());  // warm-up: the inference plan
    std::vector<double> ms;
    std::size_t pieces = 0;
    for (const auto& rgb : photos) {
      const engine::ParseResult r = parser->parse(rgb);
      ms.push_back(r.parse_ms);
      pieces += r.pieces.size();
    }
    std::ranges::sort(ms);
    const auto pct = [&](double p) { return ms[static_cast<std::size_t>(p * static_cast<double>(ms.size() - 1))]; };
    fmt::print("parse, {} held-out CCP photos ({}x{}), 1 thread: p50 {:.2f} ms, p99 {:.2f} ms; {:.1f} pieces a photo\n",
               photos.size(), photos.front().cols, photos.front().rows, pct(0.5), pct(0.99),
               static_cast<double>(pieces) / static_cast<double>(photos.size()));
    fmt::print("target p50 <= 15 ms (issue 23): {}\n", pct(0.5) <= 15.0 ? "met" : "NOT met");
    // The class map alone, both ways, on the same logits (the model's 64x64 output size; values drawn).
    {
      const int side = 64;
      std::vector<float> logits(static_cast<std::size_t>(engine::kParseClasses * side * side));
      cv::RNG rng(1);
      for (float& v : logits) v = static_cast<float>(rng.uniform(-2.0, 2.0));
      std::vector<double> plain, refined;
      for (const auto& rgb : photos) {
        auto t = cv::getTickCount();
        (void)engine::classes_from_logits(logits, side, rgb.size());
        plain.push_back(1e3 * static_cast<double>(cv::getTickCount() - t) / cv::getTickFrequency());
        t = cv::getTickCount();
        (void)engine::refined_classes_from_logits(logits, side, rgb);
        refined.push_back(1e3 * static_cast<double>(cv::getTickCount() - t) / cv::getTickFrequency());
      }
      std::ranges::sort(plain);
      std::ranges::sort(refined);
      fmt::print("class map alone: scaled logits p50 {:.2f} ms; edges from the photo (guided filter) p50 {:.2f} ms\n",
                 plain[plain.size() / 2], refined[refined.size() / 2]);
    }
  } catch (const Error& e) {
    fmt::print(stderr, "parse_bench: {}\n", e.what());
    return 1;
  }
  return 0;
}
