#pragma once
/// A contrastive loss on feature vectors (SimCLR's NT-Xent): it pulls two views of one image
/// together and pushes every other image away, which is what a similarity search needs and a
/// pixel reconstruction does not ask for.
#include <span>

namespace mystyle::nn {

/// NT-Xent over `rows` ([2n, dim] row-major), rows i and i + n being two views of image i:
/// z = row / |row|, s_ik = z_i . z_k / temperature, and the loss is the mean over the 2n rows of
/// -log(exp(s_i,partner) / sum over k != i of exp(s_ik)). Writes dL/d(rows) into `grad` (same size)
/// and returns the loss, both computed in double. A zero row is treated as having norm 1e-12.
/// Throws mystyle::Error (kInvalidInput) for an odd or < 2 row count, sizes that disagree, or a
/// temperature <= 0.
double nt_xent_loss(std::span<const float> rows, int row_count, int dim, double temperature,
                    std::span<float> grad);

}  // namespace mystyle::nn
