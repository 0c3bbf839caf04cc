// The product at catalog scale, in process, on a workspace made by make_scale_catalog +
// `mystyle import csv` + make_scale_vectors (bench/scale_bench.sh runs all of it, and times the
// server's start and memory from outside):
// 1. both indexes built from the stored embeddings by engine::sync_index, as `mystyle serve`
//    and `recommend` build them (exact, then FAISS HNSW with progress), and saved;
// 2. the start from the saved HNSW index, stage by stage, then Recommender::open as a whole;
// 3. real photos (not in the catalog) through Recommender::recommend one at a time on one thread,
//    HNSW index, k 10, 9 ranked outfits; every query's HNSW top 10 against the exact index's top 10
//    for the same code (recall@10), and the exact search's own latency. Recall is also measured on
//    near-duplicate designs: the catalog's own photo items' photos (make_scale_vectors gives each
//    eight other colours within cosine 0.94-0.995 of it) and MANGO's photos of their designs' other
//    colours;
// 4. edits in process (issue 25): recommend on one thread while a writer thread makes 10 edits a
//    second through the server's write path (engine::WorkspaceWriter: photo stored, encoded, SQLite
//    row, edit-log append; then Recommender::with_edits and one pointer swap), an add then the
//    delete of what it added, so the workspace ends as it began; then 10,000 edits applied in memory
//    only (5,000 items added: half of them further near-duplicates of the hard designs; 5,000 deleted:
//    half of them from those designs' top 10), and recall@10 again, against an exact index of the
//    live vectors.
// Usage: scale_bench WORKSPACE --queries FILE [--limit N] [--reuse-index] [--stream-seconds 30]
//                    [--edits 10000]
//   --reuse-index: keep index files that are current (default: both are rebuilt and timed).
#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <exception>
#include <fstream>
#include <map>
#include <mutex>
#include <opencv2/core/utility.hpp>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "mystyle/catalog/catalog.h"
#include "mystyle/catalog/slot.h"
#include "mystyle/core/error.h"
#include "mystyle/core/file_io.h"
#include "mystyle/core/progress.h"
#include "mystyle/engine/catalog_edits.h"
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
// Issue 25: recommend while 10 edits a second stream in, and recall before and after 10,000 edits.
constexpr double kTargetEditP50Ms = 3.0;
constexpr double kTargetEditP99Ms = 15.0;
constexpr double kTargetEditRecall = 0.99;

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

/// A query photo, read once (no disk in the timed part).
struct Photo {
  std::string path, bytes;
  std::span<const std::uint8_t> view() const {
    return {reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()};
  }
};

std::vector<Photo> read_photos(const std::vector<std::string>& paths) {
  std::vector<Photo> out;
  for (const std::string& p : paths) out.push_back({p, read_file_bytes(p)});
  return out;
}

std::vector<std::string> read_lines(const fs::path& file, std::size_t limit = SIZE_MAX) {
  std::ifstream in(file);
  if (!in) throw Error(fmt::format("{}: cannot read", file.string()), ErrorKind::kNotFound);
  std::vector<std::string> out;
  for (std::string line; std::getline(in, line) && out.size() < limit;) {
    if (!line.empty()) out.push_back(line);
  }
  return out;
}

/// The near-duplicate queries: each catalog photo (its item has make_scale_vectors' eight other
/// colours beside it), then MANGO's photos of the same designs in other colours
/// (`2019_<design>_<colour>.jpg` in the same folder) that are not in the catalog.
std::vector<std::string> near_duplicate_queries(const fs::path& catalog_photos_file) {
  if (catalog_photos_file.empty()) return {};
  const std::vector<std::string> catalog_photos = read_lines(catalog_photos_file);
  const std::set<std::string> in_catalog(catalog_photos.begin(), catalog_photos.end());
  auto design_of = [](const fs::path& p) {
    const std::string stem = p.stem().string();
    const auto a = stem.find('_'), b = stem.rfind('_');
    return a == std::string::npos || a == b ? std::string() : stem.substr(a + 1, b - a - 1);
  };
  std::set<std::string> designs;
  for (const auto& p : catalog_photos) designs.insert(design_of(p));
  std::vector<std::string> out = catalog_photos, others;
  if (!catalog_photos.empty()) {
    for (const auto& entry : fs::directory_iterator(fs::path(catalog_photos.front()).parent_path())) {
      const std::string path = entry.path().string();
      if (designs.contains(design_of(entry.path())) && !in_catalog.contains(path)) others.push_back(path);
    }
  }
  std::ranges::sort(others);
  out.insert(out.end(), others.begin(), others.end());
  fmt::print("near-duplicate queries: {} catalog photos, {} MANGO photos of their designs in other colours\n",
             catalog_photos.size(), others.size());
  return out;
}

struct QueryStats {
  std::vector<double> total, decode, encode, search, outfits, exact_ms, recall;
  double mean_recall() const {
    double sum = 0;
    for (double r : recall) sum += r;
    return recall.empty() ? 1.0 : sum / static_cast<double>(recall.size());
  }
};

/// Every photo through `rec` one at a time, each top k checked against `truth`'s for the same code.
QueryStats run_queries(engine::Recommender& rec, const index::VectorIndex& truth,
                       const std::vector<Photo>& photos, const engine::RecommendRequest& request) {
  QueryStats st;
  for (const Photo& photo : photos) {
    auto t = Clock::now();
    const auto r = rec.recommend(photo.view(), photo.path, request);
    st.total.push_back(seconds_since(t) * 1000);
    st.decode.push_back(r.decode_ms);
    st.encode.push_back(r.encode_ms);
    st.search.push_back(r.search_ms);
    st.outfits.push_back(r.outfits_ms);
    t = Clock::now();
    const auto want_list = truth.search(r.embedding, request.k);
    st.exact_ms.push_back(seconds_since(t) * 1000);
    std::set<std::int64_t> want;
    for (const auto& n : want_list) want.insert(n.id);
    std::size_t hits = 0;
    for (const auto& s : r.similar) hits += want.contains(s.item->id);
    st.recall.push_back(static_cast<double>(hits) /
                        static_cast<double>(std::max<std::size_t>(want.size(), 1)));
  }
  return st;
}

void print_recall(const std::string& what, const QueryStats& st) {
  if (st.recall.empty()) {
    fmt::print("{}: no queries\n", what);
    return;
  }
  fmt::print("{}: {:.4f} (lowest {:.1f}; {} of {} queries perfect)\n", what, st.mean_recall(),
             *std::ranges::min_element(st.recall), std::ranges::count(st.recall, 1.0), st.recall.size());
}

struct StreamResult {
  std::vector<double> recommend_ms, write_ms, apply_ms;
  double seconds = 0;
};

/// Recommend on this thread for `seconds` while another makes 10 edits a second as the server's admin
/// route does: the edit stored by engine::WorkspaceWriter, then applied to the live recommender and
/// published. Adds and deletes alternate (each add's item is the next delete), so the workspace ends
/// as it began.
/// With `edits` false, the same loop without the writer: the baseline, measured the same way.
StreamResult stream_edits(const engine::Workspace& ws, std::shared_ptr<engine::Recommender>& live,
                          const std::vector<Photo>& photos, const engine::RecommendRequest& request,
                          double seconds, bool edits) {
  std::mutex live_mutex;
  auto current = [&] {
    std::lock_guard lock(live_mutex);
    return live;
  };
  std::atomic<bool> stop{false};
  StreamResult out;
  std::exception_ptr failure;
  std::thread writer_thread([&] {
    try {
      engine::WorkspaceWriter writer(ws, engine::CatalogEditOptions{});
      const std::string run = fmt::format("{}", std::chrono::system_clock::now().time_since_epoch().count());
      std::optional<std::int64_t> pending;
      auto tick = Clock::now();
      for (std::size_t n = 0; edits && (!stop || pending); ++n) {
        tick += std::chrono::milliseconds(100);
        auto t = Clock::now();
        if (pending) {
          writer.remove_item(*pending);
          pending.reset();
        } else {
          catalog::Item item;
          item.source = "scale-bench";
          item.source_id = fmt::format("stream-{}-{}", run, n);
          item.category = "Tops";
          item.family = "T-shirt";
          item.type = "T-Shirt";
          item.name = "T-Shirt";
          item.slot = catalog::natural_slot(item.category, item.family, item.type);
          pending = writer.add_item(item, photos[(n / 2) % photos.size()].bytes).item.id;
        }
        out.write_ms.push_back(seconds_since(t) * 1000);
        t = Clock::now();
        auto next = current()->with_edits(writer.take_edits());
        {
          std::lock_guard lock(live_mutex);
          live = std::move(next);
        }
        out.apply_ms.push_back(seconds_since(t) * 1000);
        std::this_thread::sleep_until(tick);
      }
    } catch (...) {
      failure = std::current_exception();
    }
  });
  const auto start = Clock::now();
  for (std::size_t i = 0; seconds_since(start) < seconds && !failure; ++i) {
    const Photo& photo = photos[i % photos.size()];
    const auto snapshot = current();
    const auto t = Clock::now();
    snapshot->recommend(photo.view(), photo.path, request);
    out.recommend_ms.push_back(seconds_since(t) * 1000);
  }
  out.seconds = seconds_since(start);
  stop = true;
  writer_thread.join();
  if (failure) std::rethrow_exception(failure);
  return out;
}

struct MemoryEdits {
  std::vector<double> apply_ms;
  std::size_t added = 0, added_near = 0, removed = 0, removed_near = 0;
  double seconds = 0;
};

/// A unit vector near `code`: Gaussian noise of scale sigma / sqrt(dim), renormalised.
std::vector<float> near_copy(std::span<const float> code, double sigma, std::mt19937_64& rng) {
  std::normal_distribution<double> normal;
  std::vector<double> x(code.size());
  double norm = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    x[i] = code[i] + sigma * normal(rng) / std::sqrt(static_cast<double>(code.size()));
    norm += x[i] * x[i];
  }
  std::vector<float> out(x.size());
  for (std::size_t i = 0; i < x.size(); ++i) out[i] = static_cast<float>(x[i] / std::sqrt(norm));
  return out;
}

/// `count` edits applied to `live` one at a time in memory only (nothing written), as a server applies
/// a stream of admin edits: adds and deletes alternate. Half of the adds are further near-duplicates of
/// the catalog's photo items (the hard designs), half near copies of random items; half of the deletes
/// are from the hard designs' exact top 10 (the photo items themselves kept), half random items. `exact` is
/// edited the same way, so that it stays the truth for the live vectors.
MemoryEdits edit_in_memory(std::shared_ptr<engine::Recommender>& live, index::VectorIndex& exact,
                           std::size_t count, std::uint64_t seed) {
  if (live->views_per_item() > 1) throw Error("the in-memory edits need a workspace without edited views");
  const auto& exact_index = dynamic_cast<const index::ExactIndex&>(exact);
  const std::vector<std::int64_t> base(exact_index.ids().begin(), exact_index.ids().end());
  std::vector<std::int64_t> photo_items;
  for (const catalog::Item& item : live->graph().items()) {
    if (item.image_path) photo_items.push_back(item.id);
  }
  if (photo_items.empty()) throw Error("the catalog has no photo items to make near-duplicates of");
  std::mt19937_64 rng(seed);
  // The photo items' exact top 10 but themselves (their own photo's query keeps its item), shuffled.
  std::vector<std::int64_t> hard;
  for (const std::int64_t id : photo_items) {
    for (const auto& n : exact.search(live->item_embedding(id), 10)) hard.push_back(n.id);
  }
  std::ranges::sort(hard);
  hard.erase(std::unique(hard.begin(), hard.end()), hard.end());
  std::erase_if(hard,
                [&](std::int64_t id) { return std::ranges::find(photo_items, id) != photo_items.end(); });
  std::ranges::shuffle(hard, rng);
  std::int64_t next_id = *std::ranges::max_element(base) + 1;
  std::set<std::int64_t> removed;
  std::vector<std::int64_t> added_ids;
  std::vector<float> added_vectors;
  MemoryEdits out;
  std::size_t next_hard = 0;
  const auto start = Clock::now();
  Progress progress("edits in memory", static_cast<std::int64_t>(count), "edits");
  for (std::size_t i = 0; i < count; ++i) {
    engine::RecommenderEdits e;
    const bool near = (i / 2) % 2 == 0;
    if (i % 2 == 0) {
      // A copy of a live item: a photo item (never deleted here), or a random one not deleted.
      std::int64_t of = near ? photo_items[rng() % photo_items.size()] : base[rng() % base.size()];
      while (removed.contains(of)) of = base[rng() % base.size()];
      const double sigma = near ? 0.1 + 0.25 * std::uniform_real_distribution<double>()(rng) : 0.3;
      catalog::Item item = *live->graph().item(of);
      item.id = next_id++;
      item.source_id = fmt::format("mem-{}", item.id);
      e.added = {item};
      e.vectors = near_copy(live->item_embedding(of), sigma, rng);
      added_ids.push_back(item.id);
      added_vectors.insert(added_vectors.end(), e.vectors.begin(), e.vectors.end());
      ++out.added;
      out.added_near += near;
    } else {
      std::int64_t id = 0;
      while (near && next_hard < hard.size() && removed.contains(id = hard[next_hard++])) {
      }
      if (!near || next_hard >= hard.size()) {
        do id = base[rng() % base.size()];
        while (removed.contains(id));
      } else {
        ++out.removed_near;
      }
      removed.insert(id);
      e.removed = {id};
      ++out.removed;
    }
    const auto t = Clock::now();
    live = live->with_edits(e);
    out.apply_ms.push_back(seconds_since(t) * 1000);
    progress.advance();
  }
  progress.finish();
  out.seconds = seconds_since(start);
  const std::vector<std::int64_t> gone(removed.begin(), removed.end());
  exact.remove(gone);
  exact.add(added_ids, added_vectors);
  return out;
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
  if (argc < 2)
    throw Error(
        "usage: scale_bench WORKSPACE --queries FILE [--catalog-photos FILE] [--limit N] [--reuse-index] "
        "[--stream-seconds 30] [--edits 10000]");
  const engine::Workspace ws(argv[1]);
  fs::path queries_file, catalog_photos_file;
  std::size_t limit = SIZE_MAX, memory_edits = 10000;
  double stream_seconds = 30;
  bool reuse = false;
  for (int i = 2; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--reuse-index")
      reuse = true;
    else if (a == "--queries" && i + 1 < argc)
      queries_file = argv[++i];
    else if (a == "--limit" && i + 1 < argc)
      limit = std::stoul(argv[++i]);
    else if (a == "--catalog-photos" && i + 1 < argc)
      catalog_photos_file = argv[++i];
    else if (a == "--stream-seconds" && i + 1 < argc)
      stream_seconds = std::stod(argv[++i]);
    else if (a == "--edits" && i + 1 < argc)
      memory_edits = std::stoul(argv[++i]);
    else
      throw Error(fmt::format("unknown option {}", a));
  }
  if (queries_file.empty()) throw Error("--queries FILE is required");
  const std::vector<std::string> photos = read_lines(queries_file, limit);
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
    std::vector<std::int64_t> ids = dynamic_cast<const index::FaissIndex&>(*loaded).ids();
    if (!std::ranges::is_sorted(ids)) std::ranges::sort(ids);  // as engine::sync_index compares them
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

  // 3. Photo queries, one thread.
  nn::set_num_threads(1);
  cv::setNumThreads(1);
  engine::RecommendRequest request;
  const std::vector<Photo> held_out = read_photos(photos);
  const std::vector<Photo> near = read_photos(near_duplicate_queries(catalog_photos_file));
  rec->recommend(held_out.front().view(), "warm-up", request);
  const QueryStats before = run_queries(*rec, exact_index, held_out, request);
  const QueryStats near_before = run_queries(*rec, exact_index, near, request);
  fmt::print(
      "\nrecommend through engine::Recommender, {} real photos one at a time, 1 thread, HNSW index of {} "
      "items, k {}, {} ranked outfits\n",
      held_out.size(), rec->indexed_items(), request.k, request.max_outfits);
  fmt::print("{:<34} {:>9} {:>9}\n", "stage", "p50 ms", "p99 ms");
  for (const auto& [name, v] : {std::pair{"decode + preprocess", &before.decode},
                                {"encode", &before.encode},
                                {"search (HNSW)", &before.search},
                                {"outfits", &before.outfits},
                                {"total (wall clock)", &before.total},
                                {"exact search, same code (for scale)", &before.exact_ms}}) {
    fmt::print("{:<34} {:>9.3f} {:>9.3f}\n", name, pct(*v, 0.5), pct(*v, 0.99));
  }
  print_recall("HNSW recall@10 against the exact index, held-out photos", before);
  print_recall("                near-duplicate designs", near_before);
  fmt::print("this process: VmRSS {:.0f} MB, peak VmHWM {:.0f} MB (it also holds the exact index)\n",
             proc_status_mb("VmRSS"), proc_status_mb("VmHWM"));
  const double p50 = pct(before.total, 0.5);
  fmt::print(
      "\ntargets: recommend p50 {:.2f} ms <= {} ms: {} ({:.2f}x of the limit); recall@10 {:.4f} >= {}: {}\n",
      p50, kTargetP50Ms, p50 <= kTargetP50Ms ? "met" : "NOT met", p50 / kTargetP50Ms, before.mean_recall(),
      kTargetRecall, before.mean_recall() >= kTargetRecall ? "met" : "NOT met");
  std::fflush(stdout);
  if (stream_seconds <= 0 && memory_edits == 0) return 0;

  // 4. Edits in process.
  std::shared_ptr<engine::Recommender> live = std::move(rec);
  fmt::print("\nedits in process (issue 25)\n");
  if (stream_seconds > 0) {
    const StreamResult quiet = stream_edits(ws, live, held_out, request, stream_seconds, false);
    const StreamResult stream = stream_edits(ws, live, held_out, request, stream_seconds, true);
    fmt::print(
        "  {} edits in {:.1f} s through engine::WorkspaceWriter ({} adds, each deleted again; {:.1f} "
        "edits/s), "
        "each then applied with Recommender::with_edits: write p50 {:.1f} ms, p99 {:.1f} ms; apply p50 "
        "{:.2f} ms, "
        "p99 {:.2f} ms\n",
        stream.write_ms.size(), stream.seconds, stream.write_ms.size() / 2,
        static_cast<double>(stream.write_ms.size()) / stream.seconds, pct(stream.write_ms, 0.5),
        pct(stream.write_ms, 0.99), pct(stream.apply_ms, 0.5), pct(stream.apply_ms, 0.99));
    fmt::print(
        "  recommend meanwhile, 1 thread, {} photos: p50 {:.3f} ms, p99 {:.3f} ms; the same loop just before "
        "without edits, {} photos: p50 {:.3f} ms, p99 {:.3f} ms\n",
        stream.recommend_ms.size(), pct(stream.recommend_ms, 0.5), pct(stream.recommend_ms, 0.99),
        quiet.recommend_ms.size(), pct(quiet.recommend_ms, 0.5), pct(quiet.recommend_ms, 0.99));
    fmt::print("  targets: p50 {:.3f} ms <= {} ms: {}; p99 {:.3f} ms <= {} ms: {}\n",
               pct(stream.recommend_ms, 0.5), kTargetEditP50Ms,
               pct(stream.recommend_ms, 0.5) <= kTargetEditP50Ms ? "met" : "NOT met",
               pct(stream.recommend_ms, 0.99), kTargetEditP99Ms,
               pct(stream.recommend_ms, 0.99) <= kTargetEditP99Ms ? "met" : "NOT met");
    std::fflush(stdout);
  }
  if (memory_edits > 0) {
    const double rss_before = proc_status_mb("VmRSS");
    const MemoryEdits m = edit_in_memory(live, *exact.index, memory_edits, 1);
    const QueryStats after = run_queries(*live, *exact.index, held_out, request);
    const QueryStats near_after = run_queries(*live, *exact.index, near, request);
    fmt::print(
        "  {} edits applied in memory one at a time ({} added, {} of them near-duplicates of those designs; "
        "{} "
        "deleted, {} of them from their top 10) in {:.1f} s: with_edits p50 {:.2f} ms, p99 {:.2f} ms, last "
        "{:.2f} ms; VmRSS {:.0f} -> {:.0f} MB\n",
        m.apply_ms.size(), m.added, m.added_near, m.removed, m.removed_near, m.seconds, pct(m.apply_ms, 0.5),
        pct(m.apply_ms, 0.99), m.apply_ms.empty() ? 0.0 : m.apply_ms.back(), rss_before,
        proc_status_mb("VmRSS"));
    print_recall("  recall@10 after them, against an exact index of the live vectors, held-out photos",
                 after);
    print_recall("                                                              near-duplicate designs",
                 near_after);
    fmt::print("  recommend after them, 1 thread: p50 {:.3f} ms, p99 {:.3f} ms\n", pct(after.total, 0.5),
               pct(after.total, 0.99));
    const double lowest = std::min(
        {before.mean_recall(), near_before.mean_recall(), after.mean_recall(), near_after.mean_recall()});
    fmt::print("  target: recall@10 >= {} before and after, every set: lowest {:.4f}: {}\n",
               kTargetEditRecall, lowest, lowest >= kTargetEditRecall ? "met" : "NOT met");
  }
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
