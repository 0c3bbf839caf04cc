#pragma once
/// Items and outfits loaded once from the catalog into memory, for the lookups recommendation
/// makes on every query (item -> outfits holding it, outfit -> its pieces). Immutable, so one graph
/// may be shared by many threads.
///
/// Live edits do not copy it: with_edits() gives a new graph that shares this one's loaded base and
/// holds only what changed (an overlay: items added, base items hidden, outfits added or changed).
/// A graph is cheap to copy (two shared pointers); its items and outfits live as long as any graph
/// that shares them.
#include <cstdint>
#include <iterator>
#include <memory>
#include <span>
#include <unordered_map>
#include <vector>

#include "mystyle/catalog/catalog.h"

namespace mystyle::recommend {

/// What one live edit changes (the catalog has already stored it).
struct GraphEdits {
  /// New ids, or a changed row of an id already there (its outfits kept); an id removed earlier may
  /// come back.
  std::vector<catalog::Item> added_items;
  std::vector<std::int64_t> removed_items;  ///< as Catalog::delete_item: out of its outfits too
  std::vector<catalog::Outfit> added_outfits;  ///< new, or replacing the outfit of the same id
  std::vector<std::int64_t> removed_outfits;   ///< applied after the item edits, before added_outfits
};

class OutfitGraph {
  struct Base;
  struct Overlay;

 public:
  OutfitGraph();
  /// Reads every item and outfit of `catalog`.
  static OutfitGraph load(catalog::Catalog& catalog);
  /// This graph with `edits` applied, as a reload after them would read it (items and outfits in
  /// id order). Costs the size of the overlay, not of the catalog (and a bit per loaded row). Unknown
  /// removed ids are ignored.
  OutfitGraph with_edits(const GraphEdits& edits) const;

  /// nullptr for an unknown (or removed) id.
  const catalog::Item* item(std::int64_t item_id) const;
  const catalog::Outfit* outfit(std::int64_t outfit_id) const;
  /// Ids of the outfits holding the item (in any slot), in outfit id (= import) order; empty for
  /// an unknown item. An outfit holding the item twice is listed once.
  std::vector<std::int64_t> outfits_of(std::int64_t item_id) const;

  /// Every live element in id order (the loaded rows not hidden merged with the overlay's, as a reload
  /// would read them): a forward range with size().
  template <typename T>
  class Range {
   public:
    class iterator {
     public:
      using value_type = T;
      using difference_type = std::ptrdiff_t;
      using reference = const T&;
      using pointer = const T*;
      using iterator_category = std::forward_iterator_tag;
      iterator() = default;
      reference operator*() const { return from_base() ? (*base_)[b_] : (*overlay_)[o_]; }
      pointer operator->() const { return &**this; }
      iterator& operator++() {
        if (from_base()) {
          ++b_;
          skip_hidden();
        } else {
          ++o_;
        }
        return *this;
      }
      iterator operator++(int) {
        iterator copy = *this;
        ++*this;
        return copy;
      }
      bool operator==(const iterator& o) const { return b_ == o.b_ && o_ == o.o_; }

     private:
      friend class Range;
      iterator(const Range* r, std::size_t b, std::size_t o)
          : base_(r->base_), hidden_(r->hidden_), overlay_(r->overlay_), b_(b), o_(o) {
        skip_hidden();
      }
      void skip_hidden() {
        while (hidden_ != nullptr && b_ < base_->size() && (*hidden_)[b_]) ++b_;
      }
      bool from_base() const {
        return b_ < base_->size() && (o_ >= overlay_->size() || (*base_)[b_].id < (*overlay_)[o_].id);
      }
      const std::vector<T>* base_ = nullptr;
      const std::vector<bool>* hidden_ = nullptr;
      const std::vector<T>* overlay_ = nullptr;
      std::size_t b_ = 0, o_ = 0;
    };
    iterator begin() const { return iterator(this, 0, 0); }
    iterator end() const { return iterator(this, base_->size(), overlay_->size()); }
    std::size_t size() const { return size_; }
    bool empty() const { return size_ == 0; }
    const T& front() const { return *begin(); }

   private:
    friend class OutfitGraph;
    Range(const std::vector<T>* base, const std::vector<bool>* hidden, const std::vector<T>* overlay,
          std::size_t size)
        : base_(base), hidden_(hidden), overlay_(overlay), size_(size) {}
    const std::vector<T>* base_;
    const std::vector<bool>* hidden_;  ///< base rows not shown (removed, or replaced in the overlay)
    const std::vector<T>* overlay_;
    std::size_t size_;
  };

  /// Every live item, ids ascending.
  Range<catalog::Item> items() const;
  /// Every live outfit, ids ascending (an outfit an edit changed in its place).
  Range<catalog::Outfit> outfits() const;

  /// items() as one contiguous span, for code that takes a span: the loaded items themselves when no
  /// edit changed them, else a copy put in `scratch`.
  std::span<const catalog::Item> items_span(std::vector<catalog::Item>& scratch) const;

  /// Items and outfits the overlay holds or hides: what a compaction (a full reload) would fold in.
  std::size_t overlay_size() const;

 private:
  std::shared_ptr<const Base> base_;
  std::shared_ptr<const Overlay> overlay_;
};

}  // namespace mystyle::recommend
