#pragma once
/// A small, fully specified random generator (xoshiro256**) whose state can be saved and restored,
/// so that initialisation and shuffling are identical across platforms and across a resume.
#include <array>
#include <cstdint>
#include <span>

namespace mystyle::nn {

class Rng {
 public:
  using State = std::array<std::uint64_t, 4>;

  /// Seeds the four state words from `seed` with splitmix64 (any seed, 0 included, is fine).
  explicit Rng(std::uint64_t seed = 0);

  std::uint64_t next_u64();
  /// Uniform in [0, 1) with 24 random bits.
  float uniform_float();
  /// Uniform in [lo, hi).
  float uniform(float lo, float hi) { return lo + (hi - lo) * uniform_float(); }
  /// Uniform integer in [0, n) for 0 < n < 2^32 (multiply-shift; bias below n / 2^32).
  std::uint64_t below(std::uint64_t n);
  /// Fisher-Yates shuffle in place.
  void shuffle(std::span<std::uint32_t> values);

  const State& state() const { return state_; }
  void set_state(const State& state) { state_ = state; }

 private:
  State state_{};
};

}  // namespace mystyle::nn
