// The product at catalog scale, in process, on a workspace made by make_scale_catalog +
// `mystyle import csv` + make_scale_vectors (bench/scale_bench.sh runs all of it, and times the
// server's start and memory from outside):
// 1. both indexes built from the stored embeddings by engine::sync_index, as `mystyle serve`
//    and `recommend` build them (exact, then FAISS HNSW with progress), and saved;
// 2. the start from the saved HNSW index, stage by stage, then Recommender::open as a whole;
// 3. real photos (not in the catalog) through Recommender::recommend one at a time on one thread,
//    HNSW index, k 10, 9 ranked outfits; every query's HNSW top 10 against the exact index's top 10
//    for the same code (recall@10), and the exact search's own latency.
// Usage: scale_bench WORKSPACE --queries FILE [--limit N] [--reuse-index]
//   --reuse-index: keep index files that are current (default: both are rebuilt and timed).
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <opencv2/core/utility.hpp>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "mystyle/catalog/catalog.h"
#include "mystyle/core/error.h"
#include "mystyle/core/file_io.h"
#include "mystyle/engine/embeddings.h"
#include "mystyle/engine/item_index.h"
#include "mystyle/engine/match_strength.h"
#include "mystyle/engine/recommender.h"
#include "mystyle/index/exact_index.h"
#include "mystyle/index/faiss_index.h"
#include "mystyle/index/index_io.h"
#include "mystyle/nn/context.h"
#include "mystyle/recommend/outfit_graph.h"

namespace {

using namespace mystyle;
using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;

constexpr const char* kModel = "style";
constexpr double kTargetP50Ms = 5.0;
constexpr double kTargetRecall = 0.98;

double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

/// This process's CPU time (all threads), in seconds: on a shared machine, what a stage costs.
double cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

/// Wall and CPU seconds since construction.
struct StageTimer {
  Clock::time_point wall = Clock::now();
  double cpu = cpu_seconds();
  std::pair<double, double> lap() {
    std::pair<double, double> out{seconds_since(wall), cpu_seconds() - cpu};
    wall = Clock::now();
    cpu = cpu_seconds();
    return out;
  }
};

double pct(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::ranges::sort(v);
  return v[static_cast<std::size_t>(p * static_cast<double>(v.size() - 1))];
}

/// VmRSS / VmHWM of this process in MB, from /proc/self/status.
double proc_status_mb(const std::string& key) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(key + ":", 0) == 0) return std::stod(line.substr(key.size() + 1)) / 1024.0;
  }
  return 0;
}

void remove_index_files(const engine::Workspace& ws, const std::string& name) {
  fs::remove(ws.root() / "index" / (name + ".idx"));
  fs::remove(ws.root() / "index" / (name + ".json"));
}

struct Built {
  std::unique_ptr<index::VectorIndex> index;
  double seconds = 0;
  fs::path path;
};

Built build(const engine::Workspace& ws, const engine::Embeddings& emb, engine::IndexKind kind, bool reuse) {
  const std::string name = kind == engine::IndexKind::kExact ? "style-flat-exact" : "style-flat-hnsw-cosine";
  if (!reuse) remove_index_files(ws, name);
  const auto t = Clock::now();
  engine::IndexSync sync = engine::sync_index(ws, kModel, emb, kind, index::Metric::kCosine);
  return {std::move(sync.index), seconds_since(t), sync.path};
}

void print_build(const char* kind, const Built& b, std::size_t bytes) {
  const double n = static_cast<double>(b.index->size());
  fmt::print("{:<6} {:>12.1f} {:>10.0f} {:>14.0f} {:>9.0f}\n", kind, b.seconds, n / b.seconds,
             static_cast<double>(bytes) / n, static_cast<double>(fs::file_size(b.path)) / 1e6);
}

int run(int argc, char** argv) {
  if (argc < 2) throw Error("usage: scale_bench WORKSPACE --queries FILE [--limit N] [--reuse-index]");
  const engine::Workspace ws(argv[1]);
  fs::path queries_file;
  std::size_t limit = SIZE_MAX;
  bool reuse = false;
  for (int i = 2; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--reuse-index")
      reuse = true;
    else if (a == "--queries" && i + 1 < argc)
      queries_file = argv[++i];
    else if (a == "--limit" && i + 1 < argc)
      limit = std::stoul(argv[++i]);
    else
      throw Error(fmt::format("unknown option {}", a));
  }
  std::vector<std::string> photos;
  {
    std::ifstream in(queries_file);
    if (!in)
      throw Error(fmt::format("--queries {}: cannot read", queries_file.string()), ErrorKind::kNotFound);
    for (std::string line; std::getline(in, line) && photos.size() < limit;) {
      if (!line.empty()) photos.push_back(line);
    }
  }
  if (photos.empty()) throw Error("no query photos");

  // 1. Index builds from the stored embeddings (what a first `serve` or `recommend` does).
  const auto [model_for_hash, source_hash] = engine::load_embedding_model(ws, kModel);
  Built exact, hnsw;
  {
    const engine::Embeddings emb =
        engine::load_current_embeddings(ws, kModel, nn::LatentPooling::kFlat, source_hash);
    fmt::print("scale benchmark on {}: {} embedded items, {} dims, {} query photos not in the catalog\n",
               ws.root().string(), emb.size(), emb.dim, photos.size());
    exact = build(ws, emb, engine::IndexKind::kExact, reuse);
    hnsw = build(ws, emb, engine::IndexKind::kHnsw, reuse);
  }
  const auto& exact_index = dynamic_cast<const index::ExactIndex&>(*exact.index);
  const auto& hnsw_index = dynamic_cast<const index::FaissIndex&>(*hnsw.index);
  const index::HnswSettings hnsw_settings = hnsw_index.settings();
  fmt::print("\nindex build (engine::sync_index from embeddings/style-flat.bin, then saved){}\n",
             reuse ? " -- reused where current, so times may be load times" : "");
  fmt::print("{:<6} {:>12} {:>10} {:>14} {:>9}\n", "kind", "build+save s", "items/s", "memory B/item",
             "file MB");
  print_build("exact", exact, exact_index.memory_bytes());
  print_build("hnsw", hnsw, hnsw_index.memory_bytes());
  fmt::print("(HNSW: FAISS M {}, efConstruction {}, efSearch {}; built on {} hardware threads via OpenMP)\n",
             hnsw_settings.neighbors_per_node, hnsw_settings.ef_construction, hnsw_settings.ef_search,
             std::thread::hardware_concurrency());
  hnsw.index.reset();
  std::fflush(stdout);  // sections appear as they finish when stdout is a file

  // 2. The start from the saved HNSW index, stage by stage (each stage of Recommender::open), then whole.
  fmt::print(
      "\nstart from the saved HNSW index, in process (Recommender::open's stages, then the whole of it)\n");
  fmt::print("  {:<48} {:>8} {:>8}\n", "stage", "wall s", "cpu s");
  auto print_stage = [](const std::string& name, std::pair<double, double> lap) {
    fmt::print("  {:<48} {:>8.2f} {:>8.2f}\n", name, lap.first, lap.second);
  };
  {
    StageTimer timer;
    auto m = engine::load_embedding_model(ws, kModel);
    print_stage("load the model", timer.lap());
    // As Recommender::open reads them: mapped, the ids copied, the vectors left in the mapping.
    const engine::MappedEmbeddings mapped =
        engine::map_current_embeddings(ws, kModel, nn::LatentPooling::kFlat, m.source_hash);
    const engine::EmbeddingsView emb = mapped.view();
    print_stage("map the embeddings (checksummed)", timer.lap());
    const auto loaded = index::load_index(hnsw.path);
    print_stage("load the HNSW index (checksummed, checked)", timer.lap());
    const std::vector<std::int64_t> ids = dynamic_cast<const index::FaissIndex&>(*loaded).ids();
    const bool in_sync = std::ranges::equal(ids, emb.ids);
    print_stage(fmt::format("the index's ids against the embeddings' ({})", in_sync ? "equal" : "differ"),
                timer.lap());
    catalog::Catalog cat(ws.root());
    const recommend::OutfitGraph graph = recommend::OutfitGraph::load(cat);
    print_stage(
        fmt::format("load the catalog ({} items, {} outfits)", graph.items().size(), graph.outfits().size()),
        timer.lap());
    std::vector<std::string> types(emb.size());
    for (std::size_t i = 0; i < emb.size(); ++i) {
      if (const auto* item = graph.item(emb.ids[i])) types[i] = item->type;
    }
    const auto calibration =
        engine::MatchCalibration::build(emb.vectors, static_cast<std::size_t>(emb.dim), types, 20000, 1);
    print_stage("match calibration", timer.lap());
  }
  engine::RecommenderConfig config;
  config.index = engine::IndexKind::kHnsw;
  StageTimer open_timer;
  auto rec = engine::Recommender::open(ws, config);
  print_stage("Recommender::open, all of it", open_timer.lap());
  std::fflush(stdout);
  auto t = Clock::now();

  // 3. Photo queries, one thread.
  nn::set_num_threads(1);
  cv::setNumThreads(1);
  engine::RecommendRequest request;
  {
    const std::string first = read_file_bytes(photos.front());
    rec->recommend({reinterpret_cast<const std::uint8_t*>(first.data()), first.size()}, "warm-up", request);
  }
  std::vector<double> total, decode, encode, search, outfits, exact_ms, recall;
  for (const std::string& photo : photos) {
    const std::string bytes = read_file_bytes(photo);
    t = Clock::now();
    const auto r =
        rec->recommend({reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()}, photo, request);
    total.push_back(seconds_since(t) * 1000);
    decode.push_back(r.decode_ms);
    encode.push_back(r.encode_ms);
    search.push_back(r.search_ms);
    outfits.push_back(r.outfits_ms);
    t = Clock::now();
    const auto truth = exact_index.search(r.embedding, request.k);
    exact_ms.push_back(seconds_since(t) * 1000);
    std::set<std::int64_t> want;
    for (const auto& n : truth) want.insert(n.id);
    std::size_t hits = 0;
    for (const auto& s : r.similar) hits += want.contains(s.item->id);
    recall.push_back(static_cast<double>(hits) / static_cast<double>(std::max<std::size_t>(want.size(), 1)));
  }
  fmt::print(
      "\nrecommend through engine::Recommender, {} real photos one at a time, 1 thread, HNSW index of {} "
      "items, k {}, {} ranked outfits\n",
      photos.size(), rec->indexed_items(), request.k, request.max_outfits);
  fmt::print("{:<34} {:>9} {:>9}\n", "stage", "p50 ms", "p99 ms");
  for (const auto& [name, v] : {std::pair{"decode + preprocess", &decode},
                                {"encode", &encode},
                                {"search (HNSW)", &search},
                                {"outfits", &outfits},
                                {"total (wall clock)", &total},
                                {"exact search, same code (for scale)", &exact_ms}}) {
    fmt::print("{:<34} {:>9.3f} {:>9.3f}\n", name, pct(*v, 0.5), pct(*v, 0.99));
  }
  double mean_recall = 0;
  for (double r : recall) mean_recall += r;
  mean_recall /= static_cast<double>(recall.size());
  const auto perfect = std::ranges::count(recall, 1.0);
  fmt::print(
      "HNSW recall@10 against the exact index on the same codes: {:.4f} (lowest {:.1f}; {} of {} queries "
      "perfect)\n",
      mean_recall, *std::ranges::min_element(recall), perfect, recall.size());
  fmt::print("this process: VmRSS {:.0f} MB, peak VmHWM {:.0f} MB (it also holds the exact index)\n",
             proc_status_mb("VmRSS"), proc_status_mb("VmHWM"));
  const double p50 = pct(total, 0.5);
  fmt::print(
      "\ntargets: recommend p50 {:.2f} ms <= {} ms: {} ({:.2f}x of the limit); recall@10 {:.4f} >= {}: {}\n",
      p50, kTargetP50Ms, p50 <= kTargetP50Ms ? "met" : "NOT met", p50 / kTargetP50Ms, mean_recall,
      kTargetRecall, mean_recall >= kTargetRecall ? "met" : "NOT met");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    fmt::print(stderr, "scale_bench: {}\n", e.what());
    return 1;
  }
}
