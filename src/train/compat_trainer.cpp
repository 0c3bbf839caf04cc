#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <map>

#include "mystyle/core/error.h"
#include "mystyle/nn/adam.h"
#include "mystyle/nn/pair_softmax_loss.h"
#include "mystyle/nn/rng.h"
#include "mystyle/train/compat_job.h"

namespace mystyle::train {

using engine::CompatEpoch;
using engine::CompatFeatures;
using engine::CompatModel;
using engine::CompatSettings;
using engine::kCompatSlots;

engine::CompatModel train_compat(const recommend::OutfitGraph& graph, std::span<const std::int64_t> outfits,
                                 const CompatFeatures& features, const CompatSettings& settings,
                                 const std::function<void(const CompatEpoch&)>& on_epoch) {
  if (settings.epochs < 1 || settings.anchors_per_batch < 1 || settings.negatives < 1) {
    throw Error("compat training: epochs, anchors per batch and negatives must be at least 1",
                ErrorKind::kInvalidInput);
  }
  // Pairs: every ordered pair of distinct pieces with features, per outfit.
  struct Piece {
    const float* x;
    catalog::Slot slot;
    std::int64_t id;
  };
  std::vector<std::pair<Piece, Piece>> pairs;
  std::map<std::string, std::vector<Piece>> by_category;
  std::map<std::int64_t, bool> seen;
  for (const std::int64_t outfit_id : outfits) {
    const catalog::Outfit* outfit = graph.outfit(outfit_id);
    if (outfit == nullptr) continue;
    std::vector<std::pair<Piece, std::string>> pieces;
    for (const auto& m : outfit->members) {
      const catalog::Item* item = graph.item(m.item_id);
      const float* x = features.row(m.item_id);
      if (item == nullptr || x == nullptr) continue;
      if (std::ranges::any_of(pieces, [&](const auto& p) { return p.first.id == item->id; })) continue;
      pieces.push_back({{x, item->slot, item->id}, item->category});
    }
    for (const auto& [a, a_category] : pieces) {
      if (!seen[a.id]) {
        seen[a.id] = true;
        by_category[a_category].push_back(a);
      }
      for (const auto& b : pieces) {
        if (a.id != b.first.id) pairs.emplace_back(a, b.first);
      }
    }
  }
  if (pairs.empty())
    throw Error("compat training: no outfit has two pieces with features", ErrorKind::kInvalidInput);
  std::map<std::int64_t, const std::vector<Piece>*> pool_of;
  for (const auto& [category, items] : by_category) {
    for (const Piece& p : items) pool_of[p.id] = &items;
  }

  const int in_features = features.dim();
  nn::Model net(engine::compat_spec(in_features, settings.hidden, settings.dim), settings.seed);
  nn::Adam adam(net.params(), nn::AdamSettings{settings.learning_rate});
  nn::Rng rng(settings.seed * 0x9E3779B97F4A7C15ull + 7);
  const int candidates = 1 + settings.negatives;
  const int in = in_features + 2 * kCompatSlots;
  const int d = settings.dim;
  std::vector<std::uint32_t> order(pairs.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = static_cast<std::uint32_t>(i);
  std::vector<float> inputs;
  for (int epoch = 1; epoch <= settings.epochs; ++epoch) {
    const auto t = std::chrono::steady_clock::now();
    rng.shuffle(order);
    CompatEpoch stats;
    stats.epoch = epoch;
    double loss_sum = 0;
    std::int64_t right = 0;
    for (std::size_t start = 0; start < order.size();
         start += static_cast<std::size_t>(settings.anchors_per_batch)) {
      const int anchors =
          static_cast<int>(std::min<std::size_t>(settings.anchors_per_batch, order.size() - start));
      const int rows = 2 * anchors * candidates;
      inputs.resize(static_cast<std::size_t>(rows) * static_cast<std::size_t>(in));
      for (int i = 0; i < anchors; ++i) {
        const auto& [a, positive] = pairs[order[start + static_cast<std::size_t>(i)]];
        const std::vector<Piece>& pool = *pool_of.at(positive.id);
        for (int j = 0; j < candidates; ++j) {
          const Piece& c = j == 0 ? positive : pool[rng.below(pool.size())];
          const std::size_t row =
              2 * (static_cast<std::size_t>(i) * candidates + static_cast<std::size_t>(j));
          engine::write_compat_input(a.x, in_features, a.slot, c.slot, inputs.data() + row * in);
          engine::write_compat_input(c.x, in_features, c.slot, a.slot, inputs.data() + (row + 1) * in);
        }
      }
      std::int64_t correct = 0;
      const double loss =
          net.compute_latent_gradients(inputs, rows, [&](std::span<const float> f, std::span<float> g) {
            return nn::pair_softmax_loss(f, anchors, candidates, d, settings.scale, g, &correct);
          });
      adam.step();
      loss_sum += loss * anchors;
      right += correct;
    }
    stats.pairs = static_cast<std::int64_t>(pairs.size());
    stats.loss = loss_sum / static_cast<double>(pairs.size());
    stats.accuracy = static_cast<double>(right) / static_cast<double>(pairs.size());
    stats.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
    if (on_epoch) on_epoch(stats);
  }
  net.release_plans();
  net.set_serving(true);
  return CompatModel(std::move(net), features.style_dim, features.colour_dim);
}

}  // namespace mystyle::train
