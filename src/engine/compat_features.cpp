// The compat model's inputs for the catalog, shared by serving (completer.cpp) and training
// (train/compat_job.cpp).
#include "mystyle/engine/compat_model.h"
#include "mystyle/engine/embeddings.h"

namespace mystyle::engine {

CompatFeatures load_compat_features(const Workspace& workspace, const recommend::OutfitGraph& graph,
                                    const std::string& style_model, int threads) {
  const EmbeddingModel model = load_embedding_model(workspace, style_model);
  const Embeddings style =
      load_current_embeddings(workspace, style_model, nn::LatentPooling::kFlat, model.source_hash);
  std::vector<catalog::Item> scratch;
  const SimpleFeatures simple = load_simple_features(workspace.root(), graph.items_span(scratch), threads);
  return make_compat_features(style.ids, style.vectors, style.dim, simple);
}

}  // namespace mystyle::engine
