#pragma once
/// Supervised embedding losses for the `style` model: normalised-softmax classification against one
/// learned proxy per class (Zhai & Wu 2019, "Classification is a strong baseline for deep metric
/// learning"), one head per label (product type, family, category, colour group, ...), all on the
/// SAME L2-normalised embedding. Cosine to the proxies is what the loss sharpens, so cosine search
/// on the embedding finds items that share the labels: colour is in the embedding because a head
/// asks for it, not because features were concatenated by hand.
///
/// For head h with proxies w_c (rows of a [classes, dim] Param) and an image with label y:
///   z = f / |f|, p_c = w_c / |w_c|, logit_c = scale * z . p_c,
///   loss = -logit_y + log sum_c exp(logit_c),
/// except that with a margin m the true class's logit is scale * (z . p_y - m) (the additive cosine
/// margin of CosFace, Wang et al. 2018: an image must be nearer its own proxy than any other by m,
/// which draws each class tighter; accuracy is still the nearest proxy's, without the margin),
/// averaged over the head's labelled images (label -1 = unknown: skipped), then summed over heads
/// with their weights. Computed in double; the gradients with respect to f and to every w_c are exact.
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "mystyle/nn/layer.h"
#include "mystyle/nn/rng.h"

namespace mystyle::nn {

/// One classification head.
struct ProxyHeadSpec {
  std::string name;     ///< e.g. "type"; names the proxy tensor "proxies_<name>"
  int classes = 0;      ///< >= 1
  double weight = 1.0;  ///< the head's share of the total loss
};

/// What one batch did, per head.
struct ProxyHeadStats {
  double loss = 0;  ///< mean over labelled images (unweighted)
  std::int64_t labelled = 0;
  std::int64_t correct = 0;  ///< labelled images whose nearest proxy is their class
};

class ProxyLoss {
 public:
  /// Proxies are drawn uniformly in [-1, 1) per element from `init_seed`. Throws mystyle::Error
  /// for dim < 1, no heads, a head with < 1 class, scale <= 0, or a margin outside [0, 1).
  ProxyLoss(int dim, std::vector<ProxyHeadSpec> heads, double scale, std::uint64_t init_seed,
            double margin = 0.0);

  int dim() const { return dim_; }
  double scale() const { return scale_; }
  double margin() const { return margin_; }
  const std::vector<ProxyHeadSpec>& heads() const { return heads_; }
  /// One [classes, dim] tensor per head, in head order.
  std::vector<Param*> params();

  /// `features`: [n, dim] row-major, not normalised. `labels[h]`: n class indices for head h
  /// (-1 = no label). Overwrites `grad` ([n, dim]) with dL/d(features) and every proxy's grad with
  /// dL/d(proxy). Returns the weighted total; `stats` (optional) receives one entry per head.
  /// Throws mystyle::Error for sizes that disagree or a label out of range.
  double compute(std::span<const float> features, int n, const std::vector<std::vector<int>>& labels,
                 std::span<float> grad, std::vector<ProxyHeadStats>* stats = nullptr);

 private:
  int dim_;
  std::vector<ProxyHeadSpec> heads_;
  double scale_;
  double margin_;
  std::vector<Param> proxies_;
};

/// Rows of `rows` ([n, dim]) scaled to unit length in place (a zero row stays zero).
void l2_normalize_rows(std::span<float> rows, int dim);

}  // namespace mystyle::nn
