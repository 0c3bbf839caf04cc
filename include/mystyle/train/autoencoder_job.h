#pragma once
/// The original's autoencoders (seed64, seed128): the catalog's item photos through the shared image
/// pipeline (cached), a seeded train/validation/test split, Adam on binary cross-entropy, a
/// checkpoint every epoch, early stopping on validation loss, and a report with pictures.
#include <cstdint>

#include "mystyle/train/family.h"

namespace mystyle::train {

/// Which split an item falls in: a seeded hash of its id, so adding items never moves others.
enum class Split {
  kTrain,       ///< 80%
  kValidation,  ///< 10%
  kTest,        ///< 10%
};
Split split_of(std::int64_t item_id, std::uint64_t seed);

/// Trains and writes models/, reports/ into the workspace (progress on stderr). Throws
/// mystyle::Error for an empty catalog or --resume without a checkpoint.
TrainReport train_autoencoder(const Workspace& workspace, const TrainOptions& options);

/// The family's job (family.h): train_autoencoder, summarised.
TrainSummary run_autoencoder_family(const Workspace& workspace, const TrainOptions& options, OptionSet given);

}  // namespace mystyle::train
