#pragma once
/// The loss of the compatibility model: a fill-in-the-blank question as a training signal. For each
/// anchor (a piece of a known outfit) there are C candidates for another slot of that outfit: the
/// piece really worn with it (candidate 0) and C - 1 others of the same category. Each pair is
/// scored by the cosine between the anchor's embedding as seen from the candidate's slot and the
/// candidate's as seen from the anchor's (a type-aware, per-slot-pair projection), and the loss is
/// the softmax cross-entropy of picking candidate 0.
#include <cstdint>
#include <span>

namespace mystyle::nn {

/// `rows`: [anchors * candidates * 2, dim] row-major, not normalised. For anchor i and candidate j
/// (j = 0: the positive), row 2 (i C + j) is the anchor in the context of the candidate and row
/// 2 (i C + j) + 1 the candidate in the context of the anchor. With u, v those rows at unit length,
/// s_ij = scale * u . v and loss = mean over anchors of (log sum_j exp(s_ij) - s_i0).
/// Writes dL/d(rows) into `grad` (same size) and returns the loss, both computed in double; a zero
/// row counts as norm 1e-12. `correct` (optional) receives how many anchors score candidate 0
/// strictly highest. Throws mystyle::Error (kInvalidInput) for anchors < 1, candidates < 2, dim < 1,
/// scale <= 0 or sizes that disagree.
double pair_softmax_loss(std::span<const float> rows, int anchors, int candidates, int dim, double scale,
                         std::span<float> grad, std::int64_t* correct = nullptr);

}  // namespace mystyle::nn
