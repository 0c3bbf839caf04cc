// Similarity-search speed: exact search latency (one query at a time, one thread) against numpy
// brute force and FAISS IndexFlatIP run in the same process tree, and against the time to stream
// the vectors once from memory; approximate (HNSW) latency, recall@10 and memory per item.
//
//   index_bench [--sizes 10000,100000,1000000] [--queries 200] [--approx-sizes 100000,1000000]
//               [--no-peers] [--hard-size 20000] [--tmp /tmp] [--peer tools/index_peer.py]
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <unordered_set>

#include "index/test_vectors.h"
#include "mystyle/index/exact_index.h"
#include "mystyle/index/faiss_index.h"

namespace {

using mystyle::index::ExactIndex;
using mystyle::index::FaissIndex;
using mystyle::index::Neighbor;
using Clock = std::chrono::steady_clock;
constexpr std::size_t kDim = 128, kTopK = 10;

double ms_since(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

struct Latency {
  double p50 = 0, p99 = 0;
};
Latency percentiles(std::vector<double> t) {
  std::sort(t.begin(), t.end());
  auto at = [&](double p) {
    return t[std::min(t.size() - 1, static_cast<std::size_t>(p * static_cast<double>(t.size())))];
  };
  return {at(0.5), at(0.99)};
}

typedef float V16 __attribute__((vector_size(64)));
// One thread's streaming read: sum every float once (4 independent accumulators).
__attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default"))) float stream_sum(
    const float* p, std::size_t n) {
  V16 a = {}, b = {}, c = {}, d = {};
  std::size_t i = 0;
  for (; i + 64 <= n; i += 64) {
    V16 x[4];
    std::memcpy(x, p + i, sizeof x);
    a += x[0], b += x[1], c += x[2], d += x[3];
  }
  float s = 0;
  for (int j = 0; j < 16; ++j) s += a[j] + b[j] + c[j] + d[j];
  for (; i < n; ++i) s += p[i];
  return s;
}

double read_once_ms(std::span<const float> v) {
  std::vector<double> t;
  volatile float sink = 0;
  for (int rep = 0; rep < 7; ++rep) {
    const auto t0 = Clock::now();
    sink = sink + stream_sum(v.data(), v.size());
    t.push_back(ms_since(t0));
  }
  return percentiles(t).p50;
}

template <typename Index>
std::pair<Latency, std::vector<std::vector<Neighbor>>> time_queries(const Index& index,
                                                                    const std::vector<float>& q) {
  const std::size_t nq = q.size() / kDim;
  for (std::size_t i = 0; i < std::min<std::size_t>(5, nq); ++i)
    index.search(std::span(q).subspan(i * kDim, kDim), kTopK);
  std::vector<double> t;
  std::vector<std::vector<Neighbor>> results;
  for (std::size_t i = 0; i < nq; ++i) {
    const auto t0 = Clock::now();
    results.push_back(index.search(std::span(q).subspan(i * kDim, kDim), kTopK));
    t.push_back(ms_since(t0));
  }
  return {percentiles(t), results};
}

double recall(const std::vector<std::vector<Neighbor>>& got,
              const std::vector<std::vector<std::int64_t>>& truth) {
  std::size_t hits = 0, total = 0;
  for (std::size_t i = 0; i < got.size(); ++i) {
    const std::unordered_set<std::int64_t> t(truth[i].begin(), truth[i].end());
    for (const auto& n : got[i]) hits += t.count(n.id);
    total += truth[i].size();
  }
  return total ? static_cast<double>(hits) / static_cast<double>(total) : 1.0;
}

std::vector<std::vector<std::int64_t>> ids_of(const std::vector<std::vector<Neighbor>>& r) {
  std::vector<std::vector<std::int64_t>> out;
  for (const auto& v : r) {
    out.emplace_back();
    for (const auto& n : v) out.back().push_back(n.id);
  }
  return out;
}

void write_f32(const std::string& path, const std::vector<float>& v) {
  std::ofstream(path, std::ios::binary)
      .write(reinterpret_cast<const char*>(v.data()), static_cast<std::streamsize>(v.size() * 4));
}

struct Peer {
  std::string name;
  Latency latency;
  std::vector<std::vector<std::int64_t>> top;
};
std::string peer_script = MYSTYLE_SOURCE_DIR "/tools/index_peer.py";

std::vector<Peer> run_peers(const std::string& tmp, const std::vector<float>& data,
                            const std::vector<float>& q) {
  const std::string dp = tmp + "/mystyle-index-bench-data.f32", qp = tmp + "/mystyle-index-bench-queries.f32";
  write_f32(dp, data);
  write_f32(qp, q);
  // OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE may be set machine-wide; numpy runs with its own defaults.
  const std::string cmd = fmt::format(
      "env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 "
      "/usr/bin/python3 "
      "{} --data {} --queries {} --dim {} --k {}",
      peer_script, dp, qp, kDim, kTopK);
  std::vector<Peer> peers;
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(popen(cmd.c_str(), "r"), pclose);
  std::string line;
  char buf[65536];
  while (pipe && fgets(buf, sizeof buf, pipe.get())) {
    line += buf;
    if (line.empty() || line.back() != '\n') continue;
    const auto j = nlohmann::json::parse(line, nullptr, false);
    line.clear();
    if (j.is_discarded() || !j.contains("peer")) continue;
    peers.push_back(
        {j["peer"], {j["p50_ms"], j["p99_ms"]}, j["top"].get<std::vector<std::vector<std::int64_t>>>()});
  }
  std::remove(dp.c_str());
  std::remove(qp.c_str());
  return peers;
}

std::vector<std::size_t> parse_sizes(const char* s) {
  std::vector<std::size_t> out;
  for (const char* p = s; *p;) {
    char* end;
    out.push_back(std::strtoull(p, &end, 10));
    p = *end ? end + 1 : end;
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::size_t> sizes{10'000, 100'000, 1'000'000}, approx_sizes{100'000, 1'000'000};
  std::size_t n_queries = 200, hard_size = 20'000;
  bool peers_on = true;
  std::string tmp = "/tmp";
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const char* next = i + 1 < argc ? argv[i + 1] : "";
    if (a == "--sizes")
      sizes = parse_sizes(next), ++i;
    else if (a == "--approx-sizes")
      approx_sizes = parse_sizes(next), ++i;
    else if (a == "--queries")
      n_queries = std::strtoull(next, nullptr, 10), ++i;
    else if (a == "--hard-size")
      hard_size = std::strtoull(next, nullptr, 10), ++i;
    else if (a == "--tmp")
      tmp = next, ++i;
    else if (a == "--peer")
      peer_script = next, ++i;
    else if (a == "--no-peers")
      peers_on = false;
    else {
      fmt::print(stderr,
                 "usage: {} [--sizes a,b] [--approx-sizes a,b] [--queries n] [--hard-size n] [--no-peers] "
                 "[--tmp dir] [--peer script]\n",
                 argv[0]);
      return 2;
    }
  }
  fmt::print("exact cosine top-{} of {}-d float32 vectors; one query at a time, one thread; latency in ms\n",
             kTopK, kDim);
  fmt::print(
      "read: one thread streaming the float32 vectors once; scan: streaming what our int8 scan reads\n"
      "(codes + {} B of coefficients per row) once\n",
      sizeof(ExactIndex::CosineScan));
  fmt::print("{:>9} {:>8} {:>8} {:>15} {:>15} {:>15} {:>9} {:>9} {:>9} {:>9} {:>8} {:>8}\n", "items", "read",
             "scan", "ours p50/p99", "numpy p50/p99", "faiss p50/p99", "numpy/us", "faiss/us", "us/read",
             "us/scan", "agree", "B/item");
  for (std::size_t n : sizes) {
    const std::size_t clusters = std::max<std::size_t>(n / 100, 1);
    const auto data = mystyle::index::testing::clustered_vectors(n, kDim, clusters, 1);
    const auto q = mystyle::index::testing::clustered_vectors(n >= 1'000'000 ? n_queries / 2 : n_queries,
                                                              kDim, clusters, 2);
    ExactIndex index(kDim);
    index.add(mystyle::index::testing::sequential_ids(n), data);
    const double read_ms = read_once_ms(index.vectors());
    // The same number of bytes as the scan's codes and cosine coefficients, streamed once.
    const std::vector<float> scan_bytes(n * (kDim + sizeof(ExactIndex::CosineScan)) / sizeof(float), 1.0f);
    const double scan_ms = read_once_ms(scan_bytes);
    const auto [ours, results] = time_queries(index, q);
    std::vector<Peer> peers;
    if (peers_on) peers = run_peers(tmp, data, q);
    Latency np_lat{}, fa_lat{};
    double agree = 1.0;
    for (const auto& p : peers) {
      (p.name == "numpy" ? np_lat : fa_lat) = p.latency;
      agree = std::min(agree, recall(results, p.top));  // peers' top-10 vs ours (float ties may differ)
    }
    fmt::print(
        "{:>9} {:>8.3f} {:>8.3f} {:>7.3f}/{:<7.3f} {:>7.3f}/{:<7.3f} {:>7.3f}/{:<7.3f} {:>8.2f}x {:>8.2f}x "
        "{:>8.2f}x {:>8.2f}x {:>8.4f} {:>8.0f}\n",
        n, read_ms, scan_ms, ours.p50, ours.p99, np_lat.p50, np_lat.p99, fa_lat.p50, fa_lat.p99,
        np_lat.p50 / ours.p50, fa_lat.p50 / ours.p50, ours.p50 / read_ms, ours.p50 / scan_ms, agree,
        static_cast<double>(index.memory_bytes()) / static_cast<double>(n));
    std::fflush(stdout);
  }

  const mystyle::index::HnswSettings defaults;
  fmt::print(
      "\napproximate: FaissIndex HNSW (M {}, efConstruction {}, efSearch {}), cosine, one query at a time\n",
      defaults.neighbors_per_node, defaults.ef_construction, defaults.ef_search);
  fmt::print("{:>9} {:>10} {:>8} {:>15} {:>15} {:>10} {:>9} {:>8}\n", "items", "data", "build s",
             "hnsw p50/p99", "exact p50/p99", "speed-up", "recall10", "B/item");
  auto approx_row = [&](std::size_t n, std::size_t clusters, const char* label) {
    const auto data = mystyle::index::testing::clustered_vectors(n, kDim, clusters, 1);
    const auto q = mystyle::index::testing::clustered_vectors(n_queries, kDim, clusters, 2);
    ExactIndex exact(kDim);
    exact.add(mystyle::index::testing::sequential_ids(n), data);
    FaissIndex approx(kDim, mystyle::index::Metric::kCosine);
    const auto t0 = Clock::now();
    approx.add(mystyle::index::testing::sequential_ids(n), data);
    const double build_s = ms_since(t0) / 1000;
    const auto [ex_lat, truth] = time_queries(exact, q);
    const auto [ap_lat, got] = time_queries(approx, q);
    fmt::print("{:>9} {:>10} {:>8.1f} {:>7.3f}/{:<7.3f} {:>7.3f}/{:<7.3f} {:>9.1f}x {:>9.4f} {:>8.0f}\n", n,
               label, build_s, ap_lat.p50, ap_lat.p99, ex_lat.p50, ex_lat.p99, ex_lat.p50 / ap_lat.p50,
               recall(got, ids_of(truth)),
               static_cast<double>(approx.memory_bytes()) / static_cast<double>(n));
    std::fflush(stdout);
  };
  for (std::size_t n : approx_sizes) approx_row(n, std::max<std::size_t>(n / 100, 1), "clustered");
  if (hard_size > 0) approx_row(hard_size, 0, "iid(hard)");
  fmt::print("(hardware threads: {}; HNSW build uses all of them via OpenMP)\n",
             std::thread::hardware_concurrency());
  return 0;
}
