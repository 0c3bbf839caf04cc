#include "mystyle/train/compat_job.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <nlohmann/json.hpp>

#include "mystyle/catalog/catalog.h"
#include "mystyle/core/error.h"
#include "mystyle/core/file_io.h"
#include "mystyle/core/progress.h"
#include "mystyle/core/threads.h"
#include "mystyle/engine/embeddings.h"
#include "mystyle/nn/context.h"

namespace mystyle::train {

using engine::CompatFeatures;
using engine::CompatModel;
using engine::kCompatModel;

std::vector<std::int64_t> training_outfits(const recommend::OutfitGraph& graph, std::uint64_t split_seed) {
  std::vector<std::int64_t> out;
  for (const auto& outfit : graph.outfits()) {
    bool clean = true;
    for (const auto& m : outfit.members) {
      const catalog::Item* item = graph.item(m.item_id);
      if (item != nullptr && catalog::is_held_out_design(*item, split_seed)) {
        clean = false;
        break;
      }
    }
    if (clean) out.push_back(outfit.id);
  }
  return out;
}

CompatTrainReport train_compat_on_catalog(const Workspace& workspace, const CompatTrainOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  const int threads = thread_count(options.threads);
  nn::set_num_threads(threads);
  catalog::Catalog catalog(workspace.root());
  const recommend::OutfitGraph graph = recommend::OutfitGraph::load(catalog);
  const std::vector<std::int64_t> outfits = training_outfits(graph, options.split_seed);
  CompatTrainReport report;
  report.outfits_used = static_cast<std::int64_t>(outfits.size());
  report.outfits_left_out = static_cast<std::int64_t>(graph.outfits().size() - outfits.size());
  if (outfits.empty()) {
    throw Error(fmt::format("{}: no outfit without a held-out design to learn from (import outfits first)",
                            workspace.root().string()),
                ErrorKind::kInvalidInput);
  }
  const CompatFeatures features =
      engine::load_compat_features(workspace, graph, options.style_model, threads);
  report.items_with_features = static_cast<std::int64_t>(features.ids.size());
  spdlog::info(
      "compat: learning from {} outfits of training designs ({} left out: they hold a held-out design)",
      report.outfits_used, report.outfits_left_out);
  const auto report_dir = workspace.report_dir(kCompatModel);
  create_folder(report_dir);
  create_folder(workspace.model_file(kCompatModel).parent_path());
  std::string history = "epoch,loss,accuracy,pairs,seconds\n";
  Progress progress("training compat", options.settings.epochs, "epochs");
  CompatModel model = train_compat(graph, outfits, features, options.settings, [&](const CompatEpoch& e) {
    report.history.push_back(e);
    report.pairs = e.pairs;
    history += fmt::format("{},{:.6f},{:.6f},{},{:.3f}\n", e.epoch, e.loss, e.accuracy, e.pairs, e.seconds);
    spdlog::info(
        "compat epoch {}: loss {:.4f}, partner beats all {} others in {:.1f}% of {} pairs ({:.0f} pairs/s)",
        e.epoch, e.loss, options.settings.negatives, 100 * e.accuracy, e.pairs,
        static_cast<double>(e.pairs) / std::max(e.seconds, 1e-9));
    progress.advance();
  });
  progress.finish();
  write_file_atomic(report_dir / "history.csv", history);
  nlohmann::json doc{{"model", kCompatModel},
                     {"features", fmt::format("{} embedding ({} numbers) + centred colour thumbnail and HSV "
                                              "histogram / 2 ({} numbers)",
                                              options.style_model, features.style_dim, features.colour_dim)},
                     {"style_model", options.style_model},
                     {"split_seed", options.split_seed},
                     {"outfits_learned_from", report.outfits_used},
                     {"outfits_left_out", report.outfits_left_out},
                     {"pairs", report.pairs},
                     {"epochs", options.settings.epochs},
                     {"negatives", options.settings.negatives},
                     {"scale", options.settings.scale},
                     {"learning_rate", options.settings.learning_rate},
                     {"seed", options.settings.seed},
                     {"history", nlohmann::json::array()}};
  for (const auto& e : report.history) {
    doc["history"].push_back({{"epoch", e.epoch}, {"loss", e.loss}, {"accuracy", e.accuracy}});
  }
  report.model_path = workspace.model_file(kCompatModel);
  report.description_path = workspace.root() / "models" / (std::string(kCompatModel) + ".json");
  model.save(report.model_path, report.description_path, doc);
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return report;
}

TrainSummary run_compat_family(const Workspace& workspace, const TrainOptions& o, OptionSet given) {
  CompatTrainOptions c;
  if (has(given, Option::kEpochs)) c.settings.epochs = o.epochs;
  c.settings.seed = o.seed;
  c.split_seed = o.split_seed;
  c.threads = o.threads;
  const CompatTrainReport r = train_compat_on_catalog(workspace, c);
  const CompatEpoch last = r.history.empty() ? CompatEpoch{} : r.history.back();
  TrainSummary s;
  s.json = nlohmann::json{{"model", engine::kCompatModel},
                          {"epochs", r.history.size()},
                          {"outfits_learned_from", r.outfits_used},
                          {"outfits_left_out", r.outfits_left_out},
                          {"pairs", r.pairs},
                          {"train_loss", last.loss},
                          {"train_accuracy", last.accuracy},
                          {"seconds", r.seconds},
                          {"path", r.model_path.string()}}
               .dump(2);
  s.lines = {
      fmt::format(
          "compat: {} epochs on {} pairs from {} outfits of training designs ({} outfits holding a "
          "held-out design left out); loss {:.4f}, the real partner beats {} others in {:.1f}% of pairs",
          r.history.size(), r.pairs, r.outfits_used, r.outfits_left_out, last.loss, c.settings.negatives,
          100 * last.accuracy),
      fmt::format("this run: {:.1f} s; model in {}", r.seconds, r.model_path.string())};
  return s;
}

}  // namespace mystyle::train
