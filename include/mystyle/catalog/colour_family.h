#pragma once
/// Colour families: the colour a shopper would name (black, beige, metallic, ...) read from a shop's
/// colour name ("NEGRO", "TEJANO OSCURO", "light blue"). The mapping is data in the repository,
/// data/colour_families.tsv, compiled in; docs/colour.md explains it. All functions are pure and
/// thread-safe (the table is read once, on first use).
#include <array>
#include <optional>
#include <string>
#include <string_view>

namespace mystyle::catalog {

/// Every family, in the order a person scans a colour chart. "" (not listed) means unknown.
inline constexpr std::array<std::string_view, 14> kColourFamilies = {
    "black", "white",  "grey",   "beige", "brown", "metallic", "blue",
    "green", "yellow", "orange", "red",   "pink",  "purple",   "multi"};

/// The family of a colour name, "" when it cannot be told. A name listed in the table (MANGO's
/// 110 names, the family names, common English names; case, accents, '-' and '_' ignored) gets its
/// family. Otherwise its words are read: a word naming a print (print, stripes, multicolour) makes
/// it "multi"; two colours joined by "and", "&", "/" or "+" make it "multi"; else the family its
/// colour words agree on ("dark navy blue" -> blue, "GRIS PERLA" -> grey). Words that disagree
/// ("white gold") leave it unknown rather than guess.
std::string colour_family_of(std::string_view colour_name);

/// A family name as a shop may write it (any case; "gray", "multicolour" accepted) -> the
/// canonical family (kColourFamilies); nullopt for anything else, "" included.
std::optional<std::string> parse_colour_family(std::string_view text);

/// "black, white, grey, ..." (for error messages).
std::string colour_family_list();

/// The family an item without an explicit one gets: that of its shop colour name, else that of its
/// `colour` label ("" when neither tells). MANGO's importer does not use it: MANGO's `colour` is
/// its colour group, which calls black GREY.
std::string derived_colour_family(std::string_view colour_name, std::string_view colour);

/// An item's shop colour name and family.
struct ItemColour {
  std::string name, family;
};

/// The colour name and family of an item stored before they were kept (catalog schema 3, PostgreSQL
/// schema 2), from what it held: a MANGO import wrote the colour name only into the item's name
/// ("Trousers, OFFWHITE" for type Trousers), and MANGO's `colour` is its group, which tells no family;
/// another source's `colour` is the shop's own label, read as a colour name (the name stays "").
ItemColour colour_of_stored_item(std::string_view source, std::string_view name, std::string_view type,
                                 std::string_view colour);

/// How a person reads an item's colour from its family, shop colour name and `colour` label:
/// "black (NEGRO)", the family alone when there is no other name, the shop's name alone when the
/// family is unknown, else the `colour` label, else "-". catalog::colour_label(const Item&) reads an item.
std::string colour_label(std::string_view family, std::string_view name, std::string_view colour);

}  // namespace mystyle::catalog
