// End-to-end recommendation latency on a real workspace: every catalog photo as a query, one at a
// time on one thread (decode + preprocess + encode + search + outfits; file reading excluded).
// Usage: recommend_bench WORKSPACE [--limit N] [--metric cosine]
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <opencv2/core/utility.hpp>
#include <string>
#include <vector>

#include "mystyle/core/error.h"
#include "mystyle/core/file_io.h"
#include "mystyle/engine/recommender.h"
#include "mystyle/index/exact_index.h"
#include "mystyle/nn/context.h"

int main(int argc, char** argv) {
  using namespace mystyle;
  if (argc < 2) {
    fmt::print(stderr, "usage: recommend_bench WORKSPACE [--limit N]\n");
    return 2;
  }
  std::size_t limit = SIZE_MAX;
  for (int i = 2; i + 1 < argc; ++i) {
    if (std::string(argv[i]) == "--limit") limit = std::stoul(argv[i + 1]);
  }
  nn::set_num_threads(1);
  cv::setNumThreads(1);
  try {
    auto rec = engine::Recommender::open(engine::Workspace(argv[1]), {});
    std::vector<std::string> photos;
    for (const auto& item : rec->graph().items()) {
      if (item.image_path && photos.size() < limit) photos.push_back(*item.image_path);
    }
    engine::RecommendRequest request;
    std::vector<double> total, decode, encode, search, outfits, colour;
    std::size_t self_at_rank1 = 0;
    // Warm-up: the first call builds the encoder's inference plan.
    const std::string first = read_file_bytes(photos.front());
    rec->recommend({reinterpret_cast<const std::uint8_t*>(first.data()), first.size()}, "warmup", request);
    for (std::size_t i = 0; i < photos.size(); ++i) {
      const std::string bytes = read_file_bytes(photos[i]);
      const auto t = std::chrono::steady_clock::now();
      const auto r = rec->recommend({reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()},
                                    photos[i], request);
      total.push_back(
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t).count());
      decode.push_back(r.decode_ms);
      encode.push_back(r.encode_ms);
      search.push_back(r.search_ms);
      outfits.push_back(r.outfits_ms);
      // The colour model's read-out is inside total but in no stage: timed again apart.
      if (const auto* model = rec->attribute_model(); model && r.attributes) {
        const auto c = std::chrono::steady_clock::now();
        (void)model->predict(r.query.seen_rgb8, r.embedding);
        colour.push_back(
            std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - c).count());
      }
      if (!r.similar.empty() && r.similar.front().item->image_path == photos[i]) ++self_at_rank1;
    }
    auto pct = [](std::vector<double> v, double p) {
      std::sort(v.begin(), v.end());
      return v[static_cast<std::size_t>(p * static_cast<double>(v.size() - 1))];
    };
    fmt::print(
        "end-to-end recommend, {} catalog photos as queries, 1 thread, {} items indexed as {} entries ({} "
        "per item: "
        "{}), {} dims, exact cosine, k=10, 9 outfits\n",
        photos.size(), rec->indexed_items(), rec->index().size(), rec->views_per_item(),
        rec->views_per_item() > 1 ? "the photo and its edited views" : "the photo", rec->index().dim());
    fmt::print("{:<22} {:>9} {:>9}\n", "stage", "p50 ms", "p99 ms");
    for (const auto& [name, v] : {std::pair{"decode + preprocess", &decode},
                                  {"encode", &encode},
                                  {"search", &search},
                                  {"outfits", &outfits},
                                  {"total", &total}}) {
      fmt::print("{:<22} {:>9.3f} {:>9.3f}\n", name, pct(*v, 0.5), pct(*v, 0.99));
    }
    if (!colour.empty()) {
      fmt::print(
          "{:<22} {:>9.3f} {:>9.3f}  (in total, between encode and search; timed apart; the model "
          "reorders the first {} of the search)\n",
          "colour read-out", pct(colour, 0.5), pct(colour, 0.99), rec->attribute_model()->candidates);
    } else {
      fmt::print("no colour model: cosine order\n");
    }
    fmt::print(
        "target p50 < 5 ms: {}; the 2022 prototype took seconds per request (three models reloaded per "
        "click)\n",
        pct(total, 0.5) < 5.0 ? "met" : "NOT met");
    fmt::print("the query's own photo ranked first: {}/{} ({:.1f}%)\n", self_at_rank1, photos.size(),
               100.0 * static_cast<double>(self_at_rank1) / static_cast<double>(photos.size()));
    if (const auto* exact = dynamic_cast<const index::ExactIndex*>(&rec->index())) {
      fmt::print("index memory: {:.0f} bytes per entry, {:.0f} per item\n",
                 static_cast<double>(exact->memory_bytes()) / static_cast<double>(exact->size()),
                 static_cast<double>(exact->memory_bytes()) / static_cast<double>(rec->indexed_items()));
    }
  } catch (const Error& e) {
    fmt::print(stderr, "recommend_bench: {}\n", e.what());
    return 1;
  }
  return 0;
}
