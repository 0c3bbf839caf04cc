#pragma once
/// Model files: spec text + every parameter and state tensor (+ an opaque trainer-state blob for
/// checkpoints), behind a versioned, checksummed header. Little-endian layout:
///
///     "MYSTYLNN"  u32 version (1)  u32 kind (1 model, 2 checkpoint)  u64 payload_bytes  u64 fnv1a64(payload)
///     payload: str spec_text, u32 tensor_count, per tensor {str name, u32 ndims, i64 dims[ndims],
///              u64 count, f32 values[count]}, str extra        (str = u32 length + bytes)
///
/// Writes go to a temporary file beside the target, then rename (atomic on POSIX).
#include <filesystem>
#include <string>
#include <string_view>

#include "mystyle/nn/model.h"

namespace mystyle::nn {

/// What a model file holds.
enum class ModelFileKind : std::uint32_t {
  kModel = 1,       ///< spec and weights, for inference
  kCheckpoint = 2,  ///< also the trainer's state (optimizer moments, step, RNG, epoch): checkpoint.h
};

inline constexpr std::uint32_t kModelFileVersion = 1;

/// Writes `model` (and `extra` for checkpoints). Throws mystyle::Error (kIo) when the write fails.
void save_model(const std::filesystem::path& path, Model& model, ModelFileKind kind = ModelFileKind::kModel,
                std::string_view extra = {});

/// A model read back from a file.
struct LoadedModel {
  Model model;
  ModelFileKind kind;
  std::string extra;  ///< trainer state of a checkpoint; empty for a model file
};

/// Reads a model or checkpoint file. Throws mystyle::Error: kNotFound / kIo when it cannot be read;
/// kCorrupt for a wrong magic, an unknown version, a checksum mismatch, truncation, or tensors that
/// do not match the spec.
LoadedModel load_model_file(const std::filesystem::path& path);

/// load_model_file(path).model.
Model load_model(const std::filesystem::path& path);

/// Reads the weights of `path` into `model`, whose spec must equal the file's (else kCorrupt
/// "spec mismatch"). Returns the file's extra blob.
std::string load_weights(const std::filesystem::path& path, Model& model);


}  // namespace mystyle::nn
