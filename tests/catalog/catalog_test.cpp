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

}  // namespace
}  // namespace mystyle::catalog
