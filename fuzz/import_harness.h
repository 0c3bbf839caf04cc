#pragma once
// The property every importer fuzz target checks: an import either succeeds and writes exactly
// what its summary says, or fails with mystyle::Error and leaves the catalog as it was; importing
// the same files again then changes nothing (the importers' documented contract, import.h).
#include <functional>
#include <optional>

#include "fuzz_support.h"
#include "mystyle/catalog/catalog.h"
#include "mystyle/catalog/import.h"

namespace mystyle::fuzz {

inline bool same_counts(const catalog::CatalogStats& a, const catalog::CatalogStats& b) {
  return a.items == b.items && a.outfits == b.outfits && a.memberships == b.memberships &&
         a.items_with_image == b.items_with_image;
}

/// Runs `import` into a fresh catalog in the scratch folder, then again into the same catalog.
inline void check_import(const std::function<catalog::ImportSummary(catalog::Catalog&)>& import) {
  const auto workspace = scratch_dir() / "workspace";
  std::filesystem::remove_all(workspace);
  catalog::Catalog cat(workspace);
  const catalog::CatalogStats before = cat.stats();

  std::optional<catalog::ImportSummary> first;
  expect_only_mystyle_errors([&] { first = import(cat); });
  const catalog::CatalogStats after = cat.stats();
  if (!first) {
    check(same_counts(before, after), "a failed import changed the catalog (half-written import)");
    return;
  }
  check(first->items_updated == 0 && first->outfits_updated == 0, "a fresh catalog reported updates");
  check(after.items == first->items_added, "catalog item count differs from the summary");
  check(after.outfits == first->outfits_added, "catalog outfit count differs from the summary");
  check(after.memberships == first->memberships, "catalog membership count differs from the summary");

  std::optional<catalog::ImportSummary> second;
  expect_only_mystyle_errors([&] {
    try {
      second = import(cat);
    } catch (const Error& e) {
      std::fprintf(stderr, "second import: %s\n", e.what());
      throw;
    }
  });
  check(second.has_value(), "importing the same files a second time failed");
  check(second->items_added == 0 && second->outfits_added == 0, "importing the same files again added rows");
  check(same_counts(after, cat.stats()), "importing the same files again changed the counts");
}

}  // namespace mystyle::fuzz
