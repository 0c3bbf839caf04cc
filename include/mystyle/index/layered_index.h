#pragma once
/// A search index that takes live edits without touching its base: the base index (exact or HNSW,
/// as loaded) is shared and never changed; vectors added since are in a small exact index beside
/// it, and ids removed since are hidden from the base's answers. Each edit makes a new
/// LayeredIndex (with_edits) that shares the base and copies only the small parts, so a search in
/// flight keeps the version it started on, and an edit is all or nothing for it.
///
/// Answers: the base's best k allowed and not hidden, and the added index's best k, merged by score
/// (ties: the base first). With an exact base this is exactly the ranking of an exact index of the
/// live vectors, up to the order of ties; with an HNSW base the added items are found exactly.
#include <memory>

#include "mystyle/index/exact_index.h"
#include "mystyle/index/vector_index.h"

namespace mystyle::index {

class LayeredIndex final : public VectorIndex {
 public:
  /// `base` non-null; it is only read from now on.
  explicit LayeredIndex(std::shared_ptr<const VectorIndex> base);

  /// A new index: this one, with `removed` hidden (from the base, or dropped from the added vectors)
  /// and then `ids` / `vectors` added. An id added again replaces its earlier vector. Throws
  /// mystyle::Error (kInvalidInput) as VectorIndex::add does; this index is unchanged then.
  std::shared_ptr<LayeredIndex> with_edits(std::span<const std::int64_t> removed, std::span<const std::int64_t> ids,
                                           std::span<const float> vectors) const;

  /// Not supported: a LayeredIndex is immutable (with_edits). Throws mystyle::Error kUnsupported.
  void add(std::span<const std::int64_t> ids, std::span<const float> vectors) override;
  std::size_t remove(std::span<const std::int64_t> ids) override;
  std::vector<std::int64_t> changed(std::span<const std::int64_t> ids,
                                    std::span<const float> vectors) const override;

  std::vector<Neighbor> search(std::span<const float> query, std::size_t k,
                               const SearchParams& params = {}) const override;
  std::size_t size() const override { return base_->size() - hidden_->size() + added_->size(); }
  bool contains(std::int64_t id) const override;
  std::size_t dim() const override { return base_->dim(); }
  Metric metric() const override { return base_->metric(); }

  const VectorIndex& base() const { return *base_; }
  std::shared_ptr<const VectorIndex> shared_base() const { return base_; }
  /// Vectors added since the base (ids in insertion order).
  const ExactIndex& added() const { return *added_; }
  /// Base ids hidden (sorted).
  const std::vector<std::int64_t>& hidden() const { return *hidden_; }

 private:
  LayeredIndex() = default;
  std::shared_ptr<const VectorIndex> base_;
  std::shared_ptr<const ExactIndex> added_;
  std::shared_ptr<const std::vector<std::int64_t>> hidden_;  ///< sorted; every one is in the base
};

}  // namespace mystyle::index
