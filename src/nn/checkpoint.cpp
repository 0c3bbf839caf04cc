#include "mystyle/nn/checkpoint.h"

#include <algorithm>
#include <set>

#include "mystyle/core/byte_io.h"
#include "mystyle/core/error.h"
#include "mystyle/nn/model_file.h"

namespace mystyle::nn {
namespace {

enum SectionType : std::uint32_t { kInt = 1, kFloats = 2, kRng = 3, kAdam = 4, kBytes = 5 };

std::string type_name(std::uint32_t type) {
  switch (type) {
    case kInt:
      return "an int";
    case kFloats:
      return "floats";
    case kRng:
      return "an rng state";
    case kAdam:
      return "an adam state";
    case kBytes:
      return "bytes";
    default:
      return "type " + std::to_string(type);
  }
}

std::string section_label(std::string_view name) {
  return "section '" + std::string(name) + "'";
}

using Moments = std::vector<std::vector<float>>;

// Version 1: u32 tensor count, every first moment, then every second moment.
void read_v1_moments(ByteReader& r, Moments& first, Moments& second) {
  const auto n = r.get<std::uint32_t>();
  // Each moment takes at least its u64 count: bounds n before allocating.
  if (n > r.remaining() / (2 * sizeof(std::uint64_t)))
    r.fail("truncated (optimizer state runs past the end)");
  first.resize(n);
  second.resize(n);
  for (auto& m : first) m = r.get_array<float>();
  for (auto& v : second) v = r.get_array<float>();
}

// The version-1 layouts (both numbered 1; the family says which), as today's sections.
std::string upgrade_v1(ByteReader& r, std::string_view family) {
  CheckpointWriter w{std::string(family)};
  Moments first, second;
  if (family == kAutoencoderFamily) {
    // i32 epoch, i64 step, i32 batch_size, u64 rng[4], moments
    const auto epoch = r.get<std::int32_t>();
    const auto step = r.get<std::int64_t>();
    const auto batch_size = r.get<std::int32_t>();
    Rng::State rng;
    for (auto& word : rng) word = r.get<std::uint64_t>();
    read_v1_moments(r, first, second);
    w.put_int("epoch", epoch).put_int("batch_size", batch_size).put_rng("rng", rng);
    w.put_adam("adam", step, first, second);
  } else if (family == kStyleFamily) {
    // i32 epoch, i32 batch_size, u64 rng[4], u32 heads, per head {str name, floats}, then the
    // encoder's and the proxies' Adam, each i64 step + moments
    w.put_int("epoch", r.get<std::int32_t>());
    w.put_int("batch_size", r.get<std::int32_t>());
    Rng::State rng;
    for (auto& word : rng) word = r.get<std::uint64_t>();
    w.put_rng("rng", rng);
    const auto heads = r.get<std::uint32_t>();
    w.put_int("heads", heads);
    std::set<std::string> names;
    for (std::uint32_t h = 0; h < heads; ++h) {
      std::string name = r.get_string();
      // ProxyLoss names them "proxies_<head>", which no other section's name starts with.
      if (!name.starts_with("proxies_") || !names.insert(name).second)
        r.fail("bad proxy tensor '" + name + "'");
      w.put_floats(name, r.get_array<float>());
    }
    for (const char* adam : {"adam", "proxy_adam"}) {
      const auto step = r.get<std::int64_t>();
      read_v1_moments(r, first, second);
      w.put_adam(adam, step, first, second);
    }
  } else {
    r.fail("trainer state version 1, which only '" + std::string(kAutoencoderFamily) + "' and '" +
           std::string(kStyleFamily) + "' checkpoints have (this is read as '" + std::string(family) + "')");
  }
  if (!r.at_end()) r.fail("trailing bytes in trainer state");
  return w.state();
}

}  // namespace

// --- CheckpointWriter ---

CheckpointWriter::CheckpointWriter(std::string family) : family_(std::move(family)) {}

CheckpointWriter& CheckpointWriter::put(std::string_view name, std::uint32_t type, std::string_view payload) {
  if (std::find(names_.begin(), names_.end(), name) != names_.end()) {
    throw Error("checkpoint: " + section_label(name) + " added twice");
  }
  names_.emplace_back(name);
  ByteWriter w;
  w.put_string(name);
  w.put<std::uint32_t>(type);
  w.put<std::uint64_t>(payload.size());
  w.put_bytes(payload.data(), payload.size());
  sections_ += w.bytes();
  return *this;
}

CheckpointWriter& CheckpointWriter::put_int(std::string_view name, std::int64_t value) {
  ByteWriter w;
  w.put<std::int64_t>(value);
  return put(name, kInt, w.bytes());
}

CheckpointWriter& CheckpointWriter::put_floats(std::string_view name, std::span<const float> values) {
  ByteWriter w;
  w.put_array<float>(values);
  return put(name, kFloats, w.bytes());
}

CheckpointWriter& CheckpointWriter::put_rng(std::string_view name, const Rng::State& state) {
  ByteWriter w;
  for (const auto word : state) w.put<std::uint64_t>(word);
  return put(name, kRng, w.bytes());
}

CheckpointWriter& CheckpointWriter::put_adam(std::string_view name, const Adam& adam) {
  return put_adam(name, adam.step_count(), adam.first_moments(), adam.second_moments());
}

CheckpointWriter& CheckpointWriter::put_adam(std::string_view name, std::int64_t step, const Moments& first,
                                             const Moments& second) {
  if (first.size() != second.size())
    throw Error("checkpoint: " + section_label(name) + ": moments of unequal counts");
  ByteWriter w;
  w.put<std::int64_t>(step);
  w.put<std::uint32_t>(static_cast<std::uint32_t>(first.size()));
  for (const auto& m : first) w.put_array<float>(m);
  for (const auto& v : second) w.put_array<float>(v);
  return put(name, kAdam, w.bytes());
}

CheckpointWriter& CheckpointWriter::put_bytes(std::string_view name, std::string_view bytes) {
  return put(name, kBytes, bytes);
}

std::string CheckpointWriter::state() const {
  ByteWriter w;
  w.put<std::uint32_t>(kTrainerStateVersion);
  w.put_string(family_);
  w.put<std::uint32_t>(static_cast<std::uint32_t>(names_.size()));
  return w.bytes() + sections_;
}

void CheckpointWriter::save(const std::filesystem::path& path, Model& model) const {
  save_model(path, model, ModelFileKind::kCheckpoint, state());
}

// --- CheckpointReader ---

CheckpointReader CheckpointReader::load(const std::filesystem::path& path, Model& model,
                                        std::string_view family) {
  std::string state = load_weights(path, model);
  return CheckpointReader(std::move(state), "checkpoint " + path.string(), family);
}

CheckpointReader::CheckpointReader(std::string state, std::string context, std::string_view family)
    : state_(std::move(state)), context_(std::move(context)) {
  if (state_.empty()) fail("a model file without trainer state");
  ByteReader r(state_, context_);
  const auto version = r.get<std::uint32_t>();
  if (version == 1) {
    state_ = upgrade_v1(r, family);
    r = ByteReader(state_, context_);
    r.get<std::uint32_t>();
  } else if (version != kTrainerStateVersion) {
    fail("trainer state version " + std::to_string(version) + ", this build reads versions 1 and " +
         std::to_string(kTrainerStateVersion));
  }
  const std::string written_by = r.get_string();
  if (written_by != family) {
    fail("a '" + written_by + "' checkpoint, this trainer reads '" + std::string(family) + "' checkpoints");
  }
  const auto count = r.get<std::uint32_t>();
  for (std::uint32_t i = 0; i < count; ++i) {
    std::string name = r.get_string();
    const auto type = r.get<std::uint32_t>();
    const auto size = r.get<std::uint64_t>();
    if (size > r.remaining()) fail(section_label(name) + " is truncated");
    const std::size_t offset = state_.size() - r.remaining();
    r = ByteReader(std::string_view(state_).substr(offset + size), context_);
    if (type < kInt || type > kBytes) fail(section_label(name) + " has unknown type " + std::to_string(type));
    if (!sections_.try_emplace(name, Section{type, offset, static_cast<std::size_t>(size)}).second) {
      fail(section_label(name) + " appears twice");
    }
  }
  if (!r.at_end()) fail("trailing bytes in trainer state");
}

void CheckpointReader::fail(const std::string& what) const {
  throw Error(context_ + ": " + what, ErrorKind::kCorrupt);
}

bool CheckpointReader::has(std::string_view name) const {
  return sections_.find(name) != sections_.end();
}

std::string_view CheckpointReader::payload(std::string_view name, std::uint32_t type) const {
  const auto it = sections_.find(name);
  if (it == sections_.end()) fail("no " + section_label(name) + " in trainer state");
  if (it->second.type != type) {
    fail(section_label(name) + " holds " + type_name(it->second.type) + ", expected " + type_name(type));
  }
  return std::string_view(state_).substr(it->second.offset, it->second.size);
}

namespace {

// A reader of one section's payload, whose errors name the file and the section.
ByteReader section_reader(std::string_view payload, const std::string& context, std::string_view name) {
  return ByteReader(payload, context + ": " + section_label(name));
}

void expect_end(const ByteReader& r) {
  if (!r.at_end()) r.fail("trailing bytes");
}

}  // namespace

std::int64_t CheckpointReader::get_int(std::string_view name, std::int64_t min, std::int64_t max) const {
  ByteReader r = section_reader(payload(name, kInt), context_, name);
  const auto value = r.get<std::int64_t>();
  expect_end(r);
  if (value < min || value > max) {
    r.fail("holds " + std::to_string(value) + ", outside " + std::to_string(min) + ".." +
           std::to_string(max));
  }
  return value;
}

std::vector<float> CheckpointReader::get_floats(std::string_view name) const {
  ByteReader r = section_reader(payload(name, kFloats), context_, name);
  std::vector<float> values = r.get_array<float>();
  expect_end(r);
  return values;
}

void CheckpointReader::get_floats_into(std::string_view name, std::vector<float>& out) const {
  ByteReader r = section_reader(payload(name, kFloats), context_, name);
  r.get_floats_into(out, "it");
  expect_end(r);
}

Rng::State CheckpointReader::get_rng(std::string_view name) const {
  ByteReader r = section_reader(payload(name, kRng), context_, name);
  Rng::State state;
  for (auto& word : state) word = r.get<std::uint64_t>();
  expect_end(r);
  return state;
}

void CheckpointReader::get_adam_into(std::string_view name, Adam& adam) const {
  ByteReader r = section_reader(payload(name, kAdam), context_, name);
  const auto step = r.get<std::int64_t>();
  if (r.get<std::uint32_t>() != adam.first_moments().size())
    r.fail("optimizer state does not match the model");
  Moments first = adam.first_moments(), second = adam.second_moments();  // sizes to check against
  for (auto& m : first) r.get_floats_into(m, "Adam first moment");
  for (auto& v : second) r.get_floats_into(v, "Adam second moment");
  expect_end(r);
  adam.first_moments() = std::move(first);
  adam.second_moments() = std::move(second);
  adam.set_step_count(step);
}

std::string CheckpointReader::get_bytes(std::string_view name) const {
  return std::string(payload(name, kBytes));
}

}  // namespace mystyle::nn
