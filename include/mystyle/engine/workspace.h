#pragma once
/// Where each artefact lives inside a workspace folder (one place, so every command agrees):
///
///     catalog.db                      the catalog (catalog/)
///     cache/images-<key>.bin          preprocessed item photos (ImageCache)
///     models/<model>.model            trained weights, best validation loss
///     models/<model>.checkpoint       the last epoch's full training state, for --resume
///     reports/<model>/                history.csv, train.json, loss_curve.png, reconstructions.png
///     embeddings/<model>-<pooling>.bin  one vector per catalog item
#include <filesystem>
#include <string>
#include <string_view>

namespace mystyle::engine {

/// The model every command uses unless told otherwise (--model).
inline constexpr const char* kDefaultModel = "style";

class Workspace {
 public:
  explicit Workspace(std::filesystem::path root) : root_(std::move(root)) {}
  const std::filesystem::path& root() const { return root_; }

  std::filesystem::path model_file(std::string_view model) const { return root_ / "models" / (std::string(model) + ".model"); }
  std::filesystem::path checkpoint_file(std::string_view model) const {
    return root_ / "models" / (std::string(model) + ".checkpoint");
  }
  std::filesystem::path report_dir(std::string_view model) const { return root_ / "reports" / std::string(model); }
  /// The lock every read-modify-write of embeddings takes (FileLock): `mystyle embed`, admin edits.
  std::filesystem::path write_lock_file() const { return root_ / ".write.lock"; }
  /// Where photos uploaded through the admin API are kept (named by a hash of their bytes).
  std::filesystem::path photos_dir() const { return root_ / "photos"; }
  std::filesystem::path embeddings_file(std::string_view model, std::string_view pooling) const {
    return root_ / "embeddings" / (std::string(model) + "-" + std::string(pooling) + ".bin");
  }

 private:
  std::filesystem::path root_;
};

}  // namespace mystyle::engine
