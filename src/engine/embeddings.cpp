#include "mystyle/engine/embeddings.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <limits>
#include <thread>
#include <unordered_map>

#include "mystyle/catalog/catalog.h"
#include "mystyle/core/error.h"
#include "mystyle/core/file_io.h"
#include "mystyle/core/progress.h"
#include "mystyle/core/threads.h"
#include "mystyle/engine/image_cache.h"
#include "mystyle/nn/context.h"
#include "mystyle/nn/model_file.h"

namespace mystyle::engine {
namespace {

constexpr char kMagic[8] = {'M', 'S', 'T', 'Y', 'E', 'M', 'B', '1'};
constexpr std::uint32_t kVersion = 1;
constexpr int kEncodeBatch = 256;

#pragma pack(push, 1)
struct Header {
  char magic[8];
  std::uint32_t version;
  std::uint32_t dim;
  std::uint64_t count;
  std::uint64_t model_hash;
  std::uint32_t pooling;
  std::uint64_t checksum;
};
#pragma pack(pop)

}  // namespace

std::string pooling_name(nn::LatentPooling pooling) {
  return pooling == nn::LatentPooling::kFlat ? "flat" : "mean";
}

nn::LatentPooling parse_pooling(const std::string& name) {
  if (name == "flat") return nn::LatentPooling::kFlat;
  if (name == "mean") return nn::LatentPooling::kMean;
  throw Error(fmt::format("unknown pooling '{}': expected flat or mean", name));
}

std::uint64_t embedding_source_hash(std::string_view model_bytes, int image_side_px) {
  image::PreprocessOptions pipeline;
  pipeline.image_side_px = image_side_px;
  std::string text(model_bytes);
  text += '\n';
  text += pipeline_fingerprint(pipeline);
  return fnv1a64(text);
}

EmbeddingModel load_embedding_model(const Workspace& workspace, const std::string& model) {
  const auto path = workspace.model_file(model);
  if (!std::filesystem::exists(path)) {
    throw Error(
        fmt::format("{}: no trained model; run `mystyle train --model {}` first", path.string(), model),
        ErrorKind::kNotFound);
  }
  const std::string bytes = read_file_bytes(path);
  nn::Model loaded = nn::load_model(path);
  loaded.set_serving(true);
  const std::uint64_t hash = embedding_source_hash(bytes, loaded.spec().image_side_px);
  return {std::move(loaded), hash};
}

namespace {

EmbeddingsView view_of(const Embeddings& e) {
  return e;
}
EmbeddingsView view_of(const MappedEmbeddings& e) {
  return e.view();
}

/// The embeddings file of (model, pooling), opened by `open_file` and checked against `source_hash`.
template <class Open>
auto open_current(const Workspace& workspace, const std::string& model, nn::LatentPooling pooling,
                  std::uint64_t source_hash, Open open_file) {
  const std::string pooling_text = pooling_name(pooling);
  const auto path = workspace.embeddings_file(model, pooling_text);
  if (!std::filesystem::exists(path)) {
    throw Error(fmt::format("{}: no embeddings; run `mystyle embed --model {} --pooling {}` first",
                            path.string(), model, pooling_text),
                ErrorKind::kNotFound);
  }
  auto e = open_file(path);
  if (view_of(e).model_hash != source_hash) {
    throw Error(fmt::format("{}: made by another {} model or image pipeline; run `mystyle embed --model {} "
                            "--pooling {}` again",
                            path.string(), model, model, pooling_text),
                ErrorKind::kCorrupt);
  }
  return e;
}

}  // namespace

Embeddings load_current_embeddings(const Workspace& workspace, const std::string& model,
                                   nn::LatentPooling pooling, std::uint64_t source_hash) {
  return open_current(workspace, model, pooling, source_hash,
                      [](const std::filesystem::path& p) { return load_embeddings(p); });
}

MappedEmbeddings map_current_embeddings(const Workspace& workspace, const std::string& model,
                                        nn::LatentPooling pooling, std::uint64_t source_hash,
                                        MappedEmbeddings::Checksum checksum) {
  return open_current(workspace, model, pooling, source_hash, [checksum](const std::filesystem::path& p) {
    return MappedEmbeddings::open(p, checksum);
  });
}

void save_embeddings(const std::filesystem::path& path, const Embeddings& e) {
  // One buffer, the header first and its checksum filled in last: at a million items the payload is
  // 520 MB, and a payload string then header + payload was one more copy of it on every admin edit.
  const std::size_t id_bytes = e.ids.size() * sizeof(std::int64_t);
  const std::size_t vector_bytes = e.vectors.size() * sizeof(float);
  std::string file;
  file.reserve(sizeof(Header) + id_bytes + vector_bytes);
  file.resize(sizeof(Header));
  if (id_bytes > 0) file.append(reinterpret_cast<const char*>(e.ids.data()), id_bytes);
  if (vector_bytes > 0) file.append(reinterpret_cast<const char*>(e.vectors.data()), vector_bytes);
  Header h{};
  std::memcpy(h.magic, kMagic, sizeof kMagic);
  h.version = kVersion;
  h.dim = static_cast<std::uint32_t>(e.dim);
  h.count = e.ids.size();
  h.model_hash = e.model_hash;
  h.pooling = static_cast<std::uint32_t>(e.pooling);
  h.checksum = fnv1a64(std::string_view(file).substr(sizeof(Header)));
  std::memcpy(file.data(), &h, sizeof h);
  write_file_atomic(path, file);
}

MappedEmbeddings MappedEmbeddings::open(const std::filesystem::path& path, Checksum checksum) {
  MappedEmbeddings out;
  out.file_ = MappedFile(path);
  out.path_ = path;
  const auto bytes = out.file_.bytes();
  auto corrupt = [&](const std::string& why) {
    return Error(
        fmt::format("{}: not a valid embeddings file ({}); run `mystyle embed` again", path.string(), why),
        ErrorKind::kCorrupt);
  };
  if (bytes.size() < sizeof(Header)) throw corrupt("too short");
  Header h;
  std::memcpy(&h, bytes.data(), sizeof h);
  if (std::memcmp(h.magic, kMagic, sizeof kMagic) != 0) throw corrupt("wrong magic");
  if (h.version != kVersion) throw corrupt(fmt::format("version {}, expected {}", h.version, kVersion));
  if (h.dim == 0 || h.dim > static_cast<std::uint32_t>(std::numeric_limits<int>::max()))
    throw corrupt(fmt::format("implausible dim {}", h.dim));
  // Division, not multiplication: a huge count once wrapped the product around to the file's real
  // size and passed, then failed allocating with std::length_error (found by fuzz/embeddings_fuzzer).
  const std::size_t row_bytes = sizeof(std::int64_t) + std::size_t{h.dim} * sizeof(float);
  const std::size_t payload = bytes.size() - sizeof(Header);
  if (payload % row_bytes != 0 || payload / row_bytes != h.count)
    throw corrupt("size does not match the header");
  out.checksum_ = h.checksum;
  if (checksum == Checksum::kNow) out.verify();
  if (h.pooling != static_cast<std::uint32_t>(nn::LatentPooling::kFlat) &&
      h.pooling != static_cast<std::uint32_t>(nn::LatentPooling::kMean)) {
    throw corrupt(fmt::format("unknown pooling {}", h.pooling));
  }
  out.dim_ = static_cast<int>(h.dim);
  out.model_hash_ = h.model_hash;
  out.pooling_ = static_cast<nn::LatentPooling>(h.pooling);
  if (h.count == 0) return out;  // memcpy into an empty vector's null data() is undefined (UBSan)
  out.ids_.resize(h.count);
  std::memcpy(out.ids_.data(), bytes.data() + sizeof(Header), h.count * sizeof(std::int64_t));
  // The mapping is page-aligned and the header 44 bytes, so the vectors start 4-byte aligned.
  static_assert(sizeof(Header) % alignof(float) == 0);
  out.vectors_ =
      reinterpret_cast<const float*>(bytes.data() + sizeof(Header) + h.count * sizeof(std::int64_t));
  return out;
}

void MappedEmbeddings::verify() const {
  const auto bytes = file_.bytes();
  const std::string_view payload(reinterpret_cast<const char*>(bytes.data()) + sizeof(Header),
                                 bytes.size() - sizeof(Header));
  if (fnv1a64(payload) != checksum_) {
    throw Error(fmt::format("{}: not a valid embeddings file (checksum mismatch); run `mystyle embed` again",
                            path_.string()),
                ErrorKind::kCorrupt);
  }
}

EmbeddingsView MappedEmbeddings::view() const {
  EmbeddingsView v;
  v.dim = dim_;
  v.model_hash = model_hash_;
  v.pooling = pooling_;
  v.ids = ids_;
  if (vectors_ != nullptr) v.vectors = {vectors_, ids_.size() * static_cast<std::size_t>(dim_)};
  return v;
}

Embeddings load_embeddings(const std::filesystem::path& path) {
  const MappedEmbeddings mapped = MappedEmbeddings::open(path);
  const EmbeddingsView v = mapped.view();
  Embeddings e;
  e.dim = v.dim;
  e.model_hash = v.model_hash;
  e.pooling = v.pooling;
  e.ids.assign(v.ids.begin(), v.ids.end());
  e.vectors.assign(v.vectors.begin(), v.vectors.end());
  return e;
}

EmbedReport embed_catalog(const Workspace& workspace, const std::string& model_name,
                          nn::LatentPooling pooling, int threads) {
  const auto start = std::chrono::steady_clock::now();
  // The admin API's edits merge rows into the same files: one writer at a time.
  const FileLock lock(workspace.write_lock_file());
  threads = thread_count(threads);
  nn::set_num_threads(threads);
  auto [model, model_hash] = load_embedding_model(workspace, model_name);

  catalog::Catalog cat(workspace.root());
  const auto items = cat.all_items();
  image::PreprocessOptions preprocess;
  preprocess.image_side_px = model.spec().image_side_px;
  const ImageCache cache = ImageCache::build(workspace.root(), items, preprocess, threads);
  const nn::ImageSet images = cache.images();

  EmbedReport report;
  report.path = workspace.embeddings_file(model_name, pooling_name(pooling));
  report.dim = model.feature_size(pooling);
  Embeddings out;
  out.dim = report.dim;
  out.model_hash = model_hash;
  out.pooling = pooling;
  out.ids.assign(cache.item_ids().begin(), cache.item_ids().end());
  out.vectors.resize(out.ids.size() * out.dim);

  std::unordered_map<std::int64_t, std::size_t> previous_row;
  Embeddings previous;
  if (std::filesystem::exists(report.path)) {
    previous = load_embeddings(report.path);
    if (previous.model_hash == model_hash && previous.dim == out.dim && previous.pooling == pooling) {
      for (std::size_t i = 0; i < previous.size(); ++i) previous_row.emplace(previous.ids[i], i);
    }
  }
  std::vector<std::uint32_t> todo;
  for (std::uint32_t i = 0; i < out.ids.size(); ++i) {
    if (auto it = previous_row.find(out.ids[i]); it != previous_row.end()) {
      std::ranges::copy(previous.row(it->second),
                        out.vectors.begin() + static_cast<std::ptrdiff_t>(i) * out.dim);
    } else {
      todo.push_back(i);
    }
  }
  report.newly_encoded = todo.size();
  Progress progress("encoding items", static_cast<std::int64_t>(todo.size()), "images");
  std::vector<float> batch, features;
  for (std::size_t s = 0; s < todo.size(); s += kEncodeBatch) {
    const std::size_t n = std::min<std::size_t>(kEncodeBatch, todo.size() - s);
    const auto indices = std::span(todo).subspan(s, n);
    batch.resize(n * images.image_floats());
    features.resize(n * out.dim);
    images.gather(indices, batch);
    model.encode(batch, static_cast<int>(n), pooling, features);
    for (std::size_t k = 0; k < n; ++k) {
      std::copy_n(features.begin() + static_cast<std::ptrdiff_t>(k) * out.dim, out.dim,
                  out.vectors.begin() + static_cast<std::ptrdiff_t>(indices[k]) * out.dim);
    }
    progress.advance(static_cast<std::int64_t>(n));
  }
  progress.finish();
  save_embeddings(report.path, out);
  report.items = out.size();
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return report;
}

void export_embeddings_csv(const Workspace& workspace, const Embeddings& e,
                           const std::filesystem::path& out) {
  catalog::Catalog cat(workspace.root());
  std::string csv = "item_source_id";
  for (int d = 1; d <= e.dim; ++d) csv += fmt::format(",v{}", d);
  csv += '\n';
  for (std::size_t i = 0; i < e.size(); ++i) {
    const auto item = cat.find_item(e.ids[i]);
    csv += item ? item->source_id : std::to_string(e.ids[i]);
    for (float v : e.row(i)) csv += fmt::format(",{:.7g}", v);
    csv += '\n';
  }
  write_file_atomic(out, csv);
}

}  // namespace mystyle::engine
