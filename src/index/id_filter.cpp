#include "mystyle/index/id_filter.h"

#include <algorithm>

namespace mystyle::index {

IdFilter IdFilter::allow_only(std::vector<std::int64_t> ids) {
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  IdFilter filter;
  filter.allowed_ = std::move(ids);
  return filter;
}

IdFilter IdFilter::from_predicate(std::function<bool(std::int64_t)> predicate) {
  IdFilter filter;
  filter.predicate_ = std::move(predicate);
  if (!filter.predicate_) filter.predicate_ = [](std::int64_t) { return false; };
  return filter;
}

bool IdFilter::allows(std::int64_t id) const {
  if (predicate_) return predicate_(id);
  return std::binary_search(allowed_.begin(), allowed_.end(), id);
}

}  // namespace mystyle::index
