#include "mystyle/nn/model_file.h"


#include <fstream>
#include <iterator>

#include "mystyle/core/byte_io.h"
#include "mystyle/core/file_io.h"
#include "mystyle/core/error.h"

namespace mystyle::nn {
namespace {

constexpr std::string_view kMagic = "MYSTYLNN";
constexpr std::size_t kHeaderBytes = 8 + 4 + 4 + 8 + 8;

std::string read_all(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    const bool exists = std::filesystem::exists(path);
    throw Error("cannot open model file " + path.string(), exists ? ErrorKind::kIo : ErrorKind::kNotFound);
  }
  in.seekg(0, std::ios::end);
  const auto size = static_cast<std::size_t>(in.tellg());
  in.seekg(0);
  std::string bytes(size, '\0');
  if (!in.read(bytes.data(), static_cast<std::streamsize>(size))) {
    throw Error("cannot read model file " + path.string(), ErrorKind::kIo);
  }
  return bytes;
}

struct Parsed {
  ModelFileKind kind;
  std::string spec_text;
  std::string payload;  // owns the bytes the tensor reader walks
};

// Checks the header and checksum; returns the payload.
Parsed check_file(const std::filesystem::path& path) {
  std::string bytes = read_all(path);
  const std::string ctx = "model file " + path.string();
  if (bytes.size() < kHeaderBytes || std::string_view(bytes).substr(0, 8) != kMagic) {
    throw Error(ctx + ": not a mystyle model file (bad magic)", ErrorKind::kCorrupt);
  }
  ByteReader header(std::string_view(bytes).substr(8, kHeaderBytes - 8), ctx);
  const auto version = header.get<std::uint32_t>();
  const auto kind = header.get<std::uint32_t>();
  const auto payload_bytes = header.get<std::uint64_t>();
  const auto checksum = header.get<std::uint64_t>();
  if (version != kModelFileVersion) {
    throw Error(ctx + ": format version " + std::to_string(version) + ", this build reads version " +
                    std::to_string(kModelFileVersion),
                ErrorKind::kCorrupt);
  }
  if (kind != static_cast<std::uint32_t>(ModelFileKind::kModel) &&
      kind != static_cast<std::uint32_t>(ModelFileKind::kCheckpoint)) {
    throw Error(ctx + ": unknown file kind " + std::to_string(kind), ErrorKind::kCorrupt);
  }
  if (payload_bytes != bytes.size() - kHeaderBytes) {
    throw Error(ctx + ": truncated or padded (payload " + std::to_string(bytes.size() - kHeaderBytes) +
                    " bytes, header says " + std::to_string(payload_bytes) + ")",
                ErrorKind::kCorrupt);
  }
  Parsed parsed{static_cast<ModelFileKind>(kind), {}, bytes.substr(kHeaderBytes)};
  if (fnv1a64(parsed.payload) != checksum) throw Error(ctx + ": checksum mismatch", ErrorKind::kCorrupt);
  return parsed;
}

// Reads the tensors and extra blob into `model` (whose spec matches the file's).
std::string read_tensors(ByteReader& r, Model& model) {
  const auto params = model.params();
  const auto count = r.get<std::uint32_t>();
  if (count != params.size()) {
    throw Error(r.context() + ": " + std::to_string(count) + " tensors, the spec has " +
                    std::to_string(params.size()),
                ErrorKind::kCorrupt);
  }
  for (std::size_t i = 0; i < params.size(); ++i) {
    Param& p = *params[i];
    const std::string name = r.get_string();
    const auto ndims = r.get<std::uint32_t>();
    // Checked before allocating: a corrupt count (up to 2^32 dims, 32 GB) once ran out of memory
    // instead of failing (found by fuzz/model_file_fuzzer).
    if (ndims != p.dims.size())
      throw Error(r.context() + ": tensor '" + name + "' has the wrong shape", ErrorKind::kCorrupt);
    std::vector<std::int64_t> dims(ndims);
    for (auto& d : dims) d = r.get<std::int64_t>();
    if (dims != p.dims)
      throw Error(r.context() + ": tensor '" + name + "' has the wrong shape", ErrorKind::kCorrupt);
    r.get_floats_into(p.value, "tensor '" + name + "'");
  }
  std::string extra = r.get_string();
  if (!r.at_end()) throw Error(r.context() + ": trailing bytes", ErrorKind::kCorrupt);
  return extra;
}

ModelSpec parse_file_spec(const std::string& text, const std::string& ctx) {
  try {
    return parse_model_spec(text);
  } catch (const Error& e) {
    throw Error(ctx + ": bad spec: " + e.what(), ErrorKind::kCorrupt);
  }
}

}  // namespace


void save_model(const std::filesystem::path& path, Model& model, ModelFileKind kind, std::string_view extra) {
  ByteWriter payload;
  payload.put_string(format_model_spec(model.spec()));
  const auto params = model.params();
  payload.put<std::uint32_t>(static_cast<std::uint32_t>(params.size()));
  std::size_t layer = 0, in_layer = 0;
  for (std::size_t i = 0; i < params.size(); ++i) {
    // Names like "3.weight": layer index and tensor name.
    while (in_layer >= model.layer(layer).params().size()) {
      ++layer;
      in_layer = 0;
    }
    payload.put_string(std::to_string(layer) + "." + params[i]->name);
    ++in_layer;
    payload.put<std::uint32_t>(static_cast<std::uint32_t>(params[i]->dims.size()));
    for (const auto d : params[i]->dims) payload.put<std::int64_t>(d);
    payload.put_array<float>(params[i]->value);
  }
  payload.put_string(extra);

  ByteWriter header;
  for (const char c : kMagic) header.put<char>(c);
  header.put<std::uint32_t>(kModelFileVersion);
  header.put<std::uint32_t>(static_cast<std::uint32_t>(kind));
  header.put<std::uint64_t>(payload.bytes().size());
  header.put<std::uint64_t>(fnv1a64(payload.bytes()));

  write_file_atomic(path, header.bytes() + payload.bytes());
}

LoadedModel load_model_file(const std::filesystem::path& path) {
  const Parsed parsed = check_file(path);
  ByteReader r(parsed.payload, "model file " + path.string());
  Model model = [&] {
    ModelSpec spec = parse_file_spec(r.get_string(), r.context());
    try {
      // The spec's tensors must fit in what the file still holds, checked before Model allocates
      // them: "linear 2147483647" in a few hundred bytes once asked for 17 GB (fuzz/compat_fuzzer).
      const std::int64_t floats = spec_parameter_count(spec);
      if (static_cast<std::uint64_t>(floats) > r.remaining() / sizeof(float)) {
        throw Error("it declares " + std::to_string(floats) + " parameters, more than the file's " +
                    std::to_string(r.remaining()) + " remaining bytes hold");
      }
      return Model(std::move(spec), /*init_seed=*/0);
    } catch (const Error& e) {
      throw Error(r.context() + ": bad spec: " + e.what(), ErrorKind::kCorrupt);
    }
  }();
  std::string extra = read_tensors(r, model);
  return {std::move(model), parsed.kind, std::move(extra)};
}

Model load_model(const std::filesystem::path& path) {
  return std::move(load_model_file(path).model);
}

std::string load_weights(const std::filesystem::path& path, Model& model) {
  const Parsed parsed = check_file(path);
  ByteReader r(parsed.payload, "model file " + path.string());
  const ModelSpec spec = parse_file_spec(r.get_string(), r.context());
  if (!(spec == model.spec())) {
    throw Error(r.context() + ": spec mismatch (file holds '" + spec.name + "', model is '" +
                    model.spec().name + "')",
                ErrorKind::kCorrupt);
  }
  return read_tensors(r, model);
}

}  // namespace mystyle::nn
