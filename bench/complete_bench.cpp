// End-to-end "complete the look" latency on a trained workspace (style + compat models): catalog
// photos as queries, one at a time on one thread, with the parts (decode + preprocess, encode, the
// visual match that gives the photo's slot, the compatibility views, the outfit search). File
// reading excluded. The target (issue 11) is p50 <= 10 ms at MANGO size.
// Usage: complete_bench WORKSPACE [--limit N] [--outfits 3] [--per-slot 5] [--png]
// --png: each photo re-encoded as PNG first (a shopper's screenshot): its colour features reuse the
// recommender's decode, where a catalog JPEG needs a reduced decode of its own.
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <opencv2/core/utility.hpp>
#include <opencv2/imgcodecs.hpp>
#include <string>
#include <vector>

#include "mystyle/core/error.h"
#include "mystyle/core/file_io.h"
#include "mystyle/engine/completer.h"
#include "mystyle/nn/context.h"

int main(int argc, char** argv) {
  using namespace mystyle;
  if (argc < 2) {
    fmt::print(stderr, "usage: complete_bench WORKSPACE [--limit N] [--outfits 3] [--per-slot 5] [--png]\n");
    return 2;
  }
  std::size_t limit = 500;
  engine::CompleteRequest request;
  bool png = false;
  for (int i = 2; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--png") png = true;
    if (i + 1 >= argc) continue;
    if (a == "--limit") limit = std::stoul(argv[i + 1]);
    if (a == "--outfits") request.outfits = std::stoul(argv[i + 1]);
    if (a == "--per-slot") request.per_slot = std::stoul(argv[i + 1]);
  }
  nn::set_num_threads(1);
  cv::setNumThreads(1);
  try {
    const engine::Workspace ws(argv[1]);
    const auto open_start = std::chrono::steady_clock::now();
    auto rec = engine::Recommender::open(ws, {});
    const auto completer_start = std::chrono::steady_clock::now();
    auto completer = engine::Completer::open(ws, *rec);
    const double open_s = std::chrono::duration<double>(completer_start - open_start).count();
    const double completer_s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - completer_start).count();
    // Every k-th photo, so the queries spread over the catalog's slots.
    std::vector<std::string> photos;
    std::size_t with_photo = 0;
    for (const auto& item : rec->graph().items()) with_photo += item.image_path ? 1 : 0;
    const std::size_t step = std::max<std::size_t>(1, with_photo / std::max<std::size_t>(1, limit));
    std::size_t seen = 0;
    for (const auto& item : rec->graph().items()) {
      if (!item.image_path) continue;
      if (seen++ % step == 0 && photos.size() < limit) photos.push_back(*item.image_path);
    }
    // The bytes a query sends: the file, or with --png the same pixels as PNG (encoding not timed).
    const auto query_bytes = [png](const std::string& path) {
      std::string bytes = read_file_bytes(path);
      if (!png) return bytes;
      const cv::Mat raw =
          cv::imdecode(cv::Mat(1, static_cast<int>(bytes.size()), CV_8UC1, bytes.data()), cv::IMREAD_COLOR);
      std::vector<std::uint8_t> out;
      cv::imencode(".png", raw, out);
      return std::string(out.begin(), out.end());
    };
    auto run = [&](const std::string& path) {
      const std::string bytes = query_bytes(path);
      return completer->complete({reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()}, path,
                                 request);
    };
    run(photos.front());  // warm-up: inference plans
    std::vector<double> total, decode, encode, match, compat, search, wall;
    std::size_t outfits = 0, slots = 0, decodes = 0;
    for (const auto& p : photos) {
      const std::string bytes = query_bytes(p);
      const auto t = std::chrono::steady_clock::now();
      const auto r = completer->complete({reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()},
                                         p, request);
      wall.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t).count());
      total.push_back(r.total_ms());
      decode.push_back(r.match.decode_ms);
      encode.push_back(r.match.encode_ms);
      match.push_back(r.match.search_ms + r.match.outfits_ms);
      compat.push_back(r.compat_ms);
      search.push_back(r.search_ms);
      decodes += static_cast<std::size_t>(r.decodes);
      outfits += r.result.outfits.size();
      slots += r.result.slots.size();
    }
    auto pct = [](std::vector<double> v, double p) {
      std::sort(v.begin(), v.end());
      return v[static_cast<std::size_t>(p * static_cast<double>(v.size() - 1))];
    };
    fmt::print(
        "complete the look, {} catalog photos as queries (every {}th), 1 thread, {} items in the compat "
        "table; "
        "{} outfits and {} pieces per slot asked; {:.1f} slots filled and {:.1f} outfits per query on "
        "average\n",
        photos.size(), step, completer->table().size(), request.outfits, request.per_slot,
        static_cast<double>(slots) / static_cast<double>(photos.size()),
        static_cast<double>(outfits) / static_cast<double>(photos.size()));
    fmt::print("start: recommender {:.2f} s, completer (compat model + every item's views) {:.2f} s\n",
               open_s, completer_s);
    fmt::print("{:<34} {:>9} {:>9}\n", "stage", "p50 ms", "p99 ms");
    for (const auto& [name, v] : {std::pair{"decode + preprocess", &decode},
                                  {"encode (style)", &encode},
                                  {"visual match (the photo's slot)", &match},
                                  {"colour features + compat views", &compat},
                                  {"outfit search", &search},
                                  {"total (sum of the parts)", &total},
                                  {"wall clock around complete()", &wall}}) {
      fmt::print("{:<34} {:>9.3f} {:>9.3f}\n", name, pct(*v, 0.5), pct(*v, 0.99));
    }
    fmt::print(
        "decodes per photo: {:.2f} (1: the colour features reuse the recommender's pixels; 2: a JPEG whose "
        "reduced decode, on which colour features are defined, differs from the recommender's)\n",
        static_cast<double>(decodes) / static_cast<double>(photos.size()));
    fmt::print("target p50 <= 10 ms (issue 11): {}\n", pct(wall, 0.5) <= 10.0 ? "met" : "NOT met");
  } catch (const Error& e) {
    fmt::print(stderr, "complete_bench: {}\n", e.what());
    return 1;
  }
  return 0;
}
