#include <gtest/gtest.h>

#include "mystyle/catalog/catalog.h"
#include "mystyle/catalog/import.h"
#include "mystyle/core/error.h"
#include "support/test_support.h"

namespace mystyle::catalog {
namespace {

using testing::TempDir;
using testing::write_file;

std::int64_t count(Catalog& cat, const char* sql) {
  auto s = cat.db().prepare(sql);
  s.step();
  return s.column_int64(0);
}

/// Runs `import` expecting an Error whose message contains `expected`; returns the message.
template <typename F>
std::string expect_import_error(F&& import, const std::string& expected) {
  try {
    import();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(expected), std::string::npos) << "message: " << e.what();
    return e.what();
  }
  ADD_FAILURE() << "expected an import error containing '" << expected << "'";
  return {};
}

TEST(MangoImport, YieldsTheDataSetCounts) {
  MYSTYLE_REQUIRE_DATASET(mango, "mango/product_data.csv");
  TempDir ws;
  Catalog cat(ws.path());
  const ImportSummary s = import_mango(cat, mango.parent_path());
  EXPECT_EQ(s.items_added, 9222);
  EXPECT_EQ(s.outfits_added, 7842);
  EXPECT_EQ(s.memberships, 43582);
  EXPECT_TRUE(s.warnings.empty());
  const CatalogStats st = cat.stats();
  EXPECT_EQ(st.items, 9222);
  EXPECT_EQ(st.outfits, 7842);
  EXPECT_EQ(st.memberships, 43582);
  EXPECT_EQ(st.items_with_image, 9222);
  EXPECT_EQ(st.items_per_category.at("Tops"), 2768);
  EXPECT_EQ(st.items_per_category.at("Bottoms"), 1631);

  // The README's slot rule, checked in SQL independently of the importer: a top is inner_top
  // exactly when its outfit also holds an Outerwear piece.
  EXPECT_EQ(count(cat,
                  "SELECT count(*) FROM outfit_items m JOIN items i ON i.id = m.item_id WHERE i.category = 'Tops' AND"
                  " (m.slot = 'inner_top') != EXISTS (SELECT 1 FROM outfit_items m2 JOIN items i2 ON i2.id = m2.item_id"
                  " WHERE m2.outfit_id = m.outfit_id AND i2.category = 'Outerwear')"),
            0);
  EXPECT_EQ(count(cat, "SELECT count(*) FROM outfit_items m JOIN items i ON i.id = m.item_id WHERE"
                       " i.category = 'Outerwear' AND m.slot != 'main_top'"),
            0);
  EXPECT_EQ(count(cat, "SELECT count(*) FROM outfit_items m JOIN items i ON i.id = m.item_id WHERE"
                       " i.family = 'Footwear' AND m.slot != 'shoes'"),
            0);
  EXPECT_EQ(st.memberships_per_slot.at("hat"),
            count(cat, "SELECT count(*) FROM outfit_items m JOIN items i ON i.id = m.item_id WHERE"
                       " i.type IN ('Hat', 'Cap', 'Beanie')"));

  auto item = cat.find_item_by_source("mango", "41085800-02");
  ASSERT_TRUE(item.has_value());
  EXPECT_EQ(item->category, "Bottoms");
  EXPECT_EQ(item->colour, "WHITE");  // MANGO's group stays readable
  EXPECT_EQ(item->colour_name, "OFFWHITE");
  EXPECT_EQ(item->colour_family, "white");
  EXPECT_EQ(item->slot, Slot::kBottom);
  EXPECT_EQ(item->shop_url, "https://shop.mango.com/search?kw=41085800-02");
  ASSERT_TRUE(item->image_path.has_value());
  EXPECT_TRUE(std::filesystem::exists(*item->image_path));
  EXPECT_FALSE(cat.outfits_with_item(item->id).empty());

  // Colour families from MANGO's colour names: every item has one, and black is no longer GREY.
  EXPECT_EQ(count(cat, "SELECT count(*) FROM items WHERE colour_family = ''"), 0);
  EXPECT_EQ(count(cat, "SELECT count(*) FROM items WHERE colour_family = 'black' AND colour = 'GREY'"), 2219);
  EXPECT_EQ(count(cat, "SELECT count(*) FROM items WHERE colour_name = 'ORO' AND colour_family = 'metallic'"), 445);

  // Importing again updates in place and duplicates nothing.
  const ImportSummary again = import_mango(cat, mango.parent_path());
  EXPECT_EQ(again.items_added, 0);
  EXPECT_EQ(again.items_updated, 9222);
  EXPECT_EQ(again.outfits_updated, 7842);
  EXPECT_EQ(cat.stats().memberships, 43582);
  EXPECT_EQ(cat.stats().items, 9222);
}

TEST(AihubImport, YieldsTheOriginalsSlotCounts) {
  MYSTYLE_REQUIRE_DATASET(table, "my-style-manager/uni_wearing.csv");
  TempDir ws;
  Catalog cat(ws.path());
  const ImportSummary s = import_aihub(cat, table);
  EXPECT_EQ(s.outfits_added, 18040);
  const CatalogStats st = cat.stats();
  EXPECT_EQ(st.outfits, 18040);
  EXPECT_EQ(st.memberships_per_slot.at("hat"), 32);
  EXPECT_EQ(st.memberships_per_slot.at("main_top"), 18040);
  EXPECT_EQ(st.memberships_per_slot.at("inner_top"), 2838);
  EXPECT_EQ(st.memberships_per_slot.at("bottom"), 16224);
  EXPECT_EQ(st.memberships_per_slot.at("shoes"), 125);
  EXPECT_EQ(st.items, 16272);  // distinct 7-digit ids in the table

  auto first = cat.find_outfit(1);
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->source_id, "1008_1008_720_A_A001_A001_000.jpg");
  ASSERT_EQ(first->members.size(), 3u);
  EXPECT_EQ(first->members[0].slot, Slot::kHat);
  EXPECT_EQ(cat.find_item(first->members[0].item_id)->source_id, "1008013");
  EXPECT_EQ(first->members[2].slot, Slot::kBottom);
}

/// A three-product, two-outfit catalog in MANGO's layout, with one real (tiny) image.
struct MiniMango {
  TempDir dir;
  std::string products =
      "\"cod_modelo_color\",\"des_agrup_color_eng\",\"des_product_category\",\"des_product_family\","
      "\"des_product_type\",\"des_filename\"\n"
      "\"A-01\",\"BLUE\",\"Outerwear\",\"Coats\",\"Coat\",\"datathon/images/a.jpg\"\n"
      "\"B-02\",\"WHITE\",\"Tops\",\"Shirt\",\"Shirt\",\"datathon/images/b.jpg\"\n"
      "\"C-03\",\"BLUE\",\"Bottoms\",\"Jeans\",\"Jeans\",\"datathon/images/c.jpg\"\n";
  std::string outfits = "cod_outfit,cod_modelo_color\n1,A-01\n1,B-02\n1,C-03\n2,B-02\n2,C-03\n";
  void write() {
    write_file(dir / "product_data.csv", products);
    write_file(dir / "outfit_data.csv", outfits);
    for (const char* name : {"a.jpg", "b.jpg", "c.jpg"}) write_file(dir / "images" / name, "jpeg bytes");
  }
};

TEST(MangoImport, AssignsInnerTopOnlyUnderAnOuterLayer) {
  MiniMango m;
  m.write();
  TempDir ws;
  Catalog cat(ws.path());
  import_mango(cat, m.dir.path());
  auto o1 = cat.find_outfit(1), o2 = cat.find_outfit(2);
  ASSERT_TRUE(o1 && o2);
  EXPECT_EQ(o1->members[0].slot, Slot::kMainTop);
  EXPECT_EQ(o1->members[1].slot, Slot::kInnerTop);
  EXPECT_EQ(o2->members[0].slot, Slot::kMainTop);
  EXPECT_EQ(o2->members[1].slot, Slot::kBottom);
}

// Each malformed file fails naming file:line and field, and a catalog imported before is untouched.
TEST(MangoImport, MalformedInputAbortsAndLeavesCatalogUnchanged) {
  TempDir ws;
  Catalog cat(ws.path());
  {
    MiniMango good;
    good.write();
    import_mango(cat, good.dir.path());
  }
  const CatalogStats before = cat.stats();

  struct Case {
    std::string products_edit_from, products_edit_to, outfits, expected;
  };
  MiniMango base;
  const std::vector<Case> cases = {
      {"\"des_product_type\",", "", base.outfits, "product_data.csv:1: missing column 'des_product_type'"},
      {"\"C-03\"", "\"A-01\"", base.outfits,
       "product_data.csv:4: field 'cod_modelo_color': duplicate product id 'A-01' (first on line 2)"},
      {"", "", "cod_outfit,cod_modelo_color\n1,A-01\nx1,B-02\n", "outfit_data.csv:3: field 'cod_outfit': 'x1' is not a whole number"},
      {"", "", "cod_outfit,cod_modelo_color\n1,A-01\n1,Z-99\n",
       "outfit_data.csv:3: field 'cod_modelo_color': unknown product 'Z-99'"},
      {"", "", "cod_outfit,cod_modelo_color\n1,A-01,extra\n", "outfit_data.csv:2: expected 2 fields, found 3"},
  };
  for (const Case& c : cases) {
    MiniMango m;
    if (!c.products_edit_from.empty()) {
      auto pos = m.products.find(c.products_edit_from);
      ASSERT_NE(pos, std::string::npos);
      m.products.replace(pos, c.products_edit_from.size(), c.products_edit_to);
    }
    m.outfits = c.outfits;
    m.outfits += "3,C-03\n";  // a valid row after the bad one: everything valid must not land either
    m.write();
    expect_import_error([&] { import_mango(cat, m.dir.path()); }, c.expected);
    const CatalogStats after = cat.stats();
    EXPECT_EQ(after.items, before.items) << c.expected;
    EXPECT_EQ(after.outfits, before.outfits) << c.expected;
    EXPECT_EQ(after.memberships, before.memberships) << c.expected;
  }
}

TEST(MangoImport, MissingImageIsAWarningNotAFailure) {
  MiniMango m;
  m.write();
  std::filesystem::remove(m.dir / "images" / "b.jpg");
  TempDir ws;
  Catalog cat(ws.path());
  const ImportSummary s = import_mango(cat, m.dir.path());
  ASSERT_EQ(s.warnings.size(), 1u);
  EXPECT_NE(s.warnings[0].find("product_data.csv:3: field 'des_filename': image file"), std::string::npos)
      << s.warnings[0];
  EXPECT_FALSE(cat.find_item_by_source("mango", "B-02")->image_path.has_value());
  EXPECT_EQ(cat.stats().items, 3);
}

TEST(AihubImport, BadItemIdNamesLineAndField) {
  TempDir dir, ws;
  auto csv = write_file(dir / "uni.csv",
                        "wearing,hat,main_top,inner_top,bottom,shoes\n"
                        "a.jpg,,1000001,,1000002,\n"
                        "b.jpg,,10000x3,,1000002,0\n");
  Catalog cat(ws.path());
  expect_import_error([&] { import_aihub(cat, csv); }, "uni.csv:3: field 'main_top': '10000x3' is not a 7-digit item id");
  EXPECT_EQ(cat.stats().outfits, 0);
}

TEST(CsvImport, ImportsGenericFormatWithUrlsSlotsAndImages) {
  TempDir dir, ws;
  write_file(dir / "img" / "p1.jpg", "x");
  auto items = write_file(dir / "items.csv",
                          "id,name,category,url,slot,image,colour\n"
                          "p1,Blue coat,Outerwear,https://shop.example/p1,,img/p1.jpg,BLUE\n"
                          "p2,White tee,Tops,https://shop.example/p2,inner_top,,WHITE\n"
                          "p3,Jeans,Bottoms,https://shop.example/p3,,,BLUE\n");
  auto outfits = write_file(dir / "outfits.csv", "outfit_id,item_id,slot\nlook1,p1,\nlook1,p2,\nlook1,p3,\nlook2,p3,\n");
  Catalog cat(ws.path());
  const ImportSummary s = import_csv(cat, items, outfits, "example");
  EXPECT_EQ(s.items_added, 3);
  EXPECT_EQ(s.outfits_added, 2);
  EXPECT_EQ(s.memberships, 4);
  auto p1 = cat.find_item_by_source("example", "p1");
  ASSERT_TRUE(p1.has_value());
  EXPECT_EQ(p1->shop_url, "https://shop.example/p1");
  EXPECT_EQ(p1->slot, Slot::kMainTop);
  EXPECT_TRUE(p1->image_path.has_value());
  EXPECT_EQ(cat.find_item_by_source("example", "p2")->slot, Slot::kInnerTop);
  auto look1 = cat.find_outfit(1);
  ASSERT_TRUE(look1.has_value());
  EXPECT_EQ(look1->members[1].slot, Slot::kInnerTop);

  // A later outfits file may refer to items imported before.
  auto more = write_file(dir / "more.csv", "outfit_id,item_id\nlook3,p1\n");
  auto empty_items = write_file(dir / "none.csv", "id,name,category,url\n");
  EXPECT_EQ(import_csv(cat, empty_items, more, "example").memberships, 1);
}

// colour_name and colour_family are optional: a family given is checked and kept, else it is read
// from the colour name, else from the colour label.
TEST(CsvImport, TakesColourNamesAndFamilies) {
  TempDir dir, ws;
  auto items = write_file(dir / "items.csv",
                          "id,name,category,url,colour,colour_name,colour_family\n"
                          "p1,Coat,Outerwear,u,,Midnight Navy,\n"
                          "p2,Tee,Tops,u,,Moonbeam,White\n"
                          "p3,Jeans,Bottoms,u,Black,,\n"
                          "p4,Bag,Accessories,u,,,\n");
  Catalog cat(ws.path());
  import_csv(cat, items, std::nullopt, "example");
  const auto p1 = cat.find_item_by_source("example", "p1");
  ASSERT_TRUE(p1);
  EXPECT_EQ(p1->colour_name, "Midnight Navy");
  EXPECT_EQ(p1->colour_family, "blue");
  EXPECT_EQ(cat.find_item_by_source("example", "p2")->colour_family, "white");
  EXPECT_EQ(cat.find_item_by_source("example", "p3")->colour_family, "black");
  EXPECT_EQ(cat.find_item_by_source("example", "p3")->colour, "Black");
  EXPECT_EQ(cat.find_item_by_source("example", "p4")->colour_family, "");

  auto bad = write_file(dir / "bad.csv",
                        "id,name,category,url,colour_family\n"
                        "q1,Coat,Outerwear,u,black\n"
                        "q2,Tee,Tops,u,navy\n");
  expect_import_error([&] { import_csv(cat, bad, std::nullopt, "example"); },
                      "bad.csv:3: field 'colour_family': unknown colour family 'navy' (known: black, white, grey");
  EXPECT_FALSE(cat.find_item_by_source("example", "q1"));
}

TEST(CsvImport, ReportsEveryProblemWithFileLineAndField) {
  TempDir dir, ws;
  auto items = write_file(dir / "items.csv",
                          "id,name,category,url,slot\n"
                          "p1,A,Tops,u,\n"
                          "p1,B,Tops,u,\n"
                          "p2,C,Tops,u,sleeves\n");
  auto outfits = write_file(dir / "outfits.csv", "outfit_id,item_id\no1,p1\no1,nope\n");
  Catalog cat(ws.path());
  const std::string message = expect_import_error([&] { import_csv(cat, items, outfits); }, "3 problems");
  EXPECT_NE(message.find("items.csv:3: field 'id': duplicate item id 'p1' (first on line 2)"), std::string::npos);
  EXPECT_NE(message.find("items.csv:4: field 'slot': unknown slot 'sleeves'"), std::string::npos);
  EXPECT_NE(message.find("outfits.csv:3: field 'item_id': unknown item 'nope'"), std::string::npos);
  EXPECT_EQ(cat.stats().items, 0);
}

// Photos must lie inside the images folder (default: the CSV's own): `..`, an absolute path or a
// symlink leading out is an error naming the line and field, and nothing is imported; another
// folder may be named as the root.
TEST(CsvImport, PhotosOutsideTheImagesFolderAreRefused) {
  TempDir outside, dir, ws;
  const auto secret = write_file(outside / "secret.jpg", "not yours");
  write_file(dir / "img" / "ok.jpg", "x");
  std::filesystem::create_symlink(secret, dir / "img" / "link.jpg");
  auto items = write_file(dir / "items.csv",
                          "id,name,category,url,image\n"
                          "p1,A,Tops,u,img/ok.jpg\n"
                          "p2,B,Tops,u,../" + outside.path().filename().string() + "/secret.jpg\n"
                          "p3,C,Tops,u," + secret.string() + "\n"
                          "p4,D,Tops,u,img/link.jpg\n"
                          "p5,E,Tops,u,img/../img/ok.jpg\n");
  auto outfits = write_file(dir / "outfits.csv", "outfit_id,item_id,photo\no1,p1," + secret.string() + "\n");
  Catalog cat(ws.path());
  const std::string message = expect_import_error([&] { import_csv(cat, items, outfits); }, "4 problems");
  for (const char* where : {"items.csv:3: field 'image'", "items.csv:4: field 'image'", "items.csv:5: field 'image'",
                            "outfits.csv:2: field 'photo'"}) {
    EXPECT_NE(message.find(where), std::string::npos) << where << " in " << message;
  }
  EXPECT_NE(message.find("outside the images folder"), std::string::npos) << message;
  EXPECT_EQ(message.find("items.csv:2:"), std::string::npos) << message;  // inside: fine
  EXPECT_EQ(message.find("items.csv:6:"), std::string::npos) << message;  // '..' that stays inside: fine
  EXPECT_EQ(cat.stats().items, 0);

  // Naming the common parent as the root lets them in, the symlink's target included.
  const auto parent = outside.path().parent_path();
  ASSERT_EQ(parent, dir.path().parent_path());
  const ImportSummary s = import_csv(cat, items, outfits, "csv", parent);
  EXPECT_EQ(s.items_added, 5);
  EXPECT_EQ(*cat.find_item_by_source("csv", "p4")->image_path, std::filesystem::canonical(secret).string());
}

}  // namespace
}  // namespace mystyle::catalog
