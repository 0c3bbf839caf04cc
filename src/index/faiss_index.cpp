#include "mystyle/index/faiss_index.h"

#include <faiss/IndexFlat.h>
#include <faiss/IndexHNSW.h>
#include <faiss/impl/FaissException.h>
#include <faiss/impl/IDSelector.h>
#include <faiss/impl/io.h>
#include <faiss/index_io.h>
#include <fmt/format.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <optional>
#include <string>
#include <string_view>

#include "mystyle/core/byte_io.h"
#include "dot_kernel.h"
#include "mystyle/core/error.h"
#include "vector_checks.h"

namespace mystyle::index {
namespace {

using FaissId = faiss::Index::idx_t;
constexpr int kMaxNeighborsPerNode = 1 << 16;  // far above any useful M (FAISS suggests 4..64)
// Candidate lists are allocated per search or insertion at their full size (a stored upper_beam of
// 2^29 asked for 4 GB at the first query, fuzz/index_fuzzer): ef values are bounded far above any
// useful one.
constexpr int kMaxCandidates = 1 << 20;

// Passes live graph nodes whose item id the caller's filter allows.
struct LiveSelector final : faiss::IDSelector {
  const std::vector<std::uint8_t>* alive;
  const std::vector<std::int64_t>* slot_ids;
  const IdFilter* filter;
  bool is_member(idx_t slot) const override {
    return (*alive)[static_cast<std::size_t>(slot)] != 0 &&
           (filter == nullptr || filter->allows((*slot_ids)[static_cast<std::size_t>(slot)]));
  }
};

// faiss::read_index checks a graph's framing but not its contents, and HNSW search trusts them:
// a neighbour id past the end, or a node listed on a level it does not reach, is read out of
// bounds (a fuzzed index file crashed the first search, fuzz/index_fuzzer). Returns what is wrong
// with a loaded graph, or nothing when every search and insertion stays inside its arrays.
std::optional<std::string> hnsw_problem(const faiss::IndexHNSWFlat& index) {
  const faiss::HNSW& g = index.hnsw;
  if (index.ntotal < 0 || index.ntotal > std::numeric_limits<int>::max()) return "implausible node count";
  const auto n = static_cast<std::size_t>(index.ntotal);
  const auto* storage = dynamic_cast<const faiss::IndexFlatCodes*>(index.storage);
  if (storage == nullptr || storage->ntotal != index.ntotal || storage->d != index.d ||
      storage->metric_type != index.metric_type || storage->code_size != sizeof(float) * std::size_t(index.d) ||
      storage->codes.size() != n * storage->code_size) {
    return "vector storage does not match the graph";
  }
  const std::vector<int>& cum = g.cum_nneighbor_per_level;
  if (cum.empty() || cum[0] != 0 || g.assign_probas.size() + 1 != cum.size()) return "bad level table";
  for (std::size_t l = 1; l < cum.size(); ++l) {
    if (cum[l] < cum[l - 1]) return "bad level table";
  }
  for (const double p : g.assign_probas) {
    if (!(p >= 0.0 && p <= 1.0)) return "bad level probabilities";
  }
  if (g.levels.size() != n || g.offsets.size() != n + 1 || g.offsets[0] != 0) return "bad node table";
  const int top = static_cast<int>(cum.size()) - 1;
  for (std::size_t i = 0; i < n; ++i) {
    if (g.levels[i] < 1 || g.levels[i] > top) return "node level out of range";
    if (g.offsets[i + 1] < g.offsets[i] ||
        g.offsets[i + 1] - g.offsets[i] != static_cast<std::size_t>(cum[static_cast<std::size_t>(g.levels[i])])) {
      return "bad neighbour offsets";
    }
  }
  if (g.neighbors.size() != g.offsets[n]) return "bad neighbour table size";
  for (std::size_t i = 0; i < n; ++i) {
    for (int level = 0; level < g.levels[i]; ++level) {
      const std::size_t begin = g.offsets[i] + static_cast<std::size_t>(cum[static_cast<std::size_t>(level)]);
      const std::size_t end = g.offsets[i] + static_cast<std::size_t>(cum[static_cast<std::size_t>(level) + 1]);
      for (std::size_t j = begin; j < end; ++j) {
        const int v = g.neighbors[j];
        // -1 ends a list; a neighbour on `level` must itself reach that level.
        if (v < -1 || v >= static_cast<int>(n) || (v >= 0 && g.levels[static_cast<std::size_t>(v)] <= level)) {
          return "neighbour out of range";
        }
      }
    }
  }
  if (n == 0) {
    if (g.entry_point != -1 || g.max_level != -1) return "entry point in an empty graph";
  } else if (g.entry_point < 0 || g.entry_point >= static_cast<int>(n) ||
             g.max_level != g.levels[static_cast<std::size_t>(g.entry_point)] - 1) {
    return "bad entry point";
  }
  // upper_beam sizes a candidate list per search (FAISS writes 1; more than the nodes is meaningless).
  if (g.upper_beam < 1 || static_cast<std::size_t>(g.upper_beam) > std::max<std::size_t>(n, 1) ||
      g.efConstruction < 1 || g.efConstruction > kMaxCandidates) {
    return "bad search settings";
  }
  return std::nullopt;
}

// faiss::read_index sizes each std::vector from the length the blob declares (up to 2^40 elements)
// before reading its contents: a 1 KB index file asked for 2.4 TB (fuzz/index_fuzzer). This walks
// the blob first, in the layout faiss::write_index gives an IndexHNSWFlat (FAISS 1.7: fourcc "IHNf",
// index header, the HNSW arrays and scalars, then its IndexFlat storage "IxF2"/"IxFI" with the
// vectors), and returns what is wrong when an array runs past the end, the walk does not end
// exactly at the end, or the blob holds any other index type (which FaissIndex never writes).
std::optional<std::string> hnsw_blob_problem(std::string_view blob) {
  std::size_t pos = 0;
  bool short_blob = false;
  auto skip = [&](std::size_t bytes) {
    if (bytes > blob.size() - pos) {
      short_blob = true;
      pos = blob.size();
    } else {
      pos += bytes;
    }
  };
  auto read_u32 = [&] {
    std::uint32_t v = 0;
    if (blob.size() - pos >= sizeof v) std::memcpy(&v, blob.data() + pos, sizeof v);
    skip(sizeof v);
    return v;
  };
  auto read_u64 = [&] {
    std::uint64_t v = 0;
    if (blob.size() - pos >= sizeof v) std::memcpy(&v, blob.data() + pos, sizeof v);
    skip(sizeof v);
    return v;
  };
  auto skip_array = [&](std::size_t element_bytes, std::size_t elements_per_unit) {
    const std::uint64_t n = read_u64();
    if (n > (blob.size() - pos) / element_bytes / elements_per_unit) {
      short_blob = true;
      pos = blob.size();
    } else {
      skip(n * element_bytes * elements_per_unit);
    }
  };
  auto skip_index_header = [&] {
    skip(sizeof(std::int32_t) + 3 * sizeof(std::int64_t) + sizeof(bool));  // d, ntotal, 2 unused, is_trained
    if (read_u32() > 1) skip(sizeof(float));                                  // metric type (and its argument)
  };
  auto fourcc = [](const char* c) {
    return std::uint32_t(std::uint8_t(c[0])) | std::uint32_t(std::uint8_t(c[1])) << 8 |
           std::uint32_t(std::uint8_t(c[2])) << 16 | std::uint32_t(std::uint8_t(c[3])) << 24;
  };
  if (read_u32() != fourcc("IHNf")) return "not an HNSW flat index";
  skip_index_header();
  skip_array(sizeof(double), 1);       // assign_probas
  skip_array(sizeof(int), 1);          // cum_nneighbor_per_level
  skip_array(sizeof(int), 1);          // levels
  skip_array(sizeof(std::size_t), 1);  // offsets
  skip_array(sizeof(int), 1);          // neighbors
  skip(5 * sizeof(int));               // entry_point, max_level, efConstruction, efSearch, upper_beam
  const std::uint32_t storage = read_u32();
  if (storage != fourcc("IxF2") && storage != fourcc("IxFI")) return "its vector storage is not a flat index";
  skip_index_header();
  skip_array(sizeof(float), 1);  // the vectors (written as a count of floats)
  if (short_blob) return "an array runs past the end of the graph";
  if (pos != blob.size()) return "trailing bytes after the graph";
  return std::nullopt;
}

std::unique_ptr<faiss::IndexHNSWFlat> make_hnsw(std::size_t dim, Metric metric, const HnswSettings& s) {
  auto hnsw = std::make_unique<faiss::IndexHNSWFlat>(
      static_cast<int>(dim), s.neighbors_per_node,
      metric == Metric::kEuclidean ? faiss::METRIC_L2 : faiss::METRIC_INNER_PRODUCT);
  hnsw->hnsw.efConstruction = s.ef_construction;
  hnsw->hnsw.efSearch = s.ef_search;
  return hnsw;
}

// faiss::VectorIOReader over bytes it does not own (the same reads, without a copy of the blob).
struct ViewIOReader final : faiss::IOReader {
  std::string_view bytes;
  std::size_t pos = 0;
  explicit ViewIOReader(std::string_view b) : bytes(b) {}
  std::size_t operator()(void* ptr, std::size_t size, std::size_t nitems) override {
    if (size == 0 || pos >= bytes.size()) return 0;
    nitems = std::min(nitems, (bytes.size() - pos) / size);
    if (nitems > 0) {
      std::memcpy(ptr, bytes.data() + pos, size * nitems);
      pos += size * nitems;
    }
    return nitems;
  }
};

const float* stored_vectors(const faiss::IndexHNSWFlat& hnsw) {
  return static_cast<const faiss::IndexFlat*>(hnsw.storage)->get_xb();
}

}  // namespace

FaissIndex::FaissIndex(std::size_t dim, Metric metric, HnswSettings settings)
    : dim_(dim), metric_(metric), settings_(settings) {
  if (dim == 0) throw Error("FaissIndex: dim must be at least 1");
  if (settings.neighbors_per_node < 2 || settings.ef_construction < 1 || settings.ef_search < 1) {
    throw Error(fmt::format("FaissIndex: invalid HNSW settings (M {}, efConstruction {}, efSearch {})",
                            settings.neighbors_per_node, settings.ef_construction, settings.ef_search));
  }
  hnsw_ = make_hnsw(dim, metric, settings);
}

FaissIndex::~FaissIndex() = default;
FaissIndex::FaissIndex(FaissIndex&&) noexcept = default;
FaissIndex& FaissIndex::operator=(FaissIndex&&) noexcept = default;

std::vector<float> FaissIndex::prepare(std::span<const float> vectors) const {
  std::vector<float> out(vectors.begin(), vectors.end());
  if (metric_ == Metric::kEuclidean) return out;
  for (std::size_t r = 0; r < out.size() / dim_; ++r) {
    float* x = &out[r * dim_];
    double mean = 0;
    if (metric_ == Metric::kPearson) {
      for (std::size_t i = 0; i < dim_; ++i) mean += x[i];
      mean /= static_cast<double>(dim_);
    }
    double sq = 0;
    for (std::size_t i = 0; i < dim_; ++i) sq += (x[i] - mean) * (x[i] - mean);
    const double inv = sq > 0 ? 1.0 / std::sqrt(sq) : 0.0;
    for (std::size_t i = 0; i < dim_; ++i) x[i] = static_cast<float>((x[i] - mean) * inv);
  }
  return out;
}

double FaissIndex::to_score(float faiss_distance) const {
  if (metric_ != Metric::kEuclidean) return faiss_distance;
  const double d = std::sqrt(std::max(0.0f, faiss_distance));
  return d > 0 ? 1.0 / d : std::numeric_limits<double>::infinity();
}

void FaissIndex::add(std::span<const std::int64_t> ids, std::span<const float> vectors) {
  detail::check_add_input(ids, vectors, dim_, [this](std::int64_t id) { return slot_of_.contains(id); });
  if (ids.empty()) return;
  const std::vector<float> prepared = prepare(vectors);
  try {
    hnsw_->add(static_cast<FaissId>(ids.size()), prepared.data());
  } catch (const faiss::FaissException& e) {
    throw Error(fmt::format("FaissIndex::add: {}", e.what()), ErrorKind::kIo);
  }
  for (std::int64_t id : ids) {
    slot_of_.emplace(id, static_cast<std::int64_t>(slot_ids_.size()));
    slot_ids_.push_back(id);
    alive_.push_back(1);
  }
}

std::size_t FaissIndex::remove(std::span<const std::int64_t> ids) {
  std::size_t removed = 0;
  for (std::int64_t id : ids) {
    auto it = slot_of_.find(id);
    if (it == slot_of_.end()) continue;
    alive_[static_cast<std::size_t>(it->second)] = 0;
    slot_of_.erase(it);
    ++removed;
  }
  return removed;
}

std::vector<std::int64_t> FaissIndex::changed(std::span<const std::int64_t> ids, std::span<const float> vectors) const {
  detail::check_rows(ids, vectors, dim_);
  std::vector<std::int64_t> out;
  const float* stored = stored_vectors(*hnsw_);
  constexpr std::size_t kChunk = 4096;  // rows prepared at a time (a million rows would copy 512 MB)
  for (std::size_t s = 0; s < ids.size(); s += kChunk) {
    const std::size_t n = std::min(kChunk, ids.size() - s);
    const std::vector<float> prepared = prepare(vectors.subspan(s * dim_, n * dim_));
    for (std::size_t r = 0; r < n; ++r) {
      const auto it = slot_of_.find(ids[s + r]);
      if (it == slot_of_.end()) continue;
      const float* have = stored + static_cast<std::size_t>(it->second) * dim_;
      if (!std::equal(prepared.begin() + static_cast<std::ptrdiff_t>(r * dim_),
                      prepared.begin() + static_cast<std::ptrdiff_t>((r + 1) * dim_), have))
        out.push_back(ids[s + r]);
    }
  }
  return out;
}

std::vector<Neighbor> FaissIndex::brute_force(const float* q, std::size_t k, const IdFilter* filter) const {
  const float* xb = stored_vectors(*hnsw_);
  std::vector<std::pair<float, std::size_t>> scored;  // (faiss distance, slot)
  auto score_slot = [&](std::size_t slot) {
    const float* x = xb + slot * dim_;
    float d;
    if (metric_ == Metric::kEuclidean) {
      d = 0;
      for (std::size_t i = 0; i < dim_; ++i) d += (x[i] - q[i]) * (x[i] - q[i]);
    } else {
      detail::dot_rows(x, 1, dim_, q, &d);
    }
    scored.emplace_back(d, slot);
  };
  if (filter && filter->is_allow_list()) {
    for (std::int64_t id : filter->allowed_ids()) {
      if (auto it = slot_of_.find(id); it != slot_of_.end()) score_slot(static_cast<std::size_t>(it->second));
    }
  } else {
    for (std::size_t slot = 0; slot < slot_ids_.size(); ++slot) {
      if (alive_[slot] && (!filter || filter->allows(slot_ids_[slot]))) score_slot(slot);
    }
  }
  const bool l2 = metric_ == Metric::kEuclidean;
  const std::size_t found = std::min(k, scored.size());
  std::partial_sort(scored.begin(), scored.begin() + static_cast<std::ptrdiff_t>(found), scored.end(),
                    [l2](const auto& a, const auto& b) {
                      if (a.first != b.first) return l2 ? a.first < b.first : a.first > b.first;
                      return a.second < b.second;
                    });
  std::vector<Neighbor> out(found);
  for (std::size_t i = 0; i < found; ++i) out[i] = {slot_ids_[scored[i].second], to_score(scored[i].first)};
  return out;
}

std::vector<Neighbor> FaissIndex::search(std::span<const float> query, std::size_t k,
                                         const SearchParams& params) const {
  return search_batch(query, k, params, 1).front();
}

std::vector<std::vector<Neighbor>> FaissIndex::search_batch(std::span<const float> queries, std::size_t k,
                                                            const SearchParams& params,
                                                            std::size_t threads) const {
  if (queries.size() % dim_ != 0 || queries.empty()) {
    throw Error(fmt::format("query has {} values, the index has dim {}", queries.size(), dim_));
  }
  const std::size_t nq = queries.size() / dim_;
  for (std::size_t i = 0; i < nq; ++i) detail::check_query(queries.subspan(i * dim_, dim_), dim_);
  if (params.metric && *params.metric != metric_) {
    throw Error(fmt::format("FaissIndex built for {} cannot search by {}", metric_name(metric_),
                            metric_name(*params.metric)),
                ErrorKind::kUnsupported);
  }
  std::vector<std::vector<Neighbor>> results(nq);
  if (k == 0 || slot_of_.empty()) return results;
  const std::vector<float> q = prepare(queries);
  const IdFilter* filter = params.filter;
  if (filter && filter->is_allow_list() && filter->allowed_ids().size() <= settings_.exact_filter_max) {
    for (std::size_t i = 0; i < nq; ++i) results[i] = brute_force(&q[i * dim_], k, filter);
    return results;
  }
  const std::size_t kq = std::min<std::size_t>(k, slot_ids_.size());
  LiveSelector selector;
  selector.alive = &alive_;
  selector.slot_ids = &slot_ids_;
  selector.filter = filter;
  faiss::SearchParametersHNSW sp;
  sp.efSearch = std::max(settings_.ef_search, static_cast<int>(kq));
  sp.sel = (filter || tombstones() > 0) ? &selector : nullptr;
  std::vector<float> distances(nq * kq);
  std::vector<FaissId> slots(nq * kq);
  // A single query gains nothing from a team of threads and, on a busy machine, waits for them to be
  // scheduled (milliseconds). omp_set_num_threads changes only this thread's next parallel regions.
  const int saved_threads = omp_get_max_threads();
  if (threads != 0 || nq == 1) omp_set_num_threads(nq == 1 ? 1 : static_cast<int>(threads));
  try {
    hnsw_->search(static_cast<FaissId>(nq), q.data(), static_cast<FaissId>(kq), distances.data(),
                  slots.data(), &sp);
  } catch (const faiss::FaissException& e) {
    omp_set_num_threads(saved_threads);
    throw Error(fmt::format("FaissIndex::search: {}", e.what()), ErrorKind::kIo);
  }
  omp_set_num_threads(saved_threads);
  const std::size_t want = std::min(k, slot_of_.size());
  for (std::size_t i = 0; i < nq; ++i) {
    auto& out = results[i];
    for (std::size_t j = 0; j < kq; ++j) {
      const FaissId slot = slots[i * kq + j];
      if (slot < 0 || !selector.is_member(slot)) continue;
      out.push_back({slot_ids_[static_cast<std::size_t>(slot)], to_score(distances[i * kq + j])});
    }
    // The graph found too few matches (a selective filter): scan the matching items instead.
    if (out.size() < want) out = brute_force(&q[i * dim_], k, filter);
  }
  return results;
}

void FaissIndex::rebuild() {
  auto fresh = make_hnsw(dim_, metric_, settings_);
  std::vector<std::int64_t> ids;
  std::vector<float> vectors;
  const float* xb = stored_vectors(*hnsw_);
  for (std::size_t slot = 0; slot < slot_ids_.size(); ++slot) {
    if (!alive_[slot]) continue;
    ids.push_back(slot_ids_[slot]);
    vectors.insert(vectors.end(), xb + slot * dim_, xb + (slot + 1) * dim_);
  }
  if (!ids.empty()) fresh->add(static_cast<FaissId>(ids.size()), vectors.data());
  hnsw_ = std::move(fresh);
  slot_ids_ = ids;
  alive_.assign(ids.size(), 1);
  slot_of_.clear();
  for (std::size_t slot = 0; slot < ids.size(); ++slot) slot_of_.emplace(ids[slot], slot);
}

std::size_t FaissIndex::memory_bytes() const {
  const auto& g = hnsw_->hnsw;
  return static_cast<std::size_t>(hnsw_->ntotal) * dim_ * sizeof(float) +
         g.neighbors.capacity() * sizeof(int) + g.levels.capacity() * sizeof(int) +
         g.offsets.capacity() * sizeof(std::size_t) + slot_ids_.capacity() * sizeof(std::int64_t) +
         alive_.capacity() + slot_of_.size() * (2 * sizeof(std::int64_t) + 2 * sizeof(void*)) +
         slot_of_.bucket_count() * sizeof(void*);
}

void FaissIndex::write_state(ByteWriter& out) const {
  out.put<std::int32_t>(settings_.neighbors_per_node);
  out.put<std::int32_t>(settings_.ef_construction);
  out.put<std::int32_t>(settings_.ef_search);
  out.put<std::uint64_t>(settings_.exact_filter_max);
  out.put_array<std::int64_t>(slot_ids_);
  out.put_array<std::uint8_t>(alive_);
  faiss::VectorIOWriter blob;
  faiss::write_index(hnsw_.get(), &blob);
  out.put_array<std::uint8_t>(blob.data);
}

FaissIndex FaissIndex::read_state(ByteReader& in, std::string_view payload, std::size_t dim, Metric metric) {
  HnswSettings s;
  s.neighbors_per_node = in.get<std::int32_t>();
  s.ef_construction = in.get<std::int32_t>();
  s.ef_search = in.get<std::int32_t>();
  s.exact_filter_max = in.get<std::uint64_t>();
  // M bounded too: FAISS sizes its level table from it in int arithmetic (2 * M would overflow).
  if (s.neighbors_per_node < 2 || s.neighbors_per_node > kMaxNeighborsPerNode || s.ef_construction < 1 ||
      s.ef_construction > kMaxCandidates || s.ef_search < 1 || s.ef_search > kMaxCandidates) {
    in.fail("invalid HNSW settings");
  }
  FaissIndex index(dim, metric, s);
  index.slot_ids_ = in.get_array<std::int64_t>();
  index.alive_ = in.get_array<std::uint8_t>();
  const auto blob_bytes = in.get<std::uint64_t>();
  if (blob_bytes > in.remaining()) {
    in.fail("truncated: an array of " + std::to_string(blob_bytes) + " runs past the end");
  }
  if (blob_bytes < in.remaining()) in.fail("trailing bytes after the payload");
  ViewIOReader blob(payload.substr(payload.size() - blob_bytes));
  if (const auto problem = hnsw_blob_problem(blob.bytes)) in.fail("FAISS graph unreadable: " + *problem);
  std::unique_ptr<faiss::Index> loaded;
  try {
    loaded.reset(faiss::read_index(&blob));
  } catch (const faiss::FaissException& e) {
    in.fail(fmt::format("FAISS graph unreadable: {}", e.what()));
  }
  auto* hnsw = dynamic_cast<faiss::IndexHNSWFlat*>(loaded.get());
  const auto want_type = metric == Metric::kEuclidean ? faiss::METRIC_L2 : faiss::METRIC_INNER_PRODUCT;
  if (!hnsw || hnsw->d != static_cast<int>(dim) || hnsw->metric_type != want_type ||
      static_cast<std::size_t>(hnsw->ntotal) != index.slot_ids_.size() ||
      index.alive_.size() != index.slot_ids_.size()) {
    in.fail("FAISS graph does not match the stored ids, dim or metric");
  }
  if (const auto problem = hnsw_problem(*hnsw)) in.fail("FAISS graph inconsistent: " + *problem);
  loaded.release();
  index.hnsw_.reset(hnsw);
  index.hnsw_->hnsw.efSearch = s.ef_search;
  index.slot_of_.reserve(index.slot_ids_.size());
  for (std::size_t slot = 0; slot < index.slot_ids_.size(); ++slot) {
    if (index.alive_[slot] && !index.slot_of_.emplace(index.slot_ids_[slot], slot).second) {
      in.fail(fmt::format("duplicate id {}", index.slot_ids_[slot]));
    }
  }
  return index;
}

std::vector<std::int64_t> FaissIndex::ids() const {
  std::vector<std::int64_t> live;
  live.reserve(slot_of_.size());
  for (std::size_t slot = 0; slot < slot_ids_.size(); ++slot) {
    if (alive_[slot]) live.push_back(slot_ids_[slot]);
  }
  return live;
}

}  // namespace mystyle::index
