#include "mystyle/catalog/catalog.h"

#include <gtest/gtest.h>

#include "mystyle/core/error.h"
#include "support/test_support.h"

namespace mystyle::catalog {
namespace {

TEST(Catalog, CreatesVersionedSchemaInWalMode) {
  testing::TempDir dir;
  Catalog cat(dir / "ws");
  EXPECT_TRUE(std::filesystem::exists(dir / "ws" / "catalog.db"));
  EXPECT_EQ(cat.schema_version(), Catalog::kSchemaVersion);
  auto mode = cat.db().prepare("PRAGMA journal_mode");
  ASSERT_TRUE(mode.step());
  EXPECT_EQ(mode.column_text(0), "wal");
  EXPECT_EQ(cat.stats().items, 0);
}

TEST(Catalog, ReopeningKeepsDataAndVersion) {
  testing::TempDir dir;
  {
    Catalog cat(dir.path());
    cat.db().exec("INSERT INTO items (source, source_id, slot) VALUES ('t', 'a', 'bottom')");
  }
  Catalog again(dir.path());
  EXPECT_EQ(again.stats().items, 1);
  auto item = again.find_item_by_source("t", "a");
  ASSERT_TRUE(item.has_value());
  EXPECT_EQ(item->slot, Slot::kBottom);
  EXPECT_FALSE(again.find_item(item->id + 1).has_value());
}

TEST(Catalog, RefusesSchemaFromTheFuture) {
  testing::TempDir dir;
  {
    Catalog cat(dir.path());
    cat.db().exec("PRAGMA user_version = 99");
  }
  try {
    Catalog cat(dir.path());
    FAIL() << "expected refusal";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("schema version 99"), std::string::npos) << e.what();
  }
}

Item piece(const std::string& source_id, Slot slot) {
  Item item;
  item.source = "admin";
  item.source_id = source_id;
  item.name = "piece " + source_id;
  item.category = "Tops";
  item.slot = slot;
  return item;
}

TEST(Catalog, LiveEditsAddAndDeleteItemsAndOutfits) {
  testing::TempDir dir;
  Catalog cat(dir.path());
  const Item a = cat.add_item(piece("a", Slot::kMainTop));
  const Item b = cat.add_item(piece("b", Slot::kBottom));
  const Item c = cat.add_item(piece("c", Slot::kShoes));
  EXPECT_EQ(cat.find_item(b.id)->source_id, "b");
  EXPECT_THROW(cat.add_item(piece("a", Slot::kHat)), Error);  // taken (source, source_id)
  EXPECT_EQ(cat.stats().items, 3);

  Outfit two;
  two.source = "admin";
  two.source_id = "two";
  two.members = {{a.id, Slot::kMainTop}, {b.id, Slot::kBottom}};
  Outfit three = two;
  three.source_id = "three";
  three.members.push_back({c.id, Slot::kShoes});
  const Outfit o2 = cat.add_outfit(two);
  const Outfit o3 = cat.add_outfit(three);
  EXPECT_EQ(cat.find_outfit(o3.id)->members.size(), 3u);
  Outfit bad = two;
  bad.source_id = "bad";
  bad.members[1].item_id = 12345;
  EXPECT_THROW(cat.add_outfit(bad), Error);  // unknown item
  bad.members = {{a.id, Slot::kMainTop}, {a.id, Slot::kMainTop}};
  EXPECT_THROW(cat.add_outfit(bad), Error);  // the same piece twice
  EXPECT_THROW(cat.add_outfit(two), Error);  // taken source id
  EXPECT_EQ(cat.stats().outfits, 2);

  // Deleting b: the two-piece outfit is left with one piece and goes; the other keeps two.
  EXPECT_TRUE(cat.delete_item(b.id));
  EXPECT_FALSE(cat.delete_item(b.id));
  EXPECT_FALSE(cat.find_item(b.id));
  EXPECT_FALSE(cat.find_outfit(o2.id));
  ASSERT_TRUE(cat.find_outfit(o3.id));
  EXPECT_EQ(cat.find_outfit(o3.id)->members.size(), 2u);
  EXPECT_TRUE(cat.outfits_with_item(b.id).empty());
}

TEST(Catalog, IdsAreNeverGivenTwice) {
  testing::TempDir dir;
  Catalog cat(dir.path());
  const Item a = cat.add_item(piece("a", Slot::kMainTop));
  const Item b = cat.add_item(piece("b", Slot::kBottom));
  ASSERT_TRUE(cat.delete_item(b.id));  // the largest id
  const Item c = cat.add_item(piece("c", Slot::kShoes));
  EXPECT_GT(c.id, b.id);
  // Importers insert through the same rule.
  cat.db().exec("DELETE FROM items WHERE id = " + std::to_string(c.id));
  auto insert = cat.db().prepare("INSERT INTO items (id, source, source_id, slot) VALUES (" + next_id_sql("items") +
                                 ", 't', 'x', 'bottom')");
  insert.run();
  EXPECT_GT(cat.db().last_insert_id(), c.id);
  EXPECT_TRUE(cat.find_item(a.id));
}

TEST(Catalog, MigratesVersionOneWithItsData) {
  testing::TempDir dir;
  {
    Catalog cat(dir.path());
    // Back to a version-1 file: no watermarks, user_version 1.
    cat.db().exec("DROP TRIGGER items_watermark; DROP TRIGGER outfits_watermark; DROP TABLE id_watermarks;");
    cat.db().exec("DROP INDEX items_by_image_path;");
    cat.db().exec("ALTER TABLE items DROP COLUMN colour_name; ALTER TABLE items DROP COLUMN colour_family;");
    cat.db().exec("INSERT INTO items (source, source_id, slot) VALUES ('t', 'a', 'bottom')");
    cat.db().exec("PRAGMA user_version = 1");
  }
  Catalog again(dir.path());
  EXPECT_EQ(again.schema_version(), Catalog::kSchemaVersion);
  const auto a = again.find_item_by_source("t", "a");
  ASSERT_TRUE(a);
  ASSERT_TRUE(again.delete_item(a->id));
  EXPECT_GT(again.add_item(piece("b", Slot::kBottom)).id, a->id);
}

// Version 3 added colour names and families; a version-2 catalog gets them from what it holds:
// a MANGO item's name ("Trousers, NEGRO"), another source's colour label.
TEST(Catalog, MigratesVersionTwoWithColourFamilies) {
  testing::TempDir dir;
  {
    Catalog cat(dir.path());
    cat.db().exec("DROP INDEX items_by_image_path;");
    cat.db().exec("ALTER TABLE items DROP COLUMN colour_name; ALTER TABLE items DROP COLUMN colour_family;");
    cat.db().exec(
        "INSERT INTO items (source, source_id, name, type, colour, slot) VALUES "
        "('mango', 'm1', 'Trousers, NEGRO', 'Trousers', 'GREY', 'bottom'), "
        "('mango', 'm2', 'Trousers', 'Trousers', 'GREY', 'bottom'), "
        "('shop', 's1', 'Coat', 'Coat', 'Navy', 'main_top')");
    cat.db().exec("PRAGMA user_version = 2");
  }
  Catalog again(dir.path());
  EXPECT_EQ(again.schema_version(), Catalog::kSchemaVersion);
  const auto m1 = again.find_item_by_source("mango", "m1");
  ASSERT_TRUE(m1);
  EXPECT_EQ(m1->colour_name, "NEGRO");
  EXPECT_EQ(m1->colour_family, "black");
  EXPECT_EQ(m1->colour, "GREY");
  EXPECT_EQ(again.find_item_by_source("mango", "m2")->colour_family, "");  // MANGO's group is not a family
  EXPECT_EQ(again.find_item_by_source("shop", "s1")->colour_family, "blue");
  EXPECT_EQ(again.find_item_by_source("shop", "s1")->colour_name, "");
  // Version 4: a delete's question "does another item use this photo?" is answered by an index.
  auto plan = again.db().prepare("EXPLAIN QUERY PLAN SELECT count(*) FROM items WHERE image_path = ?1");
  plan.bind(1, std::string("x.jpg"));
  ASSERT_TRUE(plan.step());
  EXPECT_NE(plan.column_text(3).find("items_by_image_path"), std::string::npos) << plan.column_text(3);
}

TEST(Catalog, KeepsAnItemsColourNameAndFamily) {
  testing::TempDir dir;
  Catalog cat(dir.path());
  Item item = piece("c", Slot::kBottom);
  item.colour = "GREY";
  item.colour_name = "NEGRO";
  item.colour_family = "black";
  const Item added = cat.add_item(item);
  const auto found = cat.find_item(added.id);
  ASSERT_TRUE(found);
  EXPECT_EQ(found->colour, "GREY");
  EXPECT_EQ(found->colour_name, "NEGRO");
  EXPECT_EQ(found->colour_family, "black");
}

}  // namespace
}  // namespace mystyle::catalog
