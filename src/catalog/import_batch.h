#pragma once
/// What every importer produces before anything touches the database, and the one function
/// that writes it. Internal to the importers (not part of the public catalog API).
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "mystyle/catalog/catalog.h"
#include "mystyle/catalog/import.h"

namespace mystyle::catalog {

struct ItemRecord {
  std::string source_id, name, category, family, type, colour;
  std::string colour_name, colour_family;  ///< see Item
  Slot slot = Slot::kOther;
  std::string shop_url;
  std::optional<std::string> image_path;
};

struct OutfitRecord {
  std::string source_id;
  std::optional<std::string> photo_path;
  std::vector<std::pair<std::string, Slot>> members;  ///< item source id, slot; in source order
};

struct ImportBatch {
  std::string source;
  std::vector<ItemRecord> items;
  std::vector<OutfitRecord> outfits;
};

/// Gathers problems while parsing. Errors are fatal (the import aborts); warnings are reported.
class ImportProblems {
 public:
  void error(const std::string& where, const std::string& what);
  void warning(const std::string& where, const std::string& what);
  /// Throws one Error listing the errors (the first 20 in full) when there are any.
  void throw_if_errors() const;
  std::vector<std::string> take_warnings() { return std::move(warnings_); }

 private:
  std::vector<std::string> errors_;
  std::vector<std::string> warnings_;
};

/// Writes `batch` in one transaction: items and outfits are inserted or updated in place by
/// (source, source id); an updated outfit's members are replaced. Member ids must name items of
/// the batch or items of the same source already in the catalog (the caller checked).
ImportSummary write_import_batch(Catalog& catalog, const ImportBatch& batch, std::vector<std::string> warnings);

}  // namespace mystyle::catalog
