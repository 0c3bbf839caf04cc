#include "mystyle/index/layered_index.h"

#include <algorithm>

#include "mystyle/core/error.h"
#include "vector_checks.h"

namespace mystyle::index {

LayeredIndex::LayeredIndex(std::shared_ptr<const VectorIndex> base)
    : base_(base ? std::move(base) : throw Error("LayeredIndex: no base index", ErrorKind::kInvalidInput)),
      added_(std::make_shared<ExactIndex>(base_->dim(), base_->metric())),
      hidden_(std::make_shared<std::vector<std::int64_t>>()) {}

bool LayeredIndex::contains(std::int64_t id) const {
  return added_->contains(id) || (base_->contains(id) && !std::ranges::binary_search(*hidden_, id));
}

std::shared_ptr<LayeredIndex> LayeredIndex::with_edits(std::span<const std::int64_t> removed,
                                                       std::span<const std::int64_t> ids,
                                                       std::span<const float> vectors) const {
  // Removed, and added again: the old vector goes, whichever layer holds it.
  std::vector<std::int64_t> gone(removed.begin(), removed.end());
  gone.insert(gone.end(), ids.begin(), ids.end());
  std::vector<std::int64_t> hidden = *hidden_;
  for (const std::int64_t id : gone) {
    if (base_->contains(id)) hidden.push_back(id);
  }
  std::ranges::sort(hidden);
  hidden.erase(std::unique(hidden.begin(), hidden.end()), hidden.end());
  auto added = std::make_shared<ExactIndex>(*added_);
  added->remove(gone);
  added->add(ids, vectors);  // checks the vectors; throws before anything is published
  auto next = std::shared_ptr<LayeredIndex>(new LayeredIndex());
  next->base_ = base_;
  next->added_ = std::move(added);
  next->hidden_ = std::make_shared<const std::vector<std::int64_t>>(std::move(hidden));
  return next;
}

void LayeredIndex::add(std::span<const std::int64_t>, std::span<const float>) {
  throw Error("LayeredIndex is immutable: use with_edits", ErrorKind::kUnsupported);
}

std::size_t LayeredIndex::remove(std::span<const std::int64_t>) {
  throw Error("LayeredIndex is immutable: use with_edits", ErrorKind::kUnsupported);
}

std::vector<Neighbor> LayeredIndex::search(std::span<const float> query, std::size_t k,
                                           const SearchParams& params) const {
  std::vector<Neighbor> base;
  if (hidden_->empty()) {
    base = base_->search(query, k, params);
  } else {
    // The caller's filter with the hidden ids taken out: an allow-list stays one (both indexes scan
    // a short allow-list's rows alone), anything else becomes a predicate checked on candidates only.
    const std::vector<std::int64_t>& hidden = *hidden_;
    const IdFilter* user = params.filter;
    std::optional<IdFilter> filter;
    if (user != nullptr && user->is_allow_list()) {
      std::vector<std::int64_t> allowed;
      allowed.reserve(user->allowed_ids().size());
      std::ranges::set_difference(user->allowed_ids(), hidden, std::back_inserter(allowed));
      filter = IdFilter::allow_only(std::move(allowed));
    } else {
      filter = IdFilter::from_predicate([&hidden, user](std::int64_t id) {
        return !std::ranges::binary_search(hidden, id) && (user == nullptr || user->allows(id));
      });
    }
    SearchParams p = params;
    p.filter = &*filter;
    base = base_->search(query, k, p);
  }
  if (added_->size() == 0) return base;
  std::vector<Neighbor> added = added_->search(query, k, params);
  std::vector<Neighbor> out;
  out.reserve(std::min(k, base.size() + added.size()));
  std::size_t i = 0, j = 0;
  while (out.size() < k && (i < base.size() || j < added.size())) {
    if (j == added.size() || (i < base.size() && base[i].score >= added[j].score)) {
      out.push_back(base[i++]);
    } else {
      out.push_back(added[j++]);
    }
  }
  return out;
}

}  // namespace mystyle::index

namespace mystyle::index {

std::vector<std::int64_t> LayeredIndex::changed(std::span<const std::int64_t> ids, std::span<const float> vectors) const {
  detail::check_rows(ids, vectors, dim());
  // An id lives in the added vectors, or in the base unless hidden: ask the layer that holds it.
  std::vector<std::int64_t> in_added, in_base;
  std::vector<float> added_rows, base_rows;
  for (std::size_t r = 0; r < ids.size(); ++r) {
    const auto row = vectors.subspan(r * dim(), dim());
    if (added_->contains(ids[r])) {
      in_added.push_back(ids[r]);
      added_rows.insert(added_rows.end(), row.begin(), row.end());
    } else if (!std::ranges::binary_search(*hidden_, ids[r])) {
      in_base.push_back(ids[r]);
      base_rows.insert(base_rows.end(), row.begin(), row.end());
    }
  }
  std::vector<std::int64_t> out = added_->changed(in_added, added_rows);
  const std::vector<std::int64_t> from_base = base_->changed(in_base, base_rows);
  out.insert(out.end(), from_base.begin(), from_base.end());
  return out;
}

}  // namespace mystyle::index
