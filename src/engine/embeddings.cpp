#include "mystyle/engine/embeddings.h"

#include <fmt/format.h>

#include <algorithm>
#include <functional>
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

/// The header of an embeddings file's bytes, checked (magic, version, dim, size, pooling).
Header checked_header(std::span<const std::uint8_t> bytes, const std::filesystem::path& path) {
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
  if (h.pooling != static_cast<std::uint32_t>(nn::LatentPooling::kFlat) &&
      h.pooling != static_cast<std::uint32_t>(nn::LatentPooling::kMean)) {
    throw corrupt(fmt::format("unknown pooling {}", h.pooling));
  }
  return h;
}

constexpr char kLogMagic[8] = {'M', 'S', 'T', 'Y', 'L', 'O', 'G', '1'};
constexpr std::size_t kLogHeaderBytes = 8 + 4 + 8;
constexpr std::uint8_t kPut = 1, kRemove = 2;

/// One record of an edit log: a put carries its row.
struct LogRecord {
  std::uint8_t op;
  std::int64_t id;
  std::span<const float> row;  ///< into the log's bytes (puts only)
};

/// The valid records of `bytes` (a whole log) for a file of `dim` and `model_hash`, and the length
/// they end at (a torn or damaged record ends the log). A log of another dim or model: none.
std::vector<LogRecord> parse_log(std::span<const std::uint8_t> bytes, int dim, std::uint64_t model_hash,
                                 std::size_t* valid_end, std::vector<float>& rows) {
  std::vector<LogRecord> records;
  *valid_end = 0;
  if (bytes.size() < kLogHeaderBytes || std::memcmp(bytes.data(), kLogMagic, 8) != 0) return records;
  std::uint32_t log_dim;
  std::uint64_t log_hash;
  std::memcpy(&log_dim, bytes.data() + 8, 4);
  std::memcpy(&log_hash, bytes.data() + 12, 8);
  if (log_dim != static_cast<std::uint32_t>(dim) || log_hash != model_hash) return records;
  std::size_t at = kLogHeaderBytes;
  *valid_end = at;
  const std::size_t row_bytes = static_cast<std::size_t>(dim) * sizeof(float);
  std::vector<std::pair<std::size_t, std::size_t>> row_at;  // (record, offset of its row in `rows`)
  while (at + 1 + 8 + 8 <= bytes.size()) {
    const std::uint8_t op = bytes[at];
    if (op != kPut && op != kRemove) break;
    const std::size_t body = 1 + 8 + (op == kPut ? row_bytes : 0);
    if (at + body + 8 > bytes.size()) break;
    std::uint64_t sum;
    std::memcpy(&sum, bytes.data() + at + body, 8);
    if (fnv1a64(std::string_view(reinterpret_cast<const char*>(bytes.data() + at), body)) != sum) break;
    LogRecord r{op, 0, {}};
    std::memcpy(&r.id, bytes.data() + at + 1, 8);
    if (op == kPut) {
      row_at.emplace_back(records.size(), rows.size());
      rows.resize(rows.size() + static_cast<std::size_t>(dim));
      std::memcpy(rows.data() + rows.size() - static_cast<std::size_t>(dim), bytes.data() + at + 9, row_bytes);
    }
    records.push_back(r);
    at += body + 8;
    *valid_end = at;
  }
  for (const auto& [record, offset] : row_at)  // `rows` is complete: spans into it stay valid now
    records[record].row = {rows.data() + offset, static_cast<std::size_t>(dim)};
  return records;
}

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
const EmbeddingsHeader& view_of(const EmbeddingsHeader& h) { return h; }

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

EmbeddingsHeader current_embeddings_header(const Workspace& workspace, const std::string& model,
                                           nn::LatentPooling pooling, std::uint64_t source_hash) {
  return open_current(workspace, model, pooling, source_hash,
                      [](const std::filesystem::path& p) { return read_embeddings_header(p); });
}

void save_embeddings(const std::filesystem::path& path, const EmbeddingsView& e) {
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
  // The content holds the log's edits: the log goes (killed before this, a reader applies the log
  // again to the same rows and gets the same content).
  std::error_code ec;
  std::filesystem::remove(edit_log_file(path), ec);
}

bool fold_embedding_log(const std::filesystem::path& path, const std::filesystem::path& lock_file) {
  std::error_code ec;
  if (!std::filesystem::exists(edit_log_file(path), ec)) return false;
  const FileLock lock(lock_file);
  // The checksum pass (a read of the whole file) only when there is something to fold: a start
  // that folds nothing checksums the file once, in the open that serves it.
  const MappedEmbeddings mapped = MappedEmbeddings::open(path, MappedEmbeddings::Checksum::kLater);
  if (!mapped.copied()) return false;
  mapped.verify();  // never write a damaged file's rows out under a new checksum
  save_embeddings(path, mapped.view());
  return true;
}

std::filesystem::path edit_log_file(const std::filesystem::path& embeddings_file) {
  auto p = embeddings_file;
  p += ".log";
  return p;
}

std::size_t edit_log_fold_rows(std::uint64_t file_rows) {
  return std::max<std::size_t>(4096, static_cast<std::size_t>(file_rows / 64));
}

EmbeddingsHeader read_embeddings_header(const std::filesystem::path& path) {
  if (!std::filesystem::exists(path))
    throw Error(fmt::format("{}: no embeddings file", path.string()), ErrorKind::kNotFound);
  const MappedFile file(path);  // the header's page alone is read
  const Header h = checked_header(file.bytes(), path);
  return {static_cast<int>(h.dim), h.count, h.model_hash, static_cast<nn::LatentPooling>(h.pooling)};
}

bool append_embedding_edits(const std::filesystem::path& path, const EmbeddingEdits& edits) {
  const EmbeddingsHeader header = read_embeddings_header(path);
  const auto d = static_cast<std::size_t>(header.dim);
  if (edits.put_vectors.size() != edits.put_ids.size() * d) {
    throw Error(fmt::format("{}: {} numbers for {} rows of {}", path.string(), edits.put_vectors.size(),
                            edits.put_ids.size(), d),
                ErrorKind::kInvalidInput);
  }
  const auto log_path = edit_log_file(path);
  std::string log;
  std::error_code ec;
  if (std::filesystem::exists(log_path, ec)) log = read_file_bytes(log_path);
  std::size_t valid_end = 0;
  std::vector<float> rows;
  const std::size_t records =
      parse_log({reinterpret_cast<const std::uint8_t*>(log.data()), log.size()}, header.dim, header.model_hash,
                &valid_end, rows)
          .size();
  std::string append;
  if (valid_end == 0) {  // no log, or one of another model: start it
    append.append(kLogMagic, 8);
    const auto dim32 = static_cast<std::uint32_t>(header.dim);
    append.append(reinterpret_cast<const char*>(&dim32), 4);
    append.append(reinterpret_cast<const char*>(&header.model_hash), 8);
  }
  auto record = [&](std::uint8_t op, std::int64_t id, const float* row) {
    const std::size_t start = append.size();
    append.push_back(static_cast<char>(op));
    append.append(reinterpret_cast<const char*>(&id), 8);
    if (row != nullptr) append.append(reinterpret_cast<const char*>(row), d * sizeof(float));
    const std::uint64_t sum = fnv1a64(std::string_view(append).substr(start));
    append.append(reinterpret_cast<const char*>(&sum), 8);
  };
  for (const std::int64_t id : edits.removed) record(kRemove, id, nullptr);
  for (std::size_t i = 0; i < edits.put_ids.size(); ++i) record(kPut, edits.put_ids[i], &edits.put_vectors[i * d]);
  append_file_durably(log_path, valid_end, append);
  if (records + edits.removed.size() + edits.put_ids.size() <= edit_log_fold_rows(header.count)) return false;
  save_embeddings(path, load_embeddings(path));  // the fold: the file with the log applied, then no log
  return true;
}

MappedEmbeddings MappedEmbeddings::open(const std::filesystem::path& path, Checksum checksum) {
  MappedEmbeddings out;
  out.file_ = MappedFile(path);
  out.path_ = path;
  const auto bytes = out.file_.bytes();
  const Header h = checked_header(bytes, path);
  out.checksum_ = h.checksum;
  if (checksum == Checksum::kNow) out.verify();
  out.dim_ = static_cast<int>(h.dim);
  out.model_hash_ = h.model_hash;
  out.pooling_ = static_cast<nn::LatentPooling>(h.pooling);
  if (h.count == 0) return out;  // memcpy into an empty vector's null data() is undefined (UBSan)
  out.ids_.resize(h.count);
  std::memcpy(out.ids_.data(), bytes.data() + sizeof(Header), h.count * sizeof(std::int64_t));
  // Every reader looks ids up by binary search and merges by order: a file whose ids are not strictly
  // ascending is damaged, whatever its checksum says (found by fuzz/embeddings_fuzzer).
  if (std::adjacent_find(out.ids_.begin(), out.ids_.end(), std::greater_equal<>()) != out.ids_.end()) {
    throw Error(fmt::format("{}: not a valid embeddings file (ids not in ascending order); run `mystyle embed` again",
                            path.string()),
                ErrorKind::kCorrupt);
  }
  // The mapping is page-aligned and the header 44 bytes, so the vectors start 4-byte aligned.
  static_assert(sizeof(Header) % alignof(float) == 0);
  out.vectors_ =
      reinterpret_cast<const float*>(bytes.data() + sizeof(Header) + h.count * sizeof(std::int64_t));
  out.apply_log();
  return out;
}

void MappedEmbeddings::apply_log() {
  const auto log_path = edit_log_file(path_);
  std::error_code ec;
  if (!std::filesystem::exists(log_path, ec)) return;
  const std::string log = read_file_bytes(log_path);
  std::size_t valid_end = 0;
  std::vector<float> rows;
  const auto records = parse_log({reinterpret_cast<const std::uint8_t*>(log.data()), log.size()}, dim_,
                                 model_hash_, &valid_end, rows);
  if (records.empty()) return;
  log_digest_ = fnv1a64(std::string_view(log).substr(0, valid_end)) | 1;  // never 0: 0 is "no log"
  // The last record of each id decides it: its row, or gone.
  std::unordered_map<std::int64_t, std::span<const float>> last;
  for (const LogRecord& r : records) last[r.id] = r.row;
  for (const auto& [id, row] : last) {
    if (!row.empty()) log_puts_.push_back(id);
  }
  std::ranges::sort(log_puts_);
  // Items added and deleted again since the last fold change nothing: when that is all the log says,
  // the mapping serves as it is (no copy of the file in memory).
  std::erase_if(last, [&](const auto& entry) {
    return entry.second.empty() && !std::ranges::binary_search(ids_, entry.first);
  });
  log_records_ = records.size();
  if (last.empty()) return;
  const auto d = static_cast<std::size_t>(dim_);
  std::vector<std::pair<std::int64_t, std::span<const float>>> puts;
  for (const auto& [id, row] : last)
    if (!row.empty()) puts.emplace_back(id, row);
  std::ranges::sort(puts, {}, &std::pair<std::int64_t, std::span<const float>>::first);
  // One pass, ids ascending: the file's rows the log does not touch, merged with the log's puts.
  std::vector<std::int64_t> merged_ids;
  std::vector<float> merged;
  merged_ids.reserve(ids_.size() + puts.size());
  merged.reserve((ids_.size() + puts.size()) * d);
  std::size_t i = 0, j = 0;
  while (i < ids_.size() || j < puts.size()) {
    if (i < ids_.size() && last.contains(ids_[i])) {
      ++i;
    } else if (j == puts.size() || (i < ids_.size() && ids_[i] < puts[j].first)) {
      merged_ids.push_back(ids_[i]);
      merged.insert(merged.end(), vectors_ + i * d, vectors_ + (i + 1) * d);
      ++i;
    } else {
      merged_ids.push_back(puts[j].first);
      merged.insert(merged.end(), puts[j].second.begin(), puts[j].second.end());
      ++j;
    }
  }
  ids_ = std::move(merged_ids);
  owned_ = std::move(merged);
  vectors_ = owned_.empty() ? nullptr : owned_.data();
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
  v.file_digest = checksum_;
  v.log_digest = log_digest_;
  v.log_puts = log_puts_;
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
