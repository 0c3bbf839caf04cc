#pragma once
/// Asking by colour (issue 24, docs/colour.md "Ask by colour"): the colour family a shopper's word
/// names, for `--colour` on the command line and the `colour` parameter of the API. Pure functions,
/// thread-safe.
#include <string>
#include <string_view>

namespace mystyle::engine {

/// The canonical family (catalog::kColourFamilies) that `text` names: a family name in any case
/// ("Blue", "gray", "multicolour") or any colour name catalog::colour_family_of reads ("navy" ->
/// blue, "camel" -> beige, "NEGRO" -> black). Throws mystyle::Error (kInvalidInput) starting with
/// `field` (e.g. "--colour" or "parameter 'colour'") and listing the families when it names none.
std::string parse_colour_query(std::string_view text, std::string_view field);

/// Throws mystyle::Error (kInvalidInput) naming `field` and listing the families unless `family` is
/// one of catalog::kColourFamilies exactly (what a request carries once parsed).
void require_colour_family(std::string_view family, std::string_view field);

}  // namespace mystyle::engine
