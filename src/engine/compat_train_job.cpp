#include "mystyle/engine/compat_train_job.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <thread>

#include "mystyle/catalog/catalog.h"
#include "mystyle/core/error.h"
#include "mystyle/core/file_io.h"
#include "mystyle/core/progress.h"
#include "mystyle/engine/embeddings.h"
#include "mystyle/nn/context.h"

namespace mystyle::engine {

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

CompatFeatures load_compat_features(const Workspace& workspace, const recommend::OutfitGraph& graph,
                                    const std::string& style_model, int threads) {
  const EmbeddingModel model = load_embedding_model(workspace, style_model);
  const Embeddings style = load_current_embeddings(workspace, style_model, nn::LatentPooling::kFlat, model.source_hash);
  const SimpleFeatures simple = load_simple_features(workspace.root(), graph.items(), threads);
  return make_compat_features(style.ids, style.vectors, style.dim, simple);
}

CompatTrainReport train_compat_on_catalog(const Workspace& workspace, const CompatTrainOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  const int threads = options.threads > 0 ? options.threads
                                          : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
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
  const CompatFeatures features = load_compat_features(workspace, graph, options.style_model, threads);
  report.items_with_features = static_cast<std::int64_t>(features.ids.size());
  spdlog::info("compat: learning from {} outfits of training designs ({} left out: they hold a held-out design)",
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
    spdlog::info("compat epoch {}: loss {:.4f}, partner beats all {} others in {:.1f}% of {} pairs ({:.0f} pairs/s)",
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

}  // namespace mystyle::engine
