// A photo end to end through engine::PieceSearch (what `recommend` and POST /api/recommend run), one
// thread, photos read into memory beforehand:
// - studio: MANGO catalog photos, each also through Recommender::recommend alone (today's path) in the
//   same run, interleaved; the share the skin test sent to the parser;
// - worn: held-out CCP photos of people (train/ccp.h split, seed 1): decode, skin test, parse, every
//   piece cut out and searched among its slot's items, each piece's outfits.
// Issue 23's targets: studio p50 <= 2 ms; worn p50 <= 40 ms.
// Usage: worn_bench WORKSPACE [CCP_DIR] [--limit N] [--studio N]
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <opencv2/core/utility.hpp>
#include <string>
#include <vector>

#include "mystyle/core/error.h"
#include "mystyle/core/file_io.h"
#include "mystyle/core/paths.h"
#include "mystyle/engine/pieces.h"
#include "mystyle/nn/context.h"
#include "mystyle/train/ccp.h"

namespace {

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

double pct(std::vector<double> v, double p) {
  std::ranges::sort(v);
  return v[static_cast<std::size_t>(p * static_cast<double>(v.size() - 1))];
}

std::span<const std::uint8_t> bytes_of(const std::string& s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

}  // namespace

int main(int argc, char** argv) {
  using namespace mystyle;
  if (argc < 2) {
    fmt::print(stderr, "usage: worn_bench WORKSPACE [CCP_DIR] [--limit N] [--studio N]\n");
    return 2;
  }
  std::filesystem::path root = datasets_dir() / "ccp";
  std::size_t limit = 100, studio_limit = 500;
  for (int i = 2; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--limit" && i + 1 < argc) {
      limit = std::stoul(argv[++i]);
    } else if (a == "--studio" && i + 1 < argc) {
      studio_limit = std::stoul(argv[++i]);
    } else {
      root = a;
    }
  }
  nn::set_num_threads(1);
  cv::setNumThreads(1);
  try {
    const engine::Workspace ws(argv[1]);
    auto rec = engine::Recommender::open(ws, {});
    auto pieces = engine::PieceSearch::open(ws, *rec);
    if (!pieces->has_parser()) throw Error("no parse model: run `mystyle train --model parse` first");
    const engine::RecommendRequest request;  // k 10, 9 outfits: what the page asks

    std::vector<std::string> studio;
    for (const auto& item : rec->graph().items()) {
      if (item.image_path && studio.size() < studio_limit) studio.push_back(read_file_bytes(*item.image_path));
    }
    const train::CcpSet set = train::load_ccp(root);
    std::vector<std::string> worn;
    for (const auto& p : set.annotated) {
      if (train::ccp_held_out(p.id, 1) && worn.size() < limit) worn.push_back(read_file_bytes(p.photo));
    }
    if (studio.empty() || worn.empty()) throw Error("no photos to time");
    (void)pieces->find(bytes_of(worn.front()), "warm-up", request);  // the inference plans
    (void)rec->recommend(bytes_of(studio.front()), "warm-up", request);

    std::vector<double> before, after;
    std::size_t parsed = 0, studio_worn = 0;
    for (const auto& photo : studio) {
      auto t = Clock::now();
      (void)rec->recommend(bytes_of(photo), "studio", request);
      before.push_back(ms_since(t));
      t = Clock::now();
      const engine::PiecesResult r = pieces->find(bytes_of(photo), "studio", request);
      after.push_back(ms_since(t));
      parsed += r.parsed;
      studio_worn += r.worn;
    }
    std::vector<double> total, parse, searched;
    std::size_t n_pieces = 0, people = 0;
    for (const auto& photo : worn) {
      const auto t = Clock::now();
      const engine::PiecesResult r = pieces->find(bytes_of(photo), "worn", request);
      total.push_back(ms_since(t));
      parse.push_back(r.parse ? r.parse->parse_ms : 0.0);
      double s = 0;
      for (const auto& p : r.pieces) s += p.match.decode_ms + p.match.encode_ms + p.match.search_ms + p.match.outfits_ms;
      searched.push_back(s);
      n_pieces += std::ranges::count_if(r.pieces, [](const engine::PhotoPiece& p) { return p.sold; });
      people += r.worn;
    }
    fmt::print("photo end to end through PieceSearch, 1 thread, {} items indexed, k {}, {} outfits a piece\n",
               rec->indexed_items(), request.k, request.max_outfits);
    fmt::print("{:<44} {:>8} {:>8}\n", "", "p50 ms", "p99 ms");
    fmt::print("{:<44} {:>8.2f} {:>8.2f}\n", fmt::format("studio, today's path ({} MANGO photos)", studio.size()),
               pct(before, 0.5), pct(before, 0.99));
    fmt::print("{:<44} {:>8.2f} {:>8.2f}\n", "studio, with pieces (skin test first)", pct(after, 0.5), pct(after, 0.99));
    fmt::print("  {} of {} studio photos went to the parser ({:.1f}%), {} were read as a person\n", parsed,
               studio.size(), 100.0 * static_cast<double>(parsed) / static_cast<double>(studio.size()), studio_worn);
    fmt::print("{:<44} {:>8.2f} {:>8.2f}\n", fmt::format("worn, end to end ({} held-out CCP photos)", worn.size()),
               pct(total, 0.5), pct(total, 0.99));
    fmt::print("{:<44} {:>8.2f} {:>8.2f}\n", "  of which parse", pct(parse, 0.5), pct(parse, 0.99));
    fmt::print("{:<44} {:>8.2f} {:>8.2f}\n", "  of which the pieces' searches and outfits", pct(searched, 0.5),
               pct(searched, 0.99));
    fmt::print("  {} of {} read as a person; {:.1f} pieces searched a photo\n", people, worn.size(),
               static_cast<double>(n_pieces) / static_cast<double>(worn.size()));
    fmt::print("targets (issue 23): studio p50 <= 2 ms: {}; worn p50 <= 40 ms: {}; studio with pieces / today's p50: "
               "{:.2f}x\n",
               pct(after, 0.5) <= 2.0 ? "met" : "NOT met", pct(total, 0.5) <= 40.0 ? "met" : "NOT met",
               pct(after, 0.5) / pct(before, 0.5));
  } catch (const Error& e) {
    fmt::print(stderr, "worn_bench: {}\n", e.what());
    return 1;
  }
  return 0;
}
