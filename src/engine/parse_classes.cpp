#include "mystyle/engine/parse_classes.h"

namespace mystyle::engine {

std::optional<catalog::Slot> slot_of(ParseClass c, bool under_outerwear) {
  switch (c) {
    case ParseClass::kBackground:
    case ParseClass::kPerson:
      return std::nullopt;
    case ParseClass::kTop:
      return under_outerwear ? catalog::Slot::kInnerTop : catalog::Slot::kMainTop;
    case ParseClass::kOuterwear:
      return catalog::Slot::kMainTop;
    case ParseClass::kBottom:
      return catalog::Slot::kBottom;
    case ParseClass::kDress:
      return catalog::Slot::kDress;
    case ParseClass::kShoes:
      return catalog::Slot::kShoes;
    case ParseClass::kBag:
      return catalog::Slot::kBag;
    case ParseClass::kAccessory:
      return catalog::Slot::kAccessory;
    case ParseClass::kLegwear:
      return catalog::Slot::kIntimate;
  }
  return std::nullopt;
}

}  // namespace mystyle::engine
