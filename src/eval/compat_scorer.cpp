// The learned compatibility model as an evaluation scorer: trained on the protocol's known outfits.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "mystyle/eval/scorers.h"
#include "mystyle/train/compat_job.h"

namespace mystyle::eval {
namespace {

class CompatScorer : public CompatibilityScorer {
 public:
  CompatScorer(const KnownOutfits& known, const engine::CompatFeatures& features,
               const engine::CompatSettings& settings, std::string name)
      : name_(std::move(name)), learned_(known.outfit_ids().begin(), known.outfit_ids().end()) {
    engine::CompatModel model =
        train::train_compat(known.graph(), learned_, features, settings, [&](const engine::CompatEpoch& e) {
          spdlog::info("{}: epoch {}/{}, loss {:.4f}, partner first in {:.1f}% of {} pairs ({:.1f} s)", name_,
                       e.epoch, settings.epochs, e.loss, 100 * e.accuracy, e.pairs, e.seconds);
          pairs_ = e.pairs;
        });
    table_ = engine::CompatTable(model, features, known.graph());
  }
  std::string name() const override { return name_; }
  std::span<const std::int64_t> learned_from_outfits() const override { return learned_; }
  std::string provenance() const override {
    return fmt::format("trained here on the {} known outfits ({} pairs)", learned_.size(), pairs_);
  }
  double pair_score(std::int64_t a, std::int64_t b) override { return table_.score(a, b); }

 private:
  std::string name_;
  std::vector<std::int64_t> learned_;
  std::int64_t pairs_ = 0;
  engine::CompatTable table_;
};

}  // namespace

std::unique_ptr<CompatibilityScorer> make_compat_scorer(const KnownOutfits& known,
                                                        const engine::CompatFeatures& features,
                                                        const engine::CompatSettings& settings,
                                                        std::string name) {
  return std::make_unique<CompatScorer>(known, features, settings, std::move(name));
}

}  // namespace mystyle::eval
