#pragma once
/// The held-out-designs split that every quality claim is made on: a seeded 20% of product designs
/// (the source id before its '-', so every colour of a design falls on the same side) are held out.
/// Learned models (the `style` embedding) train only on the other 80%; evaluations report on the
/// held-out designs (retrieval among them, cold-start FITB whose blank and candidates are them).
/// The coin is a hash of seed, source and design: stable when items are added.
#include <cstdint>
#include <string>

#include "mystyle/catalog/catalog.h"

namespace mystyle::catalog {

/// Share of designs held out.
inline constexpr double kHeldOutDesignFraction = 0.2;
/// The seed every command uses unless told otherwise (training and evaluation must agree).
inline constexpr std::uint64_t kDefaultSplitSeed = 1;

/// The product design of a source id: the text before the first '-' (all of it when none).
std::string design_of(const std::string& source_id);

/// A seeded coin with probability kHeldOutDesignFraction, stable for a key.
bool held_out_key(std::uint64_t seed, const std::string& key);

/// True when `item`'s design is held out under `seed` (key: "<source>/<design>").
bool is_held_out_design(const Item& item, std::uint64_t seed);

}  // namespace mystyle::catalog
