#pragma once
/// The catalog: items, outfits and which item fills which slot of which outfit, in one SQLite file
/// (`catalog.db` in the workspace). Opening migrates the schema to the current version.
/// One Catalog per thread (it owns one SQLite connection).
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mystyle/catalog/database.h"
#include "mystyle/catalog/slot.h"

namespace mystyle::catalog {

struct Item {
  std::int64_t id = 0;          ///< the catalog's own id
  std::string source;           ///< which importer brought it: "mango", "aihub", "csv", ...
  std::string source_id;        ///< the shop's product id (MANGO cod_modelo_color, AI-Hub 7-digit id)
  std::string name;
  std::string category, family, type;
  std::string colour;           ///< the source's colour label as it gave it (MANGO: its colour group, e.g. GREY)
  std::string colour_name;      ///< the shop's name of the colour ("NEGRO", "navy"); "" when not given
  std::string colour_family;    ///< the family a shopper sees (colour_family.h: "black"); "" when unknown
  Slot slot = Slot::kOther;     ///< the slot it takes on its own
  std::string shop_url;
  std::optional<std::string> image_path;  ///< absolute path of the product photo, when there is one
};

struct OutfitMember {
  std::int64_t item_id = 0;
  Slot slot = Slot::kOther;  ///< the slot it fills in this outfit (a top under a coat is inner_top)
};

struct Outfit {
  std::int64_t id = 0;
  std::string source, source_id;
  std::optional<std::string> photo_path;  ///< a photo of the outfit being worn, when there is one
  std::vector<OutfitMember> members;      ///< in the source's order
};

struct CatalogStats {
  std::int64_t items = 0, outfits = 0, memberships = 0, items_with_image = 0;
  std::map<std::string, std::int64_t> memberships_per_slot;  ///< slot name -> count
  std::map<std::string, std::int64_t> items_per_category;
};

struct ItemQuery {
  std::optional<std::string> category, slot, source;
  std::int64_t offset = 0;
  std::int64_t limit = 50;
};

/// The SQL expression of a new row's id in `table` ("items" or "outfits"): one past both the
/// largest id there and the largest id ever deleted from it, so an id is never given twice.
/// Every INSERT into those tables uses it.
std::string next_id_sql(std::string_view table);

/// How a person reads the item's colour: colour_family.h's colour_label of its colour_family,
/// colour_name and colour ("black (NEGRO)").
std::string colour_label(const Item& item);

class Catalog {
 public:
  static constexpr int kSchemaVersion = 4;
  static constexpr const char* kFileName = "catalog.db";

  /// Opens `workspace/catalog.db`, creating the folder and the file when absent, and migrates
  /// an older schema. A database from a newer version of mystyle is refused.
  explicit Catalog(const std::filesystem::path& workspace);

  Database& db() { return db_; }
  int schema_version();

  CatalogStats stats();
  std::optional<Item> find_item(std::int64_t id);
  std::optional<Item> find_item_by_source(const std::string& source, const std::string& source_id);
  /// Items in id order, filtered and paged.
  std::vector<Item> list_items(const ItemQuery& query);
  std::int64_t count_items(const ItemQuery& query);
  /// Every item, in id order.
  std::vector<Item> all_items();
  std::optional<Outfit> find_outfit(std::int64_t id);
  /// Ids of the outfits holding `item_id`, in outfit id (= import) order.
  std::vector<std::int64_t> outfits_with_item(std::int64_t item_id);

  /// Live edits (the server's admin API), each one transaction. add_item inserts `item` (its id is
  /// ignored) and returns it with the id given; an item of the same (source, source_id) already
  /// there is an Error (kInvalidInput) naming both. Empty source or source_id is an Error.
  Item add_item(const Item& item);
  /// Removes the item and its places in outfits; an outfit left with fewer than two pieces goes
  /// too. Returns false (and changes nothing) when there is no such item.
  bool delete_item(std::int64_t id);
  /// Inserts an outfit of existing items (at least two, each once) and returns it with its id.
  /// Unknown items, duplicates or a taken (source, source_id) are an Error (kInvalidInput/kNotFound).
  Outfit add_outfit(const Outfit& outfit);

 private:
  void migrate();
  Database db_;
};

}  // namespace mystyle::catalog
