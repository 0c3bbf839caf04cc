// OutfitGraph::with_edits: a graph with live edits applied answers exactly as the catalog, edited the
// same way and loaded again, does (items in id order, each outfit's members, every item's outfits).
#include "mystyle/recommend/outfit_graph.h"

#include <gtest/gtest.h>

#include <map>

#include "mystyle/catalog/import.h"
#include "small_catalog.h"
#include "support/test_support.h"

namespace mystyle::recommend {
namespace {

using catalog::Slot;

std::vector<std::int64_t> item_ids(const OutfitGraph& g) {
  std::vector<std::int64_t> ids;
  for (const auto& item : g.items()) ids.push_back(item.id);
  return ids;
}

/// Outfit id -> its members (item, slot), from outfits().
std::map<std::int64_t, std::vector<std::pair<std::int64_t, Slot>>> outfit_members(const OutfitGraph& g) {
  std::map<std::int64_t, std::vector<std::pair<std::int64_t, Slot>>> out;
  for (const auto& o : g.outfits()) {
    for (const auto& m : o.members) out[o.id].emplace_back(m.item_id, m.slot);
  }
  return out;
}

void expect_same_graph(const OutfitGraph& edited, const OutfitGraph& loaded) {
  EXPECT_EQ(item_ids(edited), item_ids(loaded));
  EXPECT_EQ(edited.items().size(), loaded.items().size());
  EXPECT_EQ(outfit_members(edited), outfit_members(loaded));
  EXPECT_EQ(edited.outfits().size(), loaded.outfits().size());
  for (std::int64_t id = 0; id < 40; ++id) {
    EXPECT_EQ(edited.item(id) != nullptr, loaded.item(id) != nullptr) << "item " << id;
    if (edited.item(id) && loaded.item(id)) {
      EXPECT_EQ(edited.item(id)->source_id, loaded.item(id)->source_id) << "item " << id;
    }
    EXPECT_EQ(edited.outfits_of(id), loaded.outfits_of(id)) << "outfits of item " << id;
    EXPECT_EQ(edited.outfit(id) != nullptr, loaded.outfit(id) != nullptr) << "outfit " << id;
  }
}

class OutfitGraphEdits : public ::testing::Test {
 protected:
  void SetUp() override {
    testing::import_small_catalog(dir_.path(), cat_);
  }
  std::int64_t id(const std::string& source_id) { return cat_.find_item_by_source("t", source_id)->id; }
  catalog::Item new_item(const std::string& source_id) {
    catalog::Item item;
    item.source = "t";
    item.source_id = source_id;
    item.name = source_id;
    item.category = "Tops";
    item.slot = Slot::kMainTop;
    return cat_.add_item(item);
  }

  testing::TempDir dir_;
  catalog::Catalog cat_{dir_ / "ws"};
};

TEST_F(OutfitGraphEdits, EveryEditAgreesWithTheCatalogLoadedAgain) {
  const OutfitGraph loaded_first = OutfitGraph::load(cat_);
  OutfitGraph graph = loaded_first;

  // Delete t1: it leaves o1 (which, left with one piece, goes) and o2 (which keeps two).
  const std::int64_t t1 = id("t1");
  ASSERT_TRUE(cat_.delete_item(t1));
  graph = graph.with_edits({{}, {t1}, {}, {}});
  expect_same_graph(graph, OutfitGraph::load(cat_));
  EXPECT_EQ(graph.item(t1), nullptr);
  EXPECT_NE(loaded_first.item(t1), nullptr);  // the graph it came from is unchanged
  EXPECT_EQ(loaded_first.outfits().size(), 4u);

  // Add two items and an outfit of an added and a loaded item.
  const catalog::Item a = new_item("a1"), b = new_item("b1");
  graph = graph.with_edits({{a, b}, {}, {}, {}});
  catalog::Outfit look;
  look.source = "t";
  look.source_id = "o5";
  look.members = {{a.id, Slot::kMainTop}, {id("j1"), Slot::kBottom}};
  look = cat_.add_outfit(look);
  graph = graph.with_edits({{}, {}, {look}, {}});
  expect_same_graph(graph, OutfitGraph::load(cat_));
  EXPECT_EQ(graph.outfits_of(id("j1")).size(), 2u);  // o3 and o5

  // Delete an added item (o5 goes with it), a loaded one that o3 and o4 hold, and an unknown id.
  const std::int64_t j2 = id("j2");
  ASSERT_TRUE(cat_.delete_item(a.id));
  ASSERT_TRUE(cat_.delete_item(j2));
  graph = graph.with_edits({{}, {a.id, j2, 987654}, {}, {}});
  expect_same_graph(graph, OutfitGraph::load(cat_));
  EXPECT_GT(graph.overlay_size(), 0u);

  // A changed item row keeps its outfits; an outfit removed on its own goes (as a replica applies them).
  catalog::Item renamed = *graph.item(id("j1"));
  renamed.name = "Jeans renamed";
  const auto o3 = graph.outfits_of(renamed.id);
  ASSERT_FALSE(o3.empty());
  {
    auto s = cat_.db().prepare("UPDATE items SET name = ?1 WHERE id = ?2");
    s.bind(1, renamed.name).bind(2, renamed.id).run();
    auto d = cat_.db().prepare("DELETE FROM outfits WHERE id = ?1");
    d.bind(1, o3.front()).run();
  }
  graph = graph.with_edits({{renamed}, {}, {}, {o3.front()}});
  expect_same_graph(graph, OutfitGraph::load(cat_));
  EXPECT_EQ(graph.item(renamed.id)->name, "Jeans renamed");

  // items_span: a copy once edited, the loaded rows themselves before.
  std::vector<catalog::Item> scratch;
  EXPECT_EQ(graph.items_span(scratch).size(), graph.items().size());
  EXPECT_EQ(loaded_first.items_span(scratch).size(), 6u);
}

}  // namespace
}  // namespace mystyle::recommend
