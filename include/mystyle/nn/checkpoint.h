#pragma once
/// Checkpoints of every trainer (autoencoder, style, and any later family): one trainer-state
/// format, written and read here only. A trainer hands in its state as named, typed sections and
/// reads them back by name; it never lays out bytes itself.
///
/// A checkpoint is a model file of kind kCheckpoint (model_file.h: spec, weights, checksum, atomic
/// write) whose extra blob is the trainer state. Little-endian; str = u32 length + bytes:
///
///     u32 version (2)  str family  u32 section_count
///     per section: str name  u32 type  u64 byte_count  payload[byte_count]
///
/// Payloads by type:
///     1 int     i64
///     2 floats  u64 count, f32 values[count]
///     3 rng     u64 words[4] (Rng::State)
///     4 adam    i64 step, u32 tensors, every first moment, then every second moment
///               (each u64 count, f32 values[count])
///     5 bytes   opaque to this module
///
/// Version 1 is what the autoencoder and style trainers hand-wrote before this module (two layouts,
/// both numbered 1, told apart by the family the reader expects). It is still read, and presented
/// as the sections those trainers write now:
///     autoencoder: int epoch, int batch_size, rng rng, adam adam
///     style:       int epoch, int batch_size, rng rng, int heads, floats <proxy tensor name> per head
///                  ("proxies_<head>"), adam adam, adam proxy_adam
#include <cstdint>
#include <filesystem>
#include <limits>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "mystyle/nn/adam.h"
#include "mystyle/nn/model.h"
#include "mystyle/nn/rng.h"

namespace mystyle::nn {

/// The trainer-state version CheckpointWriter writes.
inline constexpr std::uint32_t kTrainerStateVersion = 2;

/// Families whose checkpoints also exist in version 1 (a new family needs no entry here).
inline constexpr std::string_view kAutoencoderFamily = "autoencoder";  ///< nn::Trainer
inline constexpr std::string_view kStyleFamily = "style";              ///< nn::StyleTrainer

class CheckpointWriter {
 public:
  /// `family` names the trainer kind; a reader expecting another family refuses the checkpoint.
  explicit CheckpointWriter(std::string family);

  // Each adds one section; a name used twice throws mystyle::Error. Sections are written in the
  // order they were added, so the same state always gives the same bytes.
  CheckpointWriter& put_int(std::string_view name, std::int64_t value);
  CheckpointWriter& put_floats(std::string_view name, std::span<const float> values);
  CheckpointWriter& put_rng(std::string_view name, const Rng::State& state);
  /// Adam's step count and both moments.
  CheckpointWriter& put_adam(std::string_view name, const Adam& adam);
  /// The same from raw values: `first` and `second` must have equal sizes, tensor by tensor.
  CheckpointWriter& put_adam(std::string_view name, std::int64_t step,
                             const std::vector<std::vector<float>>& first,
                             const std::vector<std::vector<float>>& second);
  CheckpointWriter& put_bytes(std::string_view name, std::string_view bytes);

  /// The trainer-state blob (what save() stores as the model file's extra).
  std::string state() const;
  /// Writes `model`'s spec and weights and the trainer state to `path` as a model file of kind
  /// kCheckpoint, atomically (a reader sees the old file or the new one). Throws mystyle::Error (kIo).
  void save(const std::filesystem::path& path, Model& model) const;

 private:
  CheckpointWriter& put(std::string_view name, std::uint32_t type, std::string_view payload);

  std::string family_;
  std::vector<std::string> names_;
  std::string sections_;
};

class CheckpointReader {
 public:
  /// Reads the checkpoint at `path`: its weights into `model` (whose spec must equal the file's)
  /// and its trainer state, which must be of `family`. Throws mystyle::Error naming the file:
  /// kNotFound / kIo when it cannot be read; kCorrupt for what model_file.h rejects, a model file
  /// without trainer state, another family, an unknown version, or malformed sections. After a
  /// failure `model` may hold some of the file's weights.
  static CheckpointReader load(const std::filesystem::path& path, Model& model, std::string_view family);

  /// Parses a trainer-state blob; `context` starts every error message (e.g. "checkpoint /path").
  CheckpointReader(std::string state, std::string context, std::string_view family);

  // Getters throw mystyle::Error (kCorrupt), naming the file and the section, for a section that
  // is missing, of another type, or malformed. Sections no getter asks for are ignored.
  bool has(std::string_view name) const;
  /// An int section, which must lie in [min, max].
  std::int64_t get_int(std::string_view name, std::int64_t min = std::numeric_limits<std::int64_t>::min(),
                       std::int64_t max = std::numeric_limits<std::int64_t>::max()) const;
  std::vector<float> get_floats(std::string_view name) const;
  /// A floats section whose length must equal out.size().
  void get_floats_into(std::string_view name, std::vector<float>& out) const;
  Rng::State get_rng(std::string_view name) const;
  /// Restores `adam`'s step and moments; its tensor count and sizes must match (else kCorrupt
  /// "optimizer state does not match the model"). `adam` is left unchanged on any error.
  void get_adam_into(std::string_view name, Adam& adam) const;
  std::string get_bytes(std::string_view name) const;

  /// e.g. "checkpoint /path/style.checkpoint".
  const std::string& context() const { return context_; }
  /// Throws mystyle::Error (kCorrupt) "<context>: <what>": for a trainer's own checks.
  [[noreturn]] void fail(const std::string& what) const;

 private:
  struct Section {
    std::uint32_t type;
    std::size_t offset, size;  // into state_ (offsets, not views: a moved string may move its bytes)
  };
  std::string_view payload(std::string_view name, std::uint32_t type) const;

  std::string state_;
  std::string context_;
  std::map<std::string, Section, std::less<>> sections_;
};

}  // namespace mystyle::nn
