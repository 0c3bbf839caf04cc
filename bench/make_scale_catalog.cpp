// A synthetic shop catalog of any size, shaped like MANGO's, as the CSVs `mystyle import csv` reads
// (README, "Importing your own catalog"): the first half of the scale benchmark's workspace
// (bench/scale_bench.sh; make_scale_vectors adds the model and embeddings after the import).
//
// Every item copies the labels of a MANGO product drawn at random (category, family, type, colour
// group and colour name together, so sizes and the joint distribution are MANGO's); its id, name and
// shop URL are made like MANGO's. A few hundred items are real MANGO products with their photo (for
// thumbnails and photo queries); the rest have none. Outfits copy the slot mix of a MANGO outfit drawn
// at random (a top under an outer layer is `inner_top`, as the MANGO importer has it), at most
// --max-pieces of them, each slot filled by a random item of the same category and slot. Further
// MANGO photos, none of them in the catalog, are listed in queries.txt for the benchmark's queries.
//
// Usage: make_scale_catalog --out DIR [--items 1000000] [--outfits N/3] [--photos 300]
//                           [--queries 500] [--max-pieces 5] [--seed 1] [--mango DIR]
// Writes DIR/items.csv, DIR/outfits.csv, DIR/queries.txt.
#include <fmt/format.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

#include "mystyle/catalog/slot.h"
#include "mystyle/core/csv_reader.h"
#include "mystyle/core/error.h"
#include "mystyle/core/progress.h"

namespace {

using namespace mystyle;
namespace fs = std::filesystem;

struct Options {
  fs::path out;
  fs::path mango;
  std::size_t items = 1'000'000;
  std::size_t outfits = 0;  // 0: items / 3
  std::size_t photos = 300;
  std::size_t queries = 500;
  std::size_t max_pieces = 5;
  std::uint64_t seed = 1;
};

struct Product {
  std::string id, colour_code, colour_name, colour, category, family, type;
  std::string photo;  // absolute path, empty when the file is missing
  catalog::Slot slot = catalog::Slot::kOther;
};

// One piece of a MANGO outfit: the slot it fills there and the category of the product filling it.
struct Piece {
  catalog::Slot slot;
  std::string category;
};

struct FileCloser {
  void operator()(std::FILE* f) const { std::fclose(f); }
};
using File = std::unique_ptr<std::FILE, FileCloser>;

File open_for_writing(const fs::path& path) {
  File f(std::fopen(path.c_str(), "w"));
  if (!f) throw Error(fmt::format("{}: cannot write", path.string()), ErrorKind::kIo);
  return f;
}

/// Closes `f`, throwing when any write to it failed (a full disk).
void close_checked(File& f, const fs::path& path) {
  const bool failed = std::ferror(f.get()) != 0;
  if (std::fclose(f.release()) != 0 || failed) {
    throw Error(fmt::format("{}: write failed", path.string()), ErrorKind::kIo);
  }
}

// RFC 4180: quoted only when it has to be.
std::string csv_field(const std::string& v) {
  if (v.find_first_of(",\"\n\r") == std::string::npos) return v;
  std::string q = "\"";
  for (char c : v) q += c == '"' ? std::string("\"\"") : std::string(1, c);
  return q + "\"";
}

std::vector<Product> read_products(const fs::path& mango) {
  CsvReader reader(mango / "product_data.csv");
  std::vector<std::string> row;
  reader.read_row(row);
  const CsvHeader h(row, reader.where());
  const std::size_t c_id = h.require("cod_modelo_color"), c_code = h.require("cod_color_code"),
                    c_name = h.require("des_color_specification_esp"),
                    c_colour = h.require("des_agrup_color_eng"),
                    c_category = h.require("des_product_category"),
                    c_family = h.require("des_product_family"), c_type = h.require("des_product_type"),
                    c_file = h.require("des_filename");
  std::vector<Product> products;
  while (reader.read_row(row)) {
    if (row.size() != h.size()) throw Error(fmt::format("{}: expected {} fields", reader.where(), h.size()));
    Product p{row[c_id],       row[c_code],   row[c_name], row[c_colour],
              row[c_category], row[c_family], row[c_type], {}};
    p.slot = catalog::natural_slot(p.category, p.family, p.type);
    const fs::path photo = mango / "images" / fs::path(row[c_file]).filename();
    if (fs::is_regular_file(photo)) p.photo = fs::absolute(photo).lexically_normal().string();
    products.push_back(std::move(p));
  }
  return products;
}

// Slot patterns of MANGO's outfits, with at most `max_pieces` pieces (the garments kept first, then
// bag, hat and accessories) and at least two.
std::vector<std::vector<Piece>> read_outfit_patterns(const fs::path& mango,
                                                     const std::vector<Product>& products,
                                                     std::size_t max_pieces) {
  std::unordered_map<std::string, const Product*> by_id;
  for (const Product& p : products) by_id.emplace(p.id, &p);
  CsvReader reader(mango / "outfit_data.csv");
  std::vector<std::string> row;
  reader.read_row(row);
  const CsvHeader h(row, reader.where());
  const std::size_t c_outfit = h.require("cod_outfit"), c_product = h.require("cod_modelo_color");
  std::map<std::string, std::vector<const Product*>> outfits;
  while (reader.read_row(row)) {
    if (row.size() != h.size()) continue;
    if (auto it = by_id.find(row[c_product]); it != by_id.end()) outfits[row[c_outfit]].push_back(it->second);
  }
  auto keep_first = [](catalog::Slot s) {
    using catalog::Slot;
    switch (s) {
      case Slot::kMainTop:
      case Slot::kInnerTop:
      case Slot::kDress:
      case Slot::kBottom:
      case Slot::kShoes:
        return 0;
      case Slot::kBag:
        return 1;
      case Slot::kHat:
        return 2;
      default:
        return 3;
    }
  };
  std::vector<std::vector<Piece>> patterns;
  for (const auto& [id, members] : outfits) {
    const bool has_outer =
        std::ranges::any_of(members, [](const Product* p) { return p->category == "Outerwear"; });
    std::vector<Piece> pieces;
    for (const Product* p : members) {
      pieces.push_back(
          {has_outer && p->category == "Tops" ? catalog::Slot::kInnerTop : p->slot, p->category});
    }
    std::ranges::stable_sort(pieces, {}, [&](const Piece& x) { return keep_first(x.slot); });
    if (pieces.size() > max_pieces) pieces.resize(max_pieces);
    if (pieces.size() >= 2) patterns.push_back(std::move(pieces));
  }
  return patterns;
}

Options parse_args(int argc, char** argv) {
  Options o;
  const char* datasets = std::getenv("MYSTYLE_DATASETS");
  o.mango = fs::path(datasets ? datasets : "../shared/datasets") / "mango";
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (i + 1 >= argc) throw Error(fmt::format("{} needs a value", a));
    const std::string v = argv[++i];
    if (a == "--out")
      o.out = v;
    else if (a == "--mango")
      o.mango = v;
    else if (a == "--items")
      o.items = std::stoul(v);
    else if (a == "--outfits")
      o.outfits = std::stoul(v);
    else if (a == "--photos")
      o.photos = std::stoul(v);
    else if (a == "--queries")
      o.queries = std::stoul(v);
    else if (a == "--max-pieces")
      o.max_pieces = std::stoul(v);
    else if (a == "--seed")
      o.seed = std::stoull(v);
    else
      throw Error(fmt::format("unknown option {}", a));
  }
  if (o.out.empty()) throw Error("--out DIR is required");
  if (o.outfits == 0) o.outfits = o.items / 3;
  if (o.items < 2 * o.photos || o.max_pieces < 2)
    throw Error("need --items >= 2 * --photos and --max-pieces >= 2");
  return o;
}

void generate(const Options& o) {
  std::mt19937_64 rng(o.seed);
  const std::vector<Product> products = read_products(o.mango);
  const auto patterns = read_outfit_patterns(o.mango, products, o.max_pieces);
  std::vector<const Product*> with_photo;
  for (const Product& p : products) {
    if (!p.photo.empty()) with_photo.push_back(&p);
  }
  std::ranges::shuffle(with_photo, rng);
  if (with_photo.size() < o.photos + o.queries)
    throw Error(fmt::format("MANGO has {} photos, fewer than --photos + --queries", with_photo.size()));
  fs::create_directories(o.out);

  // The item rows: a MANGO product's labels each; photo items spread evenly through the file.
  std::uniform_int_distribution<std::size_t> any_product(0, products.size() - 1);
  const std::size_t photo_every = o.photos > 0 ? o.items / o.photos : o.items + 1;
  std::map<std::pair<std::string, catalog::Slot>, std::vector<std::uint32_t>> by_category_slot;
  std::vector<std::string> item_ids;
  item_ids.reserve(o.items);
  std::size_t outfit_count = 0;
  {
    File items = open_for_writing(o.out / "items.csv");
    std::fputs("id,name,category,family,type,colour,url,image\n", items.get());
    Progress progress("writing items.csv", static_cast<std::int64_t>(o.items), "items");
    std::size_t photo_items = 0;
    for (std::size_t i = 0; i < o.items; ++i) {
      const bool photo = photo_items < o.photos && i % photo_every == photo_every / 2;
      const Product& p = photo ? *with_photo[photo_items++] : products[any_product(rng)];
      // MANGO's own shape: 8 digits, a dash, the colour code.
      const std::string id = fmt::format("{:08}-{}", i + 1, p.colour_code);
      const std::string name = p.colour_name.empty() ? p.type : fmt::format("{}, {}", p.type, p.colour_name);
      fmt::print(items.get(), "{},{},{},{},{},{},https://shop.example.com/search?kw={},{}\n", id,
                 csv_field(name), csv_field(p.category), csv_field(p.family), csv_field(p.type),
                 csv_field(p.colour), id, photo ? csv_field(p.photo) : std::string());
      by_category_slot[{p.category, p.slot}].push_back(static_cast<std::uint32_t>(i));
      item_ids.push_back(id);
      progress.advance();
    }
    close_checked(items, o.out / "items.csv");
  }
  {
    File outfits = open_for_writing(o.out / "outfits.csv");
    std::fputs("outfit_id,item_id,slot\n", outfits.get());
    std::uniform_int_distribution<std::size_t> any_pattern(0, patterns.size() - 1);
    Progress progress("writing outfits.csv", static_cast<std::int64_t>(o.outfits), "outfits");
    std::vector<std::uint32_t> chosen;
    std::vector<bool> inner;  // the piece is a top worn under an outer layer
    std::size_t written = 0;
    for (std::size_t n = 0; n < o.outfits; ++n) {
      progress.advance();
      const auto& pattern = patterns[any_pattern(rng)];
      chosen.clear();
      inner.clear();
      for (const Piece& piece : pattern) {
        const catalog::Slot natural =
            piece.slot == catalog::Slot::kInnerTop ? catalog::Slot::kMainTop : piece.slot;
        const auto bucket = by_category_slot.find({piece.category, natural});
        if (bucket == by_category_slot.end()) continue;
        const auto& rows = bucket->second;
        std::uint32_t row = rows[rng() % rows.size()];
        for (int retry = 0; retry < 8 && std::ranges::find(chosen, row) != chosen.end(); ++retry)
          row = rows[rng() % rows.size()];
        if (std::ranges::find(chosen, row) != chosen.end()) continue;
        chosen.push_back(row);
        inner.push_back(piece.slot != natural);
      }
      if (chosen.size() < 2) continue;  // an outfit is two pieces or more
      for (std::size_t j = 0; j < chosen.size(); ++j) {
        fmt::print(outfits.get(), "O{},{},{}\n", n + 1, item_ids[chosen[j]],
                   inner[j] ? catalog::slot_name(catalog::Slot::kInnerTop) : std::string_view());
      }
      ++written;
    }
    close_checked(outfits, o.out / "outfits.csv");
    outfit_count = written;
  }
  {
    File queries = open_for_writing(o.out / "queries.txt");
    for (std::size_t q = 0; q < o.queries; ++q)
      fmt::print(queries.get(), "{}\n", with_photo[o.photos + q]->photo);
    close_checked(queries, o.out / "queries.txt");
  }
  fmt::print(
      "wrote {} items ({} with a MANGO photo), {} outfits of 2-{} pieces ({} MANGO slot patterns), "
      "{} query photos not in the catalog, to {}\n",
      o.items, o.photos, outfit_count, o.max_pieces, patterns.size(), o.queries, o.out.string());
}

}  // namespace

int main(int argc, char** argv) {
  try {
    generate(parse_args(argc, argv));
  } catch (const std::exception& e) {
    fmt::print(stderr, "make_scale_catalog: {}\n", e.what());
    return 1;
  }
  return 0;
}
