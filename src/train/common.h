#pragma once
/// What the image families' jobs share (autoencoder_job.cpp, style_job.cpp): the catalog's items
/// with a photo, a run's files, resuming and early stopping on validation loss. Internal to src/train.
#include <spdlog/spdlog.h>

#include <filesystem>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "mystyle/catalog/catalog.h"
#include "mystyle/train/options.h"

namespace mystyle::train::detail {

/// The catalog's items with a photo, in id order, at most `max_items` (0 = all). Throws
/// mystyle::Error naming the workspace when there are none.
std::vector<catalog::Item> items_with_photos(const Workspace& workspace, std::size_t max_items);

/// Where one model's run writes.
struct RunFiles {
  std::filesystem::path report_dir, history, model, checkpoint;
};
RunFiles run_files(const Workspace& workspace, const std::string& model);

/// Throws mystyle::Error (kNotFound) naming the checkpoint when --resume has nothing to resume.
void require_checkpoint(const RunFiles& files);
/// One number of every history row (a member pointer or a function of the row), for a curve.
template <typename Row, typename Get>
std::vector<double> series_of(const std::vector<Row>& rows, Get&& get) {
  std::vector<double> v;
  v.reserve(rows.size());
  for (const Row& r : rows) v.push_back(static_cast<double>(std::invoke(get, r)));
  return v;
}

/// The image families' report as `mystyle train --json` prints it.
std::string summary_json(const TrainReport& r);

/// --resume: the checkpoint loaded into `trainer` (its load_checkpoint and epoch()) and the history
/// rows up to its epoch (`read_history(path, epoch)`). Throws as require_checkpoint does.
template <typename Trainer, typename ReadHistory>
auto resume_run(const RunFiles& files, Trainer& trainer, const std::string& model,
                ReadHistory&& read_history) {
  require_checkpoint(files);
  trainer.load_checkpoint(files.checkpoint);
  auto history = read_history(files.history, trainer.epoch());
  spdlog::info("resuming {} after epoch {}", model, trainer.epoch());
  return history;
}

/// Makes the report and model folders.
void make_run_dirs(const RunFiles& files);

/// The rows of a run's history.csv (header skipped), each `fields` numbers, first the epoch; rows
/// after `up_to_epoch` are left out (a checkpoint older than the history). No file: no rows.
/// Throws mystyle::Error (kCorrupt) naming the file and line of a malformed row.
std::vector<std::vector<double>> read_history_rows(const std::filesystem::path& path, std::size_t fields,
                                                   int up_to_epoch);

/// The best validation loss so far and how many epochs ago it was.
class EarlyStopping {
 public:
  explicit EarlyStopping(double min_improvement) : min_improvement_(min_improvement) {}
  /// Records an epoch's validation loss; true when it improved on the best by min_improvement.
  bool update(int epoch, double val_loss);
  bool should_stop(int patience) const { return since_best_ >= patience; }
  double best() const { return best_; }
  int best_epoch() const { return best_epoch_; }
  int since_best() const { return since_best_; }

 private:
  double min_improvement_;
  double best_ = std::numeric_limits<double>::infinity();
  int best_epoch_ = 0;
  int since_best_ = 0;
};

}  // namespace mystyle::train::detail
