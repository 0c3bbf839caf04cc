#pragma once
/// Restricts a search to some item ids, e.g. "similar bottoms": the recommend layer maps a category
/// to the ids of its items and passes them as an allow-list.
#include <cstdint>
#include <functional>
#include <span>
#include <vector>

namespace mystyle::index {

/// Either a sorted allow-list of ids or a predicate over ids. Immutable after construction;
/// safe to share between threads when the predicate is (allow-lists always are).
class IdFilter {
 public:
  /// Allows exactly `ids` (any order, duplicates ignored).
  static IdFilter allow_only(std::vector<std::int64_t> ids);
  /// Allows the ids for which `predicate` returns true. It is called once per candidate row, from
  /// the searching thread (several threads at once in a batch search).
  static IdFilter from_predicate(std::function<bool(std::int64_t)> predicate);

  bool allows(std::int64_t id) const;

  /// The sorted allow-list; empty span for a predicate filter (see is_allow_list).
  std::span<const std::int64_t> allowed_ids() const { return allowed_; }
  bool is_allow_list() const { return !predicate_; }

 private:
  IdFilter() = default;
  std::vector<std::int64_t> allowed_;
  std::function<bool(std::int64_t)> predicate_;
};

}  // namespace mystyle::index
