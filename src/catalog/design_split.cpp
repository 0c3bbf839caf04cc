#include "mystyle/catalog/design_split.h"

#include <fmt/format.h>

#include "mystyle/core/file_io.h"

namespace mystyle::catalog {

std::string design_of(const std::string& source_id) {
  return source_id.substr(0, source_id.find('-'));
}

bool held_out_key(std::uint64_t seed, const std::string& key) {
  return fnv1a64(fmt::format("{}:{}", seed, key)) % 1'000'000 <
         static_cast<std::uint64_t>(kHeldOutDesignFraction * 1e6);
}

bool is_held_out_design(const Item& item, std::uint64_t seed) {
  return held_out_key(seed, item.source + "/" + design_of(item.source_id));
}

}  // namespace mystyle::catalog
