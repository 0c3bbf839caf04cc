#pragma once
/// Where a piece sits in an outfit: the original's five slots, then the further ones that real
/// shop outfits hold.
#include <array>
#include <optional>
#include <string_view>

namespace mystyle::catalog {

enum class Slot {
  kHat,        ///< hats, caps, beanies (the original's `hat`)
  kMainTop,    ///< the outer layer: a coat or jacket, or a top when nothing is over it
  kInnerTop,   ///< a top worn under an outer layer
  kBottom,     ///< trousers, jeans, skirts, shorts
  kShoes,      ///< footwear
  kDress,      ///< dresses and jumpsuits: fill top and bottom at once
  kBag,        ///< bags
  kAccessory,  ///< jewellery, belts, glasses, scarves, gloves, wallets, gadgets
  kIntimate,   ///< swimwear and underwear
  kOther,      ///< anything else (home, beauty)
};

inline constexpr std::array kAllSlots = {Slot::kHat,  Slot::kMainTop,   Slot::kInnerTop, Slot::kBottom,
                                         Slot::kShoes, Slot::kDress,    Slot::kBag,      Slot::kAccessory,
                                         Slot::kIntimate, Slot::kOther};

/// The stored and displayed name: hat, main_top, inner_top, bottom, shoes, dress, bag, accessory,
/// intimate, other.
std::string_view slot_name(Slot slot);
/// Inverse of slot_name; nullopt for an unknown name.
std::optional<Slot> parse_slot(std::string_view name);

/// The slot a product takes on its own (an outer layer or a top is `main_top`), from its
/// category/family/type words. MANGO's names are recognised; other shops' common English names too.
Slot natural_slot(std::string_view category, std::string_view family, std::string_view type);

}  // namespace mystyle::catalog
