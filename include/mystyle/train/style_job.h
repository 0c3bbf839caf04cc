#pragma once
/// `mystyle train --model style`: the learned style embedding. Trains an encoder-only model with
/// proxy losses on the catalog's labels (product type, family, category, colour group) on the
/// TRAINING designs only: every item whose design is held out (catalog/design_split.h) is left out
/// of training, validation and the label vocabularies, so evaluations on held-out designs measure
/// designs the model never saw. Validation is a further 10% of the training designs (early stopping).
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "mystyle/catalog/catalog.h"
#include "mystyle/train/family.h"

namespace mystyle::train {

/// The label heads the style model learns, in order. "look" is the pair of type and colour (one class
/// per combination seen in training): it asks for neighbours that share both at once.
inline constexpr std::array<const char*, 5> kStyleHeads = {"type", "family", "category", "colour", "look"};

/// Which catalog items the style model may learn from.
struct StyleSplit {
  std::vector<std::size_t> train, validation;  ///< indices into the items given
  std::size_t held_out = 0;                    ///< items of held-out designs (never used)
  std::size_t held_out_designs = 0, train_designs = 0, validation_designs = 0;
};

/// Splits `items` by design: held-out designs (split_seed) are dropped; of the rest, a seeded 10%
/// of designs validate, the others train.
StyleSplit make_style_split(const std::vector<catalog::Item>& items, std::uint64_t split_seed);

/// Per head, the sorted class names seen among `items[indices]` (the label vocabulary).
std::vector<std::vector<std::string>> style_vocabulary(const std::vector<catalog::Item>& items,
                                                       const std::vector<std::size_t>& indices);

/// An item's label string for head `head` (index into kStyleHeads); empty = no label.
std::string style_label(const catalog::Item& item, std::size_t head);

/// Trains the encoder-only model `options.model` and writes models/, reports/ (progress on stderr).
TrainReport train_style(const Workspace& workspace, const TrainOptions& options);

/// The family's job (family.h): train_style, summarised.
TrainSummary run_style_family(const Workspace& workspace, const TrainOptions& options, OptionSet given);

}  // namespace mystyle::train
