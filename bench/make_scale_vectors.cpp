// The second half of the scale benchmark's workspace (bench/scale_bench.sh), after
// `mystyle import csv` of make_scale_catalog's CSVs: the `style` model file and one embedding per
// catalog item, in the files `mystyle embed` writes (embeddings/style-flat.bin, no edited views).
//
// Items with a photo are encoded by the model exactly as `mystyle embed` does (the shared image
// cache and pipeline). The others get a vector drawn from a Gaussian mixture, one component per
// (product type, colour group), renormalised to unit length as the model's codes are:
// - with --fit-from WS (a workspace with a trained style model and its embeddings, e.g. MANGO after
//   `./run demo`): the model file is copied from WS and each component is fitted to WS's real
//   embeddings of that type and colour (its mean, and its covariance shrunk towards its type's,
//   which is shrunk towards the whole catalog's: sum n S + k parent over n + k, k = dim);
// - without: a freshly initialised (untrained) style model is saved, and the components form a
//   seeded clustered mixture on the unit sphere per product type (a 16-d latent Gaussian mixture
//   mapped to 128-d, as bench/index_bench draws its vectors).
// Near-duplicate designs (issue 25: recall where it is hard): a real shop sells one design in several
// colours, whose codes lie close together. Each item with a photo gets --near-duplicates other items of
// its type (default 8) as its design's other colours: the photo's code plus Gaussian noise of scale
// sigma / sqrt(dim), sigma spread evenly over [0.1, 0.35] (cosine to the photo's code about 0.995 down
// to 0.94), renormalised. A query with that photo then has nine catalog items within a few hundredths
// of each other, which HNSW must rank exactly as the exact index does.
// Prints the same-type and random-pair cosine quantiles of the real (when fitted) and the drawn
// vectors, so the two distributions can be compared.
//
// Usage: make_scale_vectors --workspace WS [--fit-from TRAINED_WS] [--seed 1] [--threads 0]
//                           [--near-duplicates 8]
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "mystyle/catalog/catalog.h"
#include "mystyle/core/error.h"
#include "mystyle/core/file_io.h"
#include "mystyle/core/progress.h"
#include "mystyle/core/threads.h"
#include "mystyle/engine/embeddings.h"
#include "mystyle/engine/image_cache.h"
#include "mystyle/engine/match_strength.h"
#include "mystyle/nn/context.h"
#include "mystyle/nn/model_file.h"
#include "mystyle/nn/model_spec.h"

namespace {

using namespace mystyle;
namespace fs = std::filesystem;

constexpr const char* kModel = "style";
constexpr int kEncodeBatch = 256;
constexpr std::size_t kLatentDim = 16;  // the no-fit mixture's intrinsic dimension (as index_bench)

/// N(mean, factor factor^T); factor is lower-triangular, row-major dim x dim.
struct Component {
  std::vector<double> mean, factor;
};

std::string group_key(const catalog::Item& item) {
  return item.type + '\x1f' + item.colour;
}

/// Lower Cholesky factor of a symmetric positive semi-definite matrix (a little jitter when needed).
std::vector<double> cholesky(std::vector<double> a, std::size_t dim) {
  double trace = 0;
  for (std::size_t i = 0; i < dim; ++i) trace += a[i * dim + i];
  const double jitter = 1e-6 * std::max(trace / static_cast<double>(dim), 1e-12);
  for (std::size_t i = 0; i < dim; ++i) a[i * dim + i] += jitter;
  std::vector<double> l(dim * dim, 0.0);
  for (std::size_t j = 0; j < dim; ++j) {
    double d = a[j * dim + j];
    for (std::size_t k = 0; k < j; ++k) d -= l[j * dim + k] * l[j * dim + k];
    const double ljj = std::sqrt(std::max(d, jitter));
    l[j * dim + j] = ljj;
    for (std::size_t i = j + 1; i < dim; ++i) {
      double s = a[i * dim + j];
      for (std::size_t k = 0; k < j; ++k) s -= l[i * dim + k] * l[j * dim + k];
      l[i * dim + j] = s / ljj;
    }
  }
  return l;
}

struct Moments {
  std::size_t n = 0;
  std::vector<double> mean, cov;  // cov: the maximum-likelihood covariance about the mean (/ n)
};

Moments moments(const engine::Embeddings& e, const std::vector<std::size_t>& rows) {
  const auto dim = static_cast<std::size_t>(e.dim);
  Moments m{rows.size(), std::vector<double>(dim, 0.0), std::vector<double>(dim * dim, 0.0)};
  for (std::size_t r : rows) {
    for (std::size_t i = 0; i < dim; ++i) m.mean[i] += e.row(r)[i];
  }
  for (double& v : m.mean) v /= static_cast<double>(std::max<std::size_t>(m.n, 1));
  std::vector<double> c(dim);
  for (std::size_t r : rows) {
    for (std::size_t i = 0; i < dim; ++i) c[i] = e.row(r)[i] - m.mean[i];
    for (std::size_t i = 0; i < dim; ++i) {
      for (std::size_t j = 0; j <= i; ++j) m.cov[i * dim + j] += c[i] * c[j];
    }
  }
  for (std::size_t i = 0; i < dim; ++i) {
    for (std::size_t j = 0; j <= i; ++j) {
      m.cov[i * dim + j] /= static_cast<double>(std::max<std::size_t>(m.n, 1));
      m.cov[j * dim + i] = m.cov[i * dim + j];
    }
  }
  return m;
}

/// (n S + k parent) / (n + k): a group's covariance, trusting its own samples as they grow.
std::vector<double> shrink(const Moments& m, const std::vector<double>& parent, double k) {
  std::vector<double> out(parent.size());
  const double n = static_cast<double>(m.n);
  for (std::size_t i = 0; i < out.size(); ++i) out[i] = (n * m.cov[i] + k * parent[i]) / (n + k);
  return out;
}

/// Components fitted to a trained workspace's real embeddings, keyed by group_key(); "" is the whole
/// catalog's, a type alone its type's.
std::unordered_map<std::string, Component> fit_components(const engine::Workspace& fit,
                                                          const engine::Embeddings& real,
                                                          std::vector<std::string>* real_types) {
  catalog::Catalog cat(fit.root());
  std::unordered_map<std::int64_t, catalog::Item> items;
  for (auto& item : cat.all_items()) items.emplace(item.id, std::move(item));
  std::map<std::string, std::vector<std::size_t>> by_group, by_type;
  std::vector<std::size_t> all;
  real_types->assign(real.size(), std::string());  // "" for a row whose item is gone: in no type
  for (std::size_t r = 0; r < real.size(); ++r) {
    const auto it = items.find(real.ids[r]);
    if (it == items.end()) continue;
    by_group[group_key(it->second)].push_back(r);
    by_type[it->second.type].push_back(r);
    all.push_back(r);
    (*real_types)[r] = it->second.type;
  }
  if (all.size() < 2) throw Error(fmt::format("{}: too few embedded items to fit", fit.root().string()));
  const auto dim = static_cast<std::size_t>(real.dim);
  const double k = static_cast<double>(dim);
  std::unordered_map<std::string, Component> out;
  const Moments whole = moments(real, all);
  out[""] = {whole.mean, cholesky(whole.cov, dim)};
  std::unordered_map<std::string, std::vector<double>> type_cov;
  for (const auto& [type, rows] : by_type) {
    const Moments m = moments(real, rows);
    type_cov[type] = shrink(m, whole.cov, k);
    out[type] = {m.mean, cholesky(type_cov[type], dim)};
  }
  for (const auto& [key, rows] : by_group) {
    const Moments m = moments(real, rows);
    out[key] = {m.mean, cholesky(shrink(m, type_cov[key.substr(0, key.find('\x1f'))], k), dim)};
  }
  fmt::print("fitted {} components (type x colour) and {} per type to {} real embeddings of {}\n",
             by_group.size(), by_type.size(), all.size(), fit.root().string());
  return out;
}

/// The no-fit mixture: per type a latent centre, per colour an offset from it, mapped to `dim`.
std::unordered_map<std::string, Component> seeded_components(const std::vector<catalog::Item>& items,
                                                             std::size_t dim, std::uint64_t seed) {
  std::mt19937_64 rng(seed * 0x9E3779B97F4A7C15ull + 7);
  std::normal_distribution<double> normal;
  std::vector<double> map(kLatentDim * dim);
  for (double& w : map) w = normal(rng) / 4.0;  // 1/sqrt(kLatentDim)
  // Covariance of map^T (0.5 z) + 0.05 e: 0.25 map^T map + 0.0025 I.
  std::vector<double> cov(dim * dim, 0.0);
  for (std::size_t i = 0; i < dim; ++i) {
    for (std::size_t j = 0; j < dim; ++j) {
      for (std::size_t l = 0; l < kLatentDim; ++l)
        cov[i * dim + j] += 0.25 * map[l * dim + i] * map[l * dim + j];
    }
    cov[i * dim + i] += 0.0025;
  }
  const std::vector<double> factor = cholesky(cov, dim);
  std::map<std::string, std::vector<double>> type_centre;
  std::unordered_map<std::string, Component> out;
  for (const auto& item : items) {
    const std::string key = group_key(item);
    if (out.contains(key)) continue;
    auto& centre = type_centre[item.type];
    if (centre.empty()) {
      for (std::size_t l = 0; l < kLatentDim; ++l) centre.push_back(normal(rng));
    }
    std::vector<double> latent(kLatentDim), mean(dim, 0.0);
    for (std::size_t l = 0; l < kLatentDim; ++l) latent[l] = centre[l] + 0.5 * normal(rng);
    for (std::size_t i = 0; i < dim; ++i) {
      for (std::size_t l = 0; l < kLatentDim; ++l) mean[i] += latent[l] * map[l * dim + i];
    }
    out[key] = {std::move(mean), factor};
  }
  fmt::print("seeded clustered mixture: {} components (type x colour) over {} types\n", out.size(),
             type_centre.size());
  return out;
}

void draw(const Component& c, std::mt19937_64& rng, std::span<float> out) {
  std::normal_distribution<double> normal;
  const std::size_t dim = out.size();
  std::vector<double> z(dim), x(c.mean);
  for (double& v : z) v = normal(rng);
  for (std::size_t i = 0; i < dim; ++i) {
    const double* row = &c.factor[i * dim];
    double s = 0;
    for (std::size_t j = 0; j <= i; ++j) s += row[j] * z[j];
    x[i] += s;
  }
  double norm = 0;
  for (double v : x) norm += v * v;
  norm = std::sqrt(norm);
  for (std::size_t i = 0; i < dim; ++i) out[i] = static_cast<float>(x[i] / norm);
}

/// Gives each photo item `per_photo` drawn items of its type as near-duplicates (the file's comment).
void add_near_duplicates(const std::vector<catalog::Item>& items, const std::vector<bool>& encoded,
                         std::size_t per_photo, std::uint64_t seed, engine::Embeddings& out) {
  if (per_photo == 0) return;
  const auto dim = static_cast<std::size_t>(out.dim);
  std::unordered_map<std::string, std::vector<std::size_t>> drawn_of_type;
  for (std::size_t r = 0; r < items.size(); ++r) {
    if (!encoded[r]) drawn_of_type[items[r].type].push_back(r);
  }
  std::vector<bool> taken(items.size(), false);
  std::size_t made = 0, photos = 0;
  double lowest = 1, highest = -1;
  std::normal_distribution<double> normal;
  std::vector<double> x(dim);
  for (std::size_t r = 0; r < items.size(); ++r) {
    if (!encoded[r]) continue;
    const auto pool = drawn_of_type.find(items[r].type);
    if (pool == drawn_of_type.end()) continue;
    ++photos;
    std::mt19937_64 rng(seed ^ (static_cast<std::uint64_t>(items[r].id) * 0xD1B54A32D192ED03ull));
    const std::span<const float> code(out.vectors.data() + r * dim, dim);
    for (std::size_t j = 0, tries = 0; j < per_photo && tries < 64 * per_photo; ++tries) {
      const std::size_t s = pool->second[rng() % pool->second.size()];
      if (taken[s]) continue;
      taken[s] = true;
      const double sigma =
          0.1 + 0.25 * static_cast<double>(j) / static_cast<double>(std::max<std::size_t>(per_photo - 1, 1));
      double norm = 0;
      for (std::size_t i = 0; i < dim; ++i) {
        x[i] = code[i] + sigma * normal(rng) / std::sqrt(static_cast<double>(dim));
        norm += x[i] * x[i];
      }
      norm = std::sqrt(norm);
      double cosine = 0;
      float* row = out.vectors.data() + s * dim;
      for (std::size_t i = 0; i < dim; ++i) {
        row[i] = static_cast<float>(x[i] / norm);
        cosine += static_cast<double>(row[i]) * code[i];
      }
      lowest = std::min(lowest, cosine);
      highest = std::max(highest, cosine);
      ++made;
      ++j;
    }
  }
  fmt::print(
      "near-duplicate designs: {} items made other colours of {} photo items' designs (cosine to the photo's "
      "code {:.3f} to {:.3f})\n",
      made, photos, lowest, highest);
}

void print_quantiles(const char* what, const engine::MatchCalibration& c) {
  fmt::print("  {:<34} same type {:.3f} / {:.3f} / {:.3f}   random {:.3f} / {:.3f} / {:.3f}\n", what,
             c.same_type_quantile(0.1), c.same_type_quantile(0.5), c.same_type_quantile(0.9),
             c.random_quantile(0.1), c.random_quantile(0.5), c.random_quantile(0.9));
}

int run(int argc, char** argv) {
  fs::path ws_path, fit_path;
  std::uint64_t seed = 1;
  int threads = 0;
  std::size_t near_duplicates = 8;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i], v = argv[i + 1];
    if (a == "--workspace")
      ws_path = v;
    else if (a == "--fit-from")
      fit_path = v;
    else if (a == "--seed")
      seed = std::stoull(v);
    else if (a == "--threads")
      threads = std::stoi(v);
    else if (a == "--near-duplicates")
      near_duplicates = std::stoul(v);
    else
      throw Error(fmt::format("unknown option {}", a));
  }
  if (ws_path.empty())
    throw Error("usage: make_scale_vectors --workspace WS [--fit-from TRAINED_WS] [--seed 1]");
  threads = thread_count(threads);
  nn::set_num_threads(threads);
  const engine::Workspace ws(ws_path);
  fs::create_directories(ws.root() / "models");
  if (!fit_path.empty()) {
    write_file_atomic(ws.model_file(kModel), read_file_bytes(engine::Workspace(fit_path).model_file(kModel)));
  } else {
    nn::Model fresh(nn::builtin_model_spec(kModel), seed);
    nn::save_model(ws.model_file(kModel), fresh);
  }
  auto [model, source_hash] = engine::load_embedding_model(ws, kModel);
  const int dim = model.feature_size(nn::LatentPooling::kFlat);

  catalog::Catalog cat(ws.root());
  const std::vector<catalog::Item> items = cat.all_items();
  engine::Embeddings out;
  out.dim = dim;
  out.model_hash = source_hash;
  out.pooling = nn::LatentPooling::kFlat;
  out.ids.reserve(items.size());
  for (const auto& item : items) out.ids.push_back(item.id);
  out.vectors.resize(items.size() * static_cast<std::size_t>(dim));
  std::unordered_map<std::int64_t, std::size_t> row_of;
  for (std::size_t r = 0; r < items.size(); ++r) row_of.emplace(items[r].id, r);

  // The photos, as `mystyle embed` encodes them.
  image::PreprocessOptions preprocess;
  preprocess.image_side_px = model.spec().image_side_px;
  const engine::ImageCache cache = engine::ImageCache::build(ws.root(), items, preprocess, threads);
  const nn::ImageSet images = cache.images();
  std::vector<bool> encoded(items.size(), false);
  std::vector<float> batch, features;
  for (std::size_t s = 0; s < cache.size(); s += kEncodeBatch) {
    const std::size_t n = std::min<std::size_t>(kEncodeBatch, cache.size() - s);
    std::vector<std::uint32_t> indices(n);
    for (std::size_t k = 0; k < n; ++k) indices[k] = static_cast<std::uint32_t>(s + k);
    batch.resize(n * static_cast<std::size_t>(images.image_floats()));
    features.resize(n * static_cast<std::size_t>(dim));
    images.gather(indices, batch);
    model.encode(batch, static_cast<int>(n), nn::LatentPooling::kFlat, features);
    for (std::size_t k = 0; k < n; ++k) {
      const std::size_t r = row_of.at(cache.item_ids()[s + k]);
      std::copy_n(features.begin() + static_cast<std::ptrdiff_t>(k * dim), dim,
                  out.vectors.begin() + static_cast<std::ptrdiff_t>(r * dim));
      encoded[r] = true;
    }
  }
  fmt::print("encoded {} items' photos with {}\n", cache.size(), ws.model_file(kModel).string());

  std::vector<std::string> real_types;
  std::optional<engine::Embeddings> real;
  std::unordered_map<std::string, Component> components;
  if (!fit_path.empty()) {
    real = engine::load_current_embeddings(engine::Workspace(fit_path), kModel, nn::LatentPooling::kFlat,
                                           source_hash);
    components = fit_components(engine::Workspace(fit_path), *real, &real_types);
  } else {
    components = seeded_components(items, static_cast<std::size_t>(dim), seed);
  }
  Progress progress("drawing vectors", static_cast<std::int64_t>(items.size() - cache.size()), "items");
  std::size_t by_group = 0, by_type = 0, by_catalog = 0;
  for (std::size_t r = 0; r < items.size(); ++r) {
    if (encoded[r]) continue;
    // Seeded by the item's own id: the same catalog draws the same vectors in any order.
    std::mt19937_64 rng(seed ^ (static_cast<std::uint64_t>(items[r].id) * 0x9E3779B97F4A7C15ull));
    auto it = components.find(group_key(items[r]));
    if (it != components.end()) {
      ++by_group;
    } else if ((it = components.find(items[r].type)) != components.end()) {
      ++by_type;
    } else {
      it = components.find("");
      ++by_catalog;
    }
    draw(it->second, rng,
         {out.vectors.data() + r * static_cast<std::size_t>(dim), static_cast<std::size_t>(dim)});
    progress.advance();
  }
  progress.finish();
  fmt::print("drawn: {} from their type x colour component, {} from their type's, {} from the catalog's\n",
             by_group, by_type, by_catalog);
  add_near_duplicates(items, encoded, near_duplicates, seed, out);
  engine::save_embeddings(ws.embeddings_file(kModel, "flat"), out);
  fmt::print("wrote {} ({} items, {} dims)\n", ws.embeddings_file(kModel, "flat").string(), out.size(), dim);

  // Cosine quantiles 10% / 50% / 90% of 20,000 pairs each, real against drawn.
  fmt::print("pair cosines, 10% / 50% / 90%:\n");
  if (real) {
    print_quantiles(
        "real (the fitted workspace)",
        engine::MatchCalibration::build(real->vectors, static_cast<std::size_t>(dim), real_types, 20000, 1));
  }
  std::vector<std::string> types;
  for (const auto& item : items) types.push_back(item.type);
  print_quantiles("this catalog", engine::MatchCalibration::build(out.vectors, static_cast<std::size_t>(dim),
                                                                  types, 20000, 1));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    fmt::print(stderr, "make_scale_vectors: {}\n", e.what());
    return 1;
  }
}
