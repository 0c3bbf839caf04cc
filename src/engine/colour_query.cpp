#include "mystyle/engine/colour_query.h"

#include <fmt/format.h>

#include <algorithm>

#include "mystyle/catalog/colour_family.h"
#include "mystyle/core/error.h"

namespace mystyle::engine {
namespace {

std::string accepted() {
  return fmt::format("accepted: {}; or a colour name such as navy or camel", catalog::colour_family_list());
}

}  // namespace

std::string parse_colour_query(std::string_view text, std::string_view field) {
  if (auto family = catalog::parse_colour_family(text)) return *family;
  std::string family = catalog::colour_family_of(text);
  if (!family.empty()) return family;
  throw Error(fmt::format("{}: '{}' names no colour family ({})", field, text, accepted()),
              ErrorKind::kInvalidInput);
}

void require_colour_family(std::string_view family, std::string_view field) {
  if (std::ranges::find(catalog::kColourFamilies, family) != catalog::kColourFamilies.end()) return;
  throw Error(fmt::format("{}: '{}' is not a colour family ({})", field, family, accepted()),
              ErrorKind::kInvalidInput);
}

}  // namespace mystyle::engine
