#include "mystyle/engine/compat_model.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <map>
#include <nlohmann/json.hpp>

#include "mystyle/core/error.h"
#include "mystyle/core/file_io.h"
#include "mystyle/nn/model_file.h"
#include "mystyle/nn/rng.h"

namespace mystyle::engine {
namespace {

int slot_index(catalog::Slot slot) {
  return static_cast<int>(slot);
}

}  // namespace

nn::ModelSpec compat_spec(int features, int hidden, int dim) {
  return nn::parse_model_spec(fmt::format("model {}\ninput {} 1\nlinear {} relu\nlinear {}\nlatent\nl2norm\n",
                                          kCompatModel, features + 2 * kCompatSlots, hidden, dim));
}

void write_compat_input(const float* features, int dim, catalog::Slot own, catalog::Slot other, float* out) {
  std::copy_n(features, dim, out);
  std::fill_n(out + dim, 2 * kCompatSlots, 0.0f);
  out[dim + slot_index(own)] = 1.0f;
  out[dim + kCompatSlots + slot_index(other)] = 1.0f;
}

const float* CompatFeatures::row(std::int64_t id) const {
  const auto it = std::lower_bound(ids.begin(), ids.end(), id);
  if (it == ids.end() || *it != id) return base ? base->row(id) : nullptr;
  return rows.data() + static_cast<std::size_t>(it - ids.begin()) * static_cast<std::size_t>(dim());
}

CompatFeatures make_compat_features(std::span<const std::int64_t> style_ids, std::span<const float> style,
                                    int style_dim, const SimpleFeatures& simple) {
  if (style_dim < 1 || style.size() != style_ids.size() * static_cast<std::size_t>(style_dim)) {
    throw Error("compat features: the style embeddings' sizes disagree");
  }
  const std::vector<float> colour = simple.centred_colour_plus_hsv();
  constexpr int kColour = image::kColourDim + image::kHsvDim;
  std::map<std::int64_t, std::size_t> simple_row;
  for (std::size_t i = 0; i < simple.ids.size(); ++i) simple_row[simple.ids[i]] = i;
  std::vector<std::pair<std::int64_t, std::size_t>> order;
  for (std::size_t i = 0; i < style_ids.size(); ++i) order.emplace_back(style_ids[i], i);
  std::ranges::sort(order);
  CompatFeatures f;
  f.style_dim = style_dim;
  f.colour_dim = kColour;
  for (const auto& [id, i] : order) {
    const auto s = simple_row.find(id);
    if (s == simple_row.end()) continue;
    f.ids.push_back(id);
    f.rows.insert(f.rows.end(), style.begin() + static_cast<std::ptrdiff_t>(i * style_dim),
                  style.begin() + static_cast<std::ptrdiff_t>((i + 1) * style_dim));
    f.rows.insert(f.rows.end(), colour.begin() + static_cast<std::ptrdiff_t>(s->second * kColour),
                  colour.begin() + static_cast<std::ptrdiff_t>((s->second + 1) * kColour));
  }
  return f;
}

CompatModel::CompatModel(nn::Model net, int style_dim, int colour_dim)
    : net_(std::move(net)), style_dim_(style_dim), colour_dim_(colour_dim) {
  if (net_.input_shape().channels != style_dim + colour_dim + 2 * kCompatSlots) {
    throw Error(
        fmt::format("compat model: the network takes {} inputs, the features give {} + {} + 2 x {} slots",
                    net_.input_shape().channels, style_dim, colour_dim, kCompatSlots),
        ErrorKind::kCorrupt);
  }
}

int CompatModel::dim() const {
  return net_.feature_size(nn::LatentPooling::kFlat);
}

void CompatModel::embed_all(std::span<const float> x, std::span<const catalog::Slot> own,
                            std::vector<float>& out) {
  const int features = style_dim_ + colour_dim_;
  const std::size_t n = own.size();
  if (x.size() != n * static_cast<std::size_t>(features)) throw Error("compat model: feature rows disagree");
  const int in = features + 2 * kCompatSlots;
  const int d = dim();
  out.resize(n * kCompatSlots * static_cast<std::size_t>(d));
  constexpr std::size_t kChunk = 256;  // items per encode call
  std::vector<float> inputs;
  for (std::size_t start = 0; start < n; start += kChunk) {
    const std::size_t count = std::min(kChunk, n - start);
    inputs.resize(count * kCompatSlots * static_cast<std::size_t>(in));
    for (std::size_t i = 0; i < count; ++i) {
      for (int s = 0; s < kCompatSlots; ++s) {
        write_compat_input(x.data() + (start + i) * features, features, own[start + i], catalog::kAllSlots[s],
                           inputs.data() + (i * kCompatSlots + s) * in);
      }
    }
    const int batch = static_cast<int>(count * kCompatSlots);
    net_.encode(inputs, batch, nn::LatentPooling::kFlat,
                {out.data() + start * kCompatSlots * static_cast<std::size_t>(d),
                 static_cast<std::size_t>(batch) * static_cast<std::size_t>(d)});
  }
}

void CompatModel::save(const std::filesystem::path& model_path, const std::filesystem::path& json_path,
                       const nlohmann::json& description) {
  nlohmann::json doc = description;
  doc["style_dim"] = style_dim_;
  doc["colour_dim"] = colour_dim_;
  doc["slots"] = nlohmann::json::array();
  for (const auto s : catalog::kAllSlots) doc["slots"].push_back(std::string(catalog::slot_name(s)));
  nn::save_model(model_path, net_);
  write_file_atomic(json_path, doc.dump(2) + "\n");
}

CompatModel CompatModel::load(const std::filesystem::path& model_path,
                              const std::filesystem::path& json_path) {
  std::string text;
  nlohmann::json doc;
  return load(model_path, json_path, text, doc);
}

CompatModel CompatModel::load(const std::filesystem::path& model_path, const std::filesystem::path& json_path,
                              std::string& json_text, nlohmann::json& doc) {
  if (!std::filesystem::exists(model_path)) {
    throw Error(fmt::format("{}: no compatibility model; run `mystyle train --model compat` first",
                            model_path.string()),
                ErrorKind::kNotFound);
  }
  json_text = read_file_bytes(json_path);
  try {
    doc = nlohmann::json::parse(json_text);
  } catch (const nlohmann::json::exception& e) {
    throw Error(fmt::format("{}: not a compat model description: {}", json_path.string(), e.what()),
                ErrorKind::kCorrupt);
  }
  std::vector<std::string> want;
  for (const auto s : catalog::kAllSlots) want.emplace_back(catalog::slot_name(s));
  // Checked field by field: a value of another type must be a clear error, not a json::type_error.
  const auto dim_ok = [&](const char* key) {
    return doc.is_object() && doc.contains(key) && doc[key].is_number_integer() &&
           doc[key].get<std::int64_t>() > 0 && doc[key].get<std::int64_t>() < (1 << 20);
  };
  bool slots_ok = doc.is_object() && doc.contains("slots") && doc["slots"].is_array() &&
                  doc["slots"].size() == want.size();
  for (std::size_t i = 0; slots_ok && i < want.size(); ++i) {
    slots_ok = doc["slots"][i].is_string() && doc["slots"][i].get<std::string>() == want[i];
  }
  if (!dim_ok("style_dim") || !dim_ok("colour_dim") || !slots_ok) {
    throw Error(fmt::format("{}: style_dim, colour_dim or slots missing or unlike this version's",
                            json_path.string()),
                ErrorKind::kCorrupt);
  }
  CompatModel model(nn::load_model(model_path), doc["style_dim"].get<int>(), doc["colour_dim"].get<int>());
  model.net().set_serving(true);
  return model;
}

CompatTable::CompatTable(CompatModel& model, const CompatFeatures& features,
                         const recommend::OutfitGraph& graph)
    : dim_(model.dim()) {
  std::vector<float> x;
  for (std::size_t i = 0; i < features.ids.size(); ++i) {
    const catalog::Item* item = graph.item(features.ids[i]);
    if (item == nullptr) continue;
    ids_.push_back(item->id);
    slots_.push_back(item->slot);
    const float* row = features.rows.data() + i * static_cast<std::size_t>(features.dim());
    x.insert(x.end(), row, row + features.dim());
  }
  model.embed_all(x, slots_, views_);
  computed_ = ids_.size();
}

CompatTable::CompatTable(CompatModel& model, const CompatFeatures& features,
                         const recommend::OutfitGraph& graph, const CompatTable& previous,
                         const CompatFeatures& previous_features)
    : dim_(model.dim()) {
  const std::size_t dim = static_cast<std::size_t>(features.dim());
  const std::size_t stride = kCompatSlots * static_cast<std::size_t>(dim_);
  const bool comparable = previous.dim_ == dim_ && previous_features.dim() == features.dim();
  std::vector<float> x;
  std::vector<catalog::Slot> todo_slots;
  std::vector<std::size_t> todo;      // rows of this table to compute
  std::vector<std::optional<Found>> reuse;  // per row: previous's row (in its layer), or none
  for (std::size_t i = 0; i < features.ids.size(); ++i) {
    const catalog::Item* item = graph.item(features.ids[i]);
    if (item == nullptr) continue;
    const float* row = features.rows.data() + i * dim;
    std::optional<Found> old = comparable ? previous.find(item->id) : std::nullopt;
    if (old) {
      const float* old_row = previous_features.row(item->id);
      if (old_row == nullptr || old->table->slots_[old->row] != item->slot ||
          std::memcmp(old_row, row, dim * sizeof(float)) != 0) {
        old.reset();
      }
    }
    if (!old) {
      todo.push_back(ids_.size());
      todo_slots.push_back(item->slot);
      x.insert(x.end(), row, row + dim);
    }
    reuse.push_back(old);
    ids_.push_back(item->id);
    slots_.push_back(item->slot);
  }
  views_.resize(ids_.size() * stride);
  for (std::size_t r = 0; r < ids_.size(); ++r) {
    if (!reuse[r]) continue;
    std::copy_n(reuse[r]->table->views_.begin() + static_cast<std::ptrdiff_t>(reuse[r]->row * stride), stride,
                views_.begin() + static_cast<std::ptrdiff_t>(r * stride));
  }
  if (!todo.empty()) {
    std::vector<float> computed;
    model.embed_all(x, todo_slots, computed);
    for (std::size_t t = 0; t < todo.size(); ++t) {
      std::copy_n(computed.begin() + static_cast<std::ptrdiff_t>(t * stride), stride,
                  views_.begin() + static_cast<std::ptrdiff_t>(todo[t] * stride));
    }
  }
  computed_ = todo.size();
}

std::ptrdiff_t CompatTable::index(std::int64_t id) const {
  const auto it = std::lower_bound(ids_.begin(), ids_.end(), id);
  return it != ids_.end() && *it == id ? it - ids_.begin() : -1;
}

std::optional<CompatTable::Found> CompatTable::find(std::int64_t id) const {
  if (const auto i = index(id); i >= 0) return Found{this, static_cast<std::size_t>(i)};
  if (base_) {
    if (const auto i = base_->index(id); i >= 0) return Found{base_.get(), static_cast<std::size_t>(i)};
  }
  return std::nullopt;
}

bool CompatTable::has(std::int64_t id) const {
  return find(id).has_value();
}

catalog::Slot CompatTable::slot(std::int64_t id) const {
  const auto f = find(id);
  return f ? f->table->slots_[f->row] : catalog::Slot::kOther;
}

const float* CompatTable::view(std::int64_t id, catalog::Slot other) const {
  const auto f = find(id);
  if (!f) return nullptr;
  return f->table->views_.data() +
         (f->row * kCompatSlots + static_cast<std::size_t>(other)) * static_cast<std::size_t>(dim_);
}

float CompatTable::score(std::int64_t a, std::int64_t b) const {
  const auto fa = find(a), fb = find(b);
  if (!fa || !fb) return 0.0f;
  const float* u = view(a, fb->table->slots_[fb->row]);
  const float* v = view(b, fa->table->slots_[fa->row]);
  float s = 0;
  for (int k = 0; k < dim_; ++k) s += u[k] * v[k];
  return s;
}

CompatTable CompatTable::over(std::shared_ptr<const CompatTable> table, CompatModel& model,
                              const CompatFeatures& features, const recommend::OutfitGraph& graph) {
  if (table->dim_ != model.dim()) {
    throw Error(fmt::format("compat table: views of {} numbers, the model makes {}", table->dim_, model.dim()));
  }
  CompatTable out;
  out.dim_ = table->dim_;
  out.base_ = table->base_ ? table->base_ : table;
  const CompatTable* kept = table->base_ ? table.get() : nullptr;  // the edits laid over it already
  std::vector<std::int64_t> ids;
  std::vector<catalog::Slot> slots;
  std::vector<float> x, views;
  const auto dim = static_cast<std::size_t>(features.dim());
  for (std::size_t i = 0; i < features.ids.size(); ++i) {
    const catalog::Item* item = graph.item(features.ids[i]);
    if (item == nullptr) continue;
    ids.push_back(item->id);
    slots.push_back(item->slot);
    x.insert(x.end(), features.rows.begin() + static_cast<std::ptrdiff_t>(i * dim),
             features.rows.begin() + static_cast<std::ptrdiff_t>((i + 1) * dim));
  }
  if (!ids.empty()) model.embed_all(x, slots, views);
  out.computed_ = ids.size();
  // The kept rows and the new ones, ids ascending; a new row replaces a kept one.
  const std::size_t stride = kCompatSlots * static_cast<std::size_t>(out.dim_);
  auto put = [&](std::int64_t id, catalog::Slot slot, const float* row) {
    out.ids_.push_back(id);
    out.slots_.push_back(slot);
    out.views_.insert(out.views_.end(), row, row + stride);
  };
  std::size_t k = 0, n = 0;
  const std::size_t kept_rows = kept ? kept->ids_.size() : 0;
  while (k < kept_rows || n < ids.size()) {
    if (n == ids.size() || (k < kept_rows && kept->ids_[k] < ids[n])) {
      put(kept->ids_[k], kept->slots_[k], kept->views_.data() + k * stride);
      ++k;
    } else {
      if (k < kept_rows && kept->ids_[k] == ids[n]) ++k;
      put(ids[n], slots[n], views.data() + n * stride);
      ++n;
    }
  }
  std::size_t overlap = 0;
  for (const std::int64_t id : out.ids_) overlap += out.base_->index(id) >= 0;
  out.size_ = out.base_->ids_.size() + out.ids_.size() - overlap;
  return out;
}

}  // namespace mystyle::engine
