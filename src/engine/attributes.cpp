#include "mystyle/engine/attributes.h"

#include <fmt/format.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <numeric>

#include "mystyle/core/error.h"
#include "mystyle/core/file_io.h"
#include "mystyle/image/colour_naming.h"

namespace mystyle::engine {
namespace {

constexpr int kFormatVersion = 1;

nlohmann::json probe_json(const nn::SoftmaxProbe& p) {
  return {{"dim", p.dim},   {"classes", p.classes}, {"mean", p.mean},
          {"scale", p.scale}, {"weights", p.weights}, {"bias", p.bias}};
}

nn::SoftmaxProbe probe_from(const nlohmann::json& j, const std::filesystem::path& path, const char* name) {
  nn::SoftmaxProbe p;
  try {
    p.dim = j.at("dim").get<std::size_t>();
    p.classes = j.at("classes").get<std::size_t>();
    p.mean = j.at("mean").get<std::vector<float>>();
    p.scale = j.at("scale").get<std::vector<float>>();
    p.weights = j.at("weights").get<std::vector<float>>();
    p.bias = j.at("bias").get<std::vector<float>>();
  } catch (const nlohmann::json::exception& e) {
    throw Error(fmt::format("{}: field '{}': {}", path.string(), name, e.what()), ErrorKind::kInvalidInput);
  }
  if (p.dim == 0 || p.classes == 0 || p.mean.size() != p.dim || p.scale.size() != p.dim ||
      p.weights.size() != p.dim * p.classes || p.bias.size() != p.classes) {
    throw Error(fmt::format("{}: field '{}': sizes do not agree ({} inputs, {} classes)", path.string(), name,
                            p.dim, p.classes),
                ErrorKind::kInvalidInput);
  }
  return p;
}

void fill_best(PhotoAttributes& a, const std::vector<std::string>& families, const std::vector<std::string>& types) {
  if (!a.colour.empty()) {
    const auto best = std::ranges::max_element(a.colour) - a.colour.begin();
    a.colour_family = families[static_cast<std::size_t>(best)];
    a.colour_confidence = a.colour[static_cast<std::size_t>(best)];
  }
  if (!a.type.empty()) {
    const auto best = std::ranges::max_element(a.type) - a.type.begin();
    a.type_name = types[static_cast<std::size_t>(best)];
    a.type_confidence = a.type[static_cast<std::size_t>(best)];
  }
}

std::optional<GateOn> gate_on_from(const std::string& name) {
  for (GateOn on : {GateOn::kFamily, GateOn::kType, GateOn::kProduct}) {
    if (name == gate_on_name(on)) return on;
  }
  return std::nullopt;
}

}  // namespace

const char* gate_on_name(GateOn on) {
  switch (on) {
    case GateOn::kFamily:
      return "family";
    case GateOn::kType:
      return "type";
    case GateOn::kProduct:
      return "product";
  }
  return "family";
}

double gate_confidence(const PhotoAttributes& photo, GateOn on) {
  switch (on) {
    case GateOn::kFamily:
      return photo.colour_confidence;
    case GateOn::kType:
      return photo.type_confidence;
    case GateOn::kProduct:
      return photo.colour_confidence * photo.type_confidence;
  }
  return 0;
}

bool reorders(const PhotoAttributes& photo, const RankWeights& w) {
  return w.min_confidence <= 0 || gate_confidence(photo, w.gate_on) >= w.min_confidence;
}

std::vector<float> AttributeModel::colour_input(const cv::Mat& seen_rgb8, std::span<const float> code) {
  std::vector<float> in = image::colour_naming_features(seen_rgb8);
  in.reserve(in.size() + code.size());
  for (float v : code) in.push_back(v * kCodeWeight);
  return in;
}

PhotoAttributes AttributeModel::predict(const cv::Mat& seen_rgb8, std::span<const float> code) const {
  if (code.size() != static_cast<std::size_t>(code_dim)) {
    throw Error(fmt::format("colour model: a code of {} numbers, not {}", code.size(), code_dim),
                ErrorKind::kInvalidInput);
  }
  const std::vector<float> in = colour_input(seen_rgb8, code);
  return predict_rows(in, code).front();
}

std::vector<PhotoAttributes> AttributeModel::predict_rows(std::span<const float> colour_rows,
                                                          std::span<const float> codes) const {
  const std::size_t n = codes.size() / static_cast<std::size_t>(std::max(code_dim, 1));
  if (colour_rows.size() != n * colour.dim || codes.size() != n * type.dim) {
    throw Error(fmt::format("colour model: {} colour numbers and {} code numbers for {} rows", colour_rows.size(),
                            codes.size(), n),
                ErrorKind::kInvalidInput);
  }
  const std::vector<float> pc = colour.probabilities(colour_rows), pt = type.probabilities(codes);
  std::vector<PhotoAttributes> out(n);
  for (std::size_t i = 0; i < n; ++i) {
    out[i].colour.assign(pc.begin() + static_cast<std::ptrdiff_t>(i * colour.classes),
                         pc.begin() + static_cast<std::ptrdiff_t>((i + 1) * colour.classes));
    out[i].type.assign(pt.begin() + static_cast<std::ptrdiff_t>(i * type.classes),
                       pt.begin() + static_cast<std::ptrdiff_t>((i + 1) * type.classes));
    fill_best(out[i], families, types);
  }
  return out;
}

int AttributeModel::family_code(const std::string& family) const {
  const auto it = family_index_.find(family);
  return it == family_index_.end() ? -1 : it->second;
}

int AttributeModel::type_code(const std::string& type_name) const {
  const auto it = type_index_.find(type_name);
  return it == type_index_.end() ? -1 : it->second;
}

double AttributeModel::bonus(const PhotoAttributes& photo, int f, int t, const RankWeights& w) {
  const double pf = f >= 0 && static_cast<std::size_t>(f) < photo.colour.size() ? photo.colour[static_cast<std::size_t>(f)] : 0.0;
  const double pt = t >= 0 && static_cast<std::size_t>(t) < photo.type.size() ? photo.type[static_cast<std::size_t>(t)] : 0.0;
  return w.colour * pf + w.type * pt + w.joint * pf * pt;
}

void AttributeModel::index_names() {
  family_index_.clear();
  type_index_.clear();
  for (std::size_t i = 0; i < families.size(); ++i) family_index_[families[i]] = static_cast<int>(i);
  for (std::size_t i = 0; i < types.size(); ++i) type_index_[types[i]] = static_cast<int>(i);
}

void AttributeModel::save(const std::filesystem::path& path) const {
  const nlohmann::json doc = {{"format", kFormatVersion},
                              {"model", kColourModel},
                              {"source_hash", fmt::format("{:016x}", source_hash)},
                              {"code_dim", code_dim},
                              {"families", families},
                              {"types", types},
                              {"weights",
                               {{"colour", weights.colour},
                                {"type", weights.type},
                                {"joint", weights.joint},
                                {"keep_above", weights.keep_above},
                                {"keep_first", weights.keep_first},
                                {"min_confidence", weights.min_confidence},
                                {"gate_on", gate_on_name(weights.gate_on)}}},
                              {"candidates", candidates},
                              {"colour_probe", probe_json(colour)},
                              {"type_probe", probe_json(type)}};
  write_file_atomic(path, doc.dump());
}

AttributeModel AttributeModel::load(const std::filesystem::path& path) {
  nlohmann::json doc;
  try {
    doc = nlohmann::json::parse(read_file_bytes(path));
  } catch (const nlohmann::json::exception& e) {
    throw Error(fmt::format("{}: not a colour model ({})", path.string(), e.what()), ErrorKind::kInvalidInput);
  }
  AttributeModel m;
  const char* field = "format";
  try {
    if (doc.at("format").get<int>() != kFormatVersion) {
      throw Error(fmt::format("{}: format {} (this build reads {}); run `mystyle train --model colour`",
                              path.string(), doc.at("format").dump(), kFormatVersion),
                  ErrorKind::kInvalidInput);
    }
    field = "source_hash";
    m.source_hash = std::stoull(doc.at("source_hash").get<std::string>(), nullptr, 16);
    field = "code_dim";
    m.code_dim = doc.at("code_dim").get<int>();
    field = "families";
    m.families = doc.at("families").get<std::vector<std::string>>();
    field = "types";
    m.types = doc.at("types").get<std::vector<std::string>>();
    field = "weights";
    const auto& w = doc.at("weights");
    m.weights = {w.at("colour").get<double>(), w.at("type").get<double>(), w.at("joint").get<double>(),
                 w.at("keep_above").get<double>(), w.at("keep_first").get<std::size_t>()};
    // A file written before the gate has neither field: the gate off, every photo reordered.
    field = "weights.min_confidence";
    m.weights.min_confidence = w.value("min_confidence", 0.0);
    field = "weights.gate_on";
    const std::string gate_on = w.value("gate_on", std::string(gate_on_name(GateOn::kFamily)));
    const std::optional<GateOn> on = gate_on_from(gate_on);
    if (!on) {
      throw Error(
          fmt::format("{}: field '{}': '{}' is not family, type or product", path.string(), field, gate_on),
          ErrorKind::kInvalidInput);
    }
    m.weights.gate_on = *on;
    field = "candidates";
    m.candidates = doc.at("candidates").get<std::size_t>();
  } catch (const nlohmann::json::exception& e) {
    throw Error(fmt::format("{}: field '{}': {}", path.string(), field, e.what()), ErrorKind::kInvalidInput);
  } catch (const std::logic_error&) {
    throw Error(fmt::format("{}: field '{}' is not a hexadecimal hash", path.string(), field),
                ErrorKind::kInvalidInput);
  }
  m.colour = probe_from(doc.value("colour_probe", nlohmann::json()), path, "colour_probe");
  m.type = probe_from(doc.value("type_probe", nlohmann::json()), path, "type_probe");
  if (m.colour.classes != m.families.size() || m.type.classes != m.types.size() ||
      m.type.dim != static_cast<std::size_t>(m.code_dim) ||
      m.colour.dim != static_cast<std::size_t>(image::kColourNamingDim + m.code_dim) || m.candidates == 0) {
    throw Error(fmt::format("{}: the read-outs do not fit the families, types and code size it names",
                            path.string()),
                ErrorKind::kInvalidInput);
  }
  m.index_names();
  return m;
}

std::vector<std::size_t> rerank(const PhotoAttributes& photo, std::span<const double> scores,
                                std::span<const int> families, std::span<const int> types, const RankWeights& w,
                                std::size_t first) {
  if (!reorders(photo, w)) {
    std::vector<std::size_t> order(std::min(first, scores.size()));
    std::iota(order.begin(), order.end(), std::size_t{0});
    return order;
  }
  std::vector<double> total(scores.size());
  constexpr double kKept = 1e6;  // above any cosine + bonus
  for (std::size_t i = 0; i < scores.size(); ++i) {
    total[i] = scores[i] >= w.keep_above || i < w.keep_first
                   ? kKept + scores[i]
                   : scores[i] + AttributeModel::bonus(photo, families[i], types[i], w);
  }
  std::vector<std::size_t> order(scores.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  // Higher total first, then the earlier candidate: a strict order, so the first `first` of a
  // partial sort are those of a stable sort.
  const auto before = [&](std::size_t a, std::size_t b) { return total[a] > total[b] || (total[a] == total[b] && a < b); };
  const std::size_t keep = std::min(first, order.size());
  std::partial_sort(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(keep), order.end(), before);
  order.resize(keep);
  return order;
}

std::vector<std::vector<std::pair<std::size_t, double>>> leave_one_out_candidates(std::span<const float> codes,
                                                                                 std::size_t dim,
                                                                                 std::size_t candidates) {
  const std::size_t n = dim == 0 ? 0 : codes.size() / dim;
  std::vector<std::vector<std::pair<std::size_t, double>>> lists(n);
  std::vector<std::pair<std::size_t, double>> all;
  for (std::size_t i = 0; i < n; ++i) {
    all.clear();
    const float* q = codes.data() + i * dim;
    for (std::size_t j = 0; j < n; ++j) {
      if (j == i) continue;
      const float* r = codes.data() + j * dim;
      double dot = 0;
      for (std::size_t d = 0; d < dim; ++d) dot += double(q[d]) * r[d];
      all.emplace_back(j, dot);
    }
    const std::size_t keep = std::min(candidates, all.size());
    std::partial_sort(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(keep), all.end(),
                      [](const auto& a, const auto& b) { return a.second > b.second || (a.second == b.second && a.first < b.first); });
    lists[i].assign(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(keep));
  }
  return lists;
}

std::vector<std::vector<std::size_t>> rerank_lists(
    const std::vector<std::vector<std::pair<std::size_t, double>>>& lists, std::span<const PhotoAttributes> photos,
    std::span<const int> families, std::span<const int> types, const RankWeights& w, std::size_t k) {
  std::vector<std::vector<std::size_t>> out(lists.size());
  std::vector<double> scores;
  std::vector<int> f, t;
  for (std::size_t i = 0; i < lists.size(); ++i) {
    scores.clear();
    f.clear();
    t.clear();
    for (const auto& [row, cosine] : lists[i]) {
      scores.push_back(cosine);
      f.push_back(families[row]);
      t.push_back(types[row]);
    }
    for (std::size_t r : rerank(photos[i], scores, f, t, w, k)) out[i].push_back(lists[i][r].first);
  }
  return out;
}

std::optional<AttributeModel> load_current_attribute_model(const Workspace& workspace, std::uint64_t source_hash,
                                                           std::string* why) {
  const std::filesystem::path path = workspace.root() / "models" / (std::string(kColourModel) + ".json");
  if (!std::filesystem::exists(path)) return std::nullopt;
  AttributeModel m = AttributeModel::load(path);
  if (m.source_hash != source_hash) {
    if (why) {
      *why = fmt::format("{} reads the codes of another style model; run `mystyle train --model colour`",
                         path.string());
    }
    return std::nullopt;
  }
  return m;
}

}  // namespace mystyle::engine
