#pragma once
/// A picture of the latent space: every catalog item's embedding projected on its first two
/// principal components (PCA), one dot per item coloured by catalog category, with a legend.
#include <opencv2/core/mat.hpp>

#include "mystyle/engine/embeddings.h"
#include "mystyle/recommend/outfit_graph.h"

namespace mystyle::server {

/// BGR image, 960x640. Categories beyond the 11 most common are drawn grey as "other".
/// Throws mystyle::Error (kInvalidInput) when there are fewer than 3 embeddings.
cv::Mat plot_latent_projection(const engine::Embeddings& embeddings, const recommend::OutfitGraph& graph);

}  // namespace mystyle::server
