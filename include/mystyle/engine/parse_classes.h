#pragma once
/// The classes the `parse` model gives every pixel of a photo of a person, and the catalog slot each
/// garment class is searched in. docs/parsing.md publishes the table and the mapping from the
/// Clothing Co-Parsing (CCP) labels the model learns from.
#include <array>
#include <cstdint>
#include <optional>
#include <string_view>

#include "mystyle/catalog/slot.h"

namespace mystyle::engine {

enum class ParseClass : std::uint8_t {
  kBackground,  ///< not the person
  kPerson,      ///< skin and hair
  kTop,         ///< t-shirt, shirt, blouse, sweater, sweatshirt, vest, bodysuit, top
  kOuterwear,   ///< coat, jacket, blazer, cardigan, cape, suit
  kBottom,      ///< trousers, jeans, shorts, skirt, leggings
  kDress,       ///< dress, romper (a one-piece)
  kShoes,       ///< every kind of footwear
  kBag,         ///< bag, purse, wallet
  kAccessory,   ///< belt, jewellery, glasses, hat, scarf, gloves, tie, watch
  kLegwear,     ///< socks, stockings, tights, and underwear or swimwear
};
inline constexpr int kParseClasses = 10;

inline constexpr std::array<std::string_view, kParseClasses> kParseClassNames = {
    "background", "person", "top", "outerwear", "bottom", "dress", "shoes", "bag", "accessory", "legwear"};

inline std::string_view parse_class_name(ParseClass c) {
  return kParseClassNames[static_cast<std::size_t>(c)];
}

/// The catalog slot a class's pieces are searched in; nullopt for background and person. A top is
/// `main_top` on its own and `inner_top` when outerwear is worn over it (`under_outerwear`).
std::optional<catalog::Slot> slot_of(ParseClass c, bool under_outerwear = false);

/// True for the classes that are garments the catalog may sell (not background, not person).
inline bool is_garment(ParseClass c) {
  return c != ParseClass::kBackground && c != ParseClass::kPerson;
}

}  // namespace mystyle::engine
