#pragma once
/// Adam's moments in a checkpoint's trainer state, shared by the trainers (internal to src/nn).
#include <string>

#include "mystyle/core/byte_io.h"
#include "mystyle/core/error.h"
#include "mystyle/nn/adam.h"

namespace mystyle::nn::detail {

/// u32 tensor count, then every first moment, then every second moment (float arrays).
inline void put_moments(ByteWriter& w, Adam& adam) {
  w.put<std::uint32_t>(static_cast<std::uint32_t>(adam.first_moments().size()));
  for (const auto& m : adam.first_moments()) w.put_array<float>(m);
  for (const auto& v : adam.second_moments()) w.put_array<float>(v);
}

/// Reads what put_moments wrote; throws kCorrupt naming `context` when it does not match the model.
inline void get_moments(ByteReader& r, Adam& adam, const std::string& context) {
  if (r.get<std::uint32_t>() != adam.first_moments().size()) {
    throw Error(context + ": optimizer state does not match the model", ErrorKind::kCorrupt);
  }
  for (auto& m : adam.first_moments()) r.get_floats_into(m, "Adam first moment");
  for (auto& v : adam.second_moments()) r.get_floats_into(v, "Adam second moment");
}

}  // namespace mystyle::nn::detail
