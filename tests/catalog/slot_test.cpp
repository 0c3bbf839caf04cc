#include "mystyle/catalog/slot.h"

#include <gtest/gtest.h>

namespace mystyle::catalog {
namespace {

TEST(Slot, NamesRoundTrip) {
  for (Slot slot : kAllSlots) EXPECT_EQ(parse_slot(slot_name(slot)), slot);
  EXPECT_FALSE(parse_slot("hats").has_value());
}

// The data set README's mapping for MANGO's category/family/type words.
TEST(Slot, NaturalSlotFollowsTheMangoMapping) {
  EXPECT_EQ(natural_slot("Accesories, Swim and Intimate", "Hats, scarves and gloves", "Beanie"), Slot::kHat);
  EXPECT_EQ(natural_slot("Accesories, Swim and Intimate", "Hats, scarves and gloves", "Scarf"), Slot::kAccessory);
  EXPECT_EQ(natural_slot("Outerwear", "Coats", "Coat"), Slot::kMainTop);
  EXPECT_EQ(natural_slot("Tops", "Shirt", "Blouse"), Slot::kMainTop);
  EXPECT_EQ(natural_slot("Bottoms", "Jeans", "Jeans"), Slot::kBottom);
  EXPECT_EQ(natural_slot("Accesories, Swim and Intimate", "Footwear", "Sandals"), Slot::kShoes);
  EXPECT_EQ(natural_slot("Dresses, jumpsuits and Complete set", "Jumpsuit", "Overall"), Slot::kDress);
  EXPECT_EQ(natural_slot("Accesories, Swim and Intimate", "Bags", "Totes bag"), Slot::kBag);
  EXPECT_EQ(natural_slot("Accesories, Swim and Intimate", "Jewellery", "Ring"), Slot::kAccessory);
  EXPECT_EQ(natural_slot("Accesories, Swim and Intimate", "Swimwear", "Bikini top"), Slot::kIntimate);
  EXPECT_EQ(natural_slot("Accesories, Swim and Intimate", "Intimate", "Pyjama Shorts"), Slot::kIntimate);
  EXPECT_EQ(natural_slot("Home", "Deco Accessories", "Candle"), Slot::kOther);
  EXPECT_EQ(natural_slot("Beauty", "Fragances", "Fragance"), Slot::kOther);
}

}  // namespace
}  // namespace mystyle::catalog
