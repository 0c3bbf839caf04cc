#include "mystyle/catalog/slot.h"

#include <algorithm>
#include <cctype>
#include <string>

namespace mystyle::catalog {
namespace {

constexpr std::array<std::string_view, kAllSlots.size()> kSlotNames = {
    "hat", "main_top", "inner_top", "bottom", "shoes", "dress", "bag", "accessory", "intimate", "other"};

std::string lower(std::string_view text) {
  std::string out(text);
  std::ranges::transform(out, out.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

bool contains_any(const std::string& text, std::initializer_list<std::string_view> words) {
  return std::ranges::any_of(words, [&](std::string_view w) { return text.find(w) != std::string::npos; });
}

}  // namespace

std::string_view slot_name(Slot slot) { return kSlotNames[static_cast<std::size_t>(slot)]; }

std::optional<Slot> parse_slot(std::string_view name) {
  for (std::size_t i = 0; i < kSlotNames.size(); ++i) {
    if (kSlotNames[i] == name) return kAllSlots[i];
  }
  return std::nullopt;
}

Slot natural_slot(std::string_view category, std::string_view family, std::string_view type) {
  const std::string cat = lower(category), fam = lower(family), typ = lower(type);
  // MANGO: only hats, caps and beanies of "Hats, scarves and gloves" are the original's hat slot.
  if (typ == "hat" || typ == "cap" || typ == "beanie") return Slot::kHat;
  if (contains_any(fam, {"footwear", "shoe", "sneaker", "boot", "sandal"})) return Slot::kShoes;
  if (contains_any(fam, {"bag"})) return Slot::kBag;
  if (contains_any(cat, {"dress", "jumpsuit"}) || contains_any(fam, {"dress", "jumpsuit"})) return Slot::kDress;
  if (contains_any(cat, {"outerwear", "coat", "jacket"})) return Slot::kMainTop;
  if (contains_any(cat, {"top", "shirt", "sweater", "knit"})) return Slot::kMainTop;
  if (contains_any(cat, {"bottom", "trouser", "pant", "skirt", "jean", "short"})) return Slot::kBottom;
  if (contains_any(fam, {"swim", "intimate", "underwear", "lingerie"})) return Slot::kIntimate;
  if (contains_any(cat, {"acces", "jewel"}) ||
      contains_any(fam, {"jewel", "belt", "glasses", "scarves", "gloves", "wallet", "gadget", "watch"})) {
    return Slot::kAccessory;
  }
  return Slot::kOther;
}

}  // namespace mystyle::catalog
