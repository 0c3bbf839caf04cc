#include "common.h"

#include <fmt/format.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "mystyle/core/csv_reader.h"
#include "mystyle/core/error.h"
#include "mystyle/core/file_io.h"

namespace mystyle::train::detail {

std::string summary_json(const TrainReport& r) {
  return nlohmann::json{{"model", r.model},
                        {"epochs", r.epochs_run},
                        {"best_epoch", r.best_epoch},
                        {"stopped_early", r.stopped_early},
                        {"train_loss", r.last_train_loss},
                        {"best_val_loss", r.best_val_loss},
                        {"test_loss", r.test_loss},
                        {"recon_error_variance", r.recon_error_variance},
                        {"train_seconds", r.train_seconds},
                        {"images_per_second", r.images_per_second}}
      .dump(2);
}

std::vector<catalog::Item> items_with_photos(const Workspace& workspace, std::size_t max_items) {
  catalog::Catalog cat(workspace.root());
  std::vector<catalog::Item> items;
  for (auto& item : cat.all_items()) {
    if (!item.image_path) continue;
    if (max_items != 0 && items.size() == max_items) break;
    items.push_back(std::move(item));
  }
  if (items.empty()) {
    throw Error(fmt::format("{}: the catalog has no items with a photo; import a catalog first",
                            workspace.root().string()));
  }
  return items;
}

RunFiles run_files(const Workspace& workspace, const std::string& model) {
  const auto report_dir = workspace.report_dir(model);
  return {report_dir, report_dir / "history.csv", workspace.model_file(model),
          workspace.checkpoint_file(model)};
}

void require_checkpoint(const RunFiles& files) {
  if (!std::filesystem::exists(files.checkpoint)) {
    throw Error(fmt::format("{}: no checkpoint to resume from; train without --resume first",
                            files.checkpoint.string()),
                ErrorKind::kNotFound);
  }
}

void make_run_dirs(const RunFiles& files) {
  create_folder(files.report_dir);
  create_folder(files.model.parent_path());
}

std::vector<std::vector<double>> read_history_rows(const std::filesystem::path& path, std::size_t fields,
                                                   int up_to_epoch) {
  std::vector<std::vector<double>> rows;
  if (!std::filesystem::exists(path)) return rows;
  CsvReader reader(path);
  std::vector<std::string> row;
  reader.read_row(row);  // header
  while (reader.read_row(row)) {
    if (row.size() != fields) {
      throw Error(fmt::format("{}: expected {} fields, found {}", reader.where(), fields, row.size()),
                  ErrorKind::kCorrupt);
    }
    std::vector<double> values;
    for (const auto& field : row) {
      std::size_t used = 0;
      try {
        values.push_back(std::stod(field, &used));
      } catch (const std::exception&) {
        used = 0;
      }
      if (used == 0 || used != field.size()) {
        throw Error(fmt::format("{}: '{}' is not a number", reader.where(), field), ErrorKind::kCorrupt);
      }
    }
    if (!values.empty() && values.front() <= up_to_epoch) rows.push_back(std::move(values));
  }
  return rows;
}

bool EarlyStopping::update(int epoch, double val_loss) {
  if (val_loss < best_ - min_improvement_) {
    best_ = val_loss;
    best_epoch_ = epoch;
    since_best_ = 0;
    return true;
  }
  ++since_best_;
  return false;
}

}  // namespace mystyle::train::detail
