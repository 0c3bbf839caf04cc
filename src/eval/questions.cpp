#include "mystyle/eval/questions.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <unordered_set>

#include "mystyle/catalog/design_split.h"
#include "mystyle/core/error.h"
#include "mystyle/core/file_io.h"

namespace mystyle::eval {
namespace {

/// A seeded coin with probability kHeldOutFraction, stable for a key (adding data moves nothing).
bool held_out(std::uint64_t seed, const std::string& key) {
  return catalog::held_out_key(seed, key);
}

/// Uniform index below n (modulo bias is below 1e-15 for catalog sizes; portable across libraries).
std::size_t pick(std::mt19937_64& rng, std::size_t n) {
  return static_cast<std::size_t>(rng() % n);
}

template <typename T>
void shuffle(std::vector<T>& v, std::mt19937_64& rng) {
  for (std::size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[pick(rng, i)]);
}

std::vector<std::int64_t> unique_members(const catalog::Outfit& outfit) {
  std::vector<std::int64_t> ids;
  for (const auto& m : outfit.members) {
    if (std::ranges::find(ids, m.item_id) == ids.end()) ids.push_back(m.item_id);
  }
  return ids;
}

/// Draws `count` distinct items of `pool` that pass `allowed`; fewer when the pool runs out.
template <typename Allowed>
std::vector<std::int64_t> draw(const std::vector<std::int64_t>& pool, std::size_t count, std::mt19937_64& rng,
                               Allowed allowed) {
  std::vector<std::int64_t> eligible;
  for (std::int64_t id : pool) {
    if (allowed(id)) eligible.push_back(id);
  }
  std::vector<std::int64_t> out;
  for (std::size_t i = 0; i < count && !eligible.empty(); ++i) {
    const std::size_t j = pick(rng, eligible.size());
    out.push_back(eligible[j]);
    eligible.erase(eligible.begin() + static_cast<std::ptrdiff_t>(j));
  }
  return out;
}

/// Items per category: cold protocol splits them into new and known pools, warm uses one pool.
struct Pools {
  std::map<std::pair<std::string, bool>, std::vector<std::int64_t>> by_category_new;
  const std::vector<std::int64_t>& of(const catalog::Item& item, bool is_new) const {
    static const std::vector<std::int64_t> kEmpty;
    auto it = by_category_new.find({item.category, is_new});
    return it == by_category_new.end() ? kEmpty : it->second;
  }
};

Pools make_pools(const recommend::OutfitGraph& graph, const std::set<std::int64_t>& new_items,
                 bool split_by_new) {
  Pools pools;
  for (const auto& item : graph.items()) {
    const bool is_new = split_by_new && new_items.contains(item.id);
    pools.by_category_new[{item.category, is_new}].push_back(item.id);
  }
  return pools;
}

std::vector<std::int64_t> int_array(const nlohmann::json& j, const std::string& where) {
  if (!j.is_array()) throw Error(fmt::format("{}: expected an array of ids", where));
  std::vector<std::int64_t> out;
  for (const auto& v : j) {
    if (!v.is_number_integer()) throw Error(fmt::format("{}: expected an array of integer ids", where));
    out.push_back(v.get<std::int64_t>());
  }
  return out;
}

const nlohmann::json& field(const nlohmann::json& j, const char* key, const std::string& where) {
  if (!j.is_object() || !j.contains(key)) throw Error(fmt::format("{}: missing field '{}'", where, key));
  return j.at(key);
}

}  // namespace

std::string protocol_name(Protocol protocol) {
  return protocol == Protocol::kCold ? "cold" : "warm";
}

Protocol parse_protocol(const std::string& name) {
  if (name == "cold") return Protocol::kCold;
  if (name == "warm") return Protocol::kWarm;
  throw Error(fmt::format("unknown protocol '{}' (expected cold or warm)", name));
}

std::string design_of(const std::string& source_id) {
  return catalog::design_of(source_id);
}

Split make_split(const recommend::OutfitGraph& graph, Protocol protocol, std::uint64_t seed) {
  Split split;
  if (protocol == Protocol::kWarm) {
    for (const auto& outfit : graph.outfits()) {
      if (held_out(seed, outfit.source + "/" + outfit.source_id)) {
        split.exclude_outfits.push_back(outfit.id);
        split.question_outfits.push_back(outfit.id);
      }
    }
  } else {
    std::set<std::int64_t> new_items;
    for (const auto& item : graph.items()) {
      if (catalog::is_held_out_design(item, seed)) new_items.insert(item.id);
    }
    for (const auto& outfit : graph.outfits()) {
      const auto members = unique_members(outfit);
      const auto n_new =
          std::ranges::count_if(members, [&](std::int64_t id) { return new_items.contains(id); });
      if (n_new > 0) split.exclude_outfits.push_back(outfit.id);
      if (n_new == 1 && members.size() >= 2) split.question_outfits.push_back(outfit.id);
    }
    split.new_items.assign(new_items.begin(), new_items.end());
  }
  std::ranges::sort(split.exclude_outfits);
  std::ranges::sort(split.question_outfits);
  return split;
}

namespace {

// What FITB and compatibility questions are drawn from: the split, its new items and the pools of
// replacement candidates (split by new / known in the cold protocol).
struct QuestionSource {
  Split split;
  std::set<std::int64_t> new_items;
  bool cold = false;
  Pools pools;
};

QuestionSource question_source(const recommend::OutfitGraph& graph, Protocol protocol, std::uint64_t seed) {
  QuestionSource q;
  q.split = make_split(graph, protocol, seed);
  q.new_items.insert(q.split.new_items.begin(), q.split.new_items.end());
  q.cold = protocol == Protocol::kCold;
  q.pools = make_pools(graph, q.new_items, q.cold);
  return q;
}

}  // namespace

FitbSet make_fitb(const recommend::OutfitGraph& graph, Protocol protocol, std::uint64_t seed) {
  const auto [split, new_items, cold, pools] = question_source(graph, protocol, seed);
  std::mt19937_64 rng(seed);
  FitbSet set;
  set.exclude_outfits = split.exclude_outfits;
  for (std::int64_t outfit_id : split.question_outfits) {
    std::vector<std::int64_t> members = unique_members(*graph.outfit(outfit_id));
    if (members.size() < 2) continue;
    std::size_t blank_at = 0;
    if (cold) {
      blank_at = static_cast<std::size_t>(
          std::ranges::find_if(members, [&](std::int64_t id) { return new_items.contains(id); }) -
          members.begin());
    } else {
      blank_at = pick(rng, members.size());
    }
    const std::int64_t blank = members[blank_at];
    const catalog::Item& blank_item = *graph.item(blank);
    const std::string blank_design = design_of(blank_item.source_id);
    auto others = draw(pools.of(blank_item, cold), kCandidates - 1, rng, [&](std::int64_t id) {
      return std::ranges::find(members, id) == members.end() &&
             design_of(graph.item(id)->source_id) != blank_design;
    });
    if (others.size() < kCandidates - 1) continue;  // too few items of this category
    FitbQuestion q;
    q.outfit = outfit_id;
    members.erase(members.begin() + static_cast<std::ptrdiff_t>(blank_at));
    q.items = std::move(members);
    q.candidates = std::move(others);
    q.candidates.push_back(blank);
    shuffle(q.candidates, rng);
    set.questions.push_back(std::move(q));
    set.answers.push_back(blank);
  }
  return set;
}

CompatSet make_compat(const recommend::OutfitGraph& graph, Protocol protocol, std::uint64_t seed) {
  const auto [split, new_items, cold, pools] = question_source(graph, protocol, seed);
  std::mt19937_64 rng(seed ^ 0x636f6d706174ull);  // "compat": a stream apart from FITB's
  std::vector<std::pair<std::vector<std::int64_t>, bool>> outfits;
  for (std::int64_t outfit_id : split.question_outfits) {
    const std::vector<std::int64_t> real = unique_members(*graph.outfit(outfit_id));
    std::vector<std::int64_t> fake;
    for (std::int64_t id : real) {
      auto one = draw(pools.of(*graph.item(id), cold && new_items.contains(id)), 1, rng, [&](std::int64_t c) {
        return std::ranges::find(fake, c) == fake.end() && std::ranges::find(real, c) == real.end();
      });
      if (one.empty()) break;
      fake.push_back(one.front());
    }
    if (fake.size() != real.size()) continue;
    outfits.emplace_back(real, true);
    outfits.emplace_back(std::move(fake), false);
  }
  shuffle(outfits, rng);
  CompatSet set;
  set.exclude_outfits = split.exclude_outfits;
  for (auto& [items, label] : outfits) {
    set.outfits.push_back(std::move(items));
    set.labels.push_back(label);
  }
  return set;
}

nlohmann::json fitb_questions_json(const FitbSet& set) {
  nlohmann::json qs = nlohmann::json::array();
  for (const auto& q : set.questions)
    qs.push_back({{"outfit", q.outfit}, {"items", q.items}, {"candidates", q.candidates}});
  return {{"exclude_outfits", set.exclude_outfits}, {"questions", qs}};
}

nlohmann::json fitb_answers_json(const FitbSet& set) {
  nlohmann::json as = nlohmann::json::array();
  for (std::size_t i = 0; i < set.answers.size(); ++i)
    as.push_back({{"outfit", set.questions[i].outfit}, {"answer", set.answers[i]}});
  return {{"answers", as}};
}

nlohmann::json compat_questions_json(const CompatSet& set) {
  nlohmann::json os = nlohmann::json::array();
  for (const auto& o : set.outfits) os.push_back({{"items", o}});
  return {{"exclude_outfits", set.exclude_outfits}, {"outfits", os}};
}

nlohmann::json compat_answers_json(const CompatSet& set) {
  nlohmann::json labels = nlohmann::json::array();
  for (bool l : set.labels) labels.push_back(l ? 1 : 0);
  return {{"labels", labels}};
}

FitbSet parse_fitb(const nlohmann::json& questions, const nlohmann::json& answers, const std::string& name) {
  FitbSet set;
  set.exclude_outfits = int_array(field(questions, "exclude_outfits", name), name + ": exclude_outfits");
  const auto& qs = field(questions, "questions", name);
  if (!qs.is_array()) throw Error(fmt::format("{}: questions: expected an array", name));
  for (std::size_t i = 0; i < qs.size(); ++i) {
    const std::string where = fmt::format("{}: questions[{}]", name, i);
    FitbQuestion q;
    const auto& outfit = field(qs[i], "outfit", where);
    q.outfit = outfit.is_number_integer() ? outfit.get<std::int64_t>() : -1;
    q.items = int_array(field(qs[i], "items", where), where + ".items");
    q.candidates = int_array(field(qs[i], "candidates", where), where + ".candidates");
    if (q.candidates.empty()) throw Error(where + ".candidates: no candidates");
    set.questions.push_back(std::move(q));
  }
  if (answers.is_null()) return set;
  const auto& as = field(answers, "answers", name + " (answers)");
  if (!as.is_array() || as.size() != set.questions.size()) {
    throw Error(
        fmt::format("{} (answers): expected {} answers, one per question", name, set.questions.size()));
  }
  for (std::size_t i = 0; i < as.size(); ++i) {
    const auto& a = field(as[i], "answer", fmt::format("{} (answers): answers[{}]", name, i));
    if (!a.is_number_integer())
      throw Error(fmt::format("{} (answers): answers[{}].answer: expected an item id", name, i));
    const auto id = a.get<std::int64_t>();
    if (std::ranges::find(set.questions[i].candidates, id) == set.questions[i].candidates.end()) {
      throw Error(fmt::format("{} (answers): answers[{}]: item {} is not among the question's candidates",
                              name, i, id));
    }
    set.answers.push_back(id);
  }
  return set;
}

CompatSet parse_compat(const nlohmann::json& questions, const nlohmann::json& answers,
                       const std::string& name) {
  CompatSet set;
  set.exclude_outfits = int_array(field(questions, "exclude_outfits", name), name + ": exclude_outfits");
  const auto& os = field(questions, "outfits", name);
  if (!os.is_array()) throw Error(fmt::format("{}: outfits: expected an array", name));
  for (std::size_t i = 0; i < os.size(); ++i) {
    const std::string where = fmt::format("{}: outfits[{}]", name, i);
    set.outfits.push_back(int_array(field(os[i], "items", where), where + ".items"));
  }
  if (answers.is_null()) return set;
  const auto& ls = field(answers, "labels", name + " (answers)");
  if (!ls.is_array() || ls.size() != set.outfits.size()) {
    throw Error(fmt::format("{} (answers): expected {} labels, one per outfit", name, set.outfits.size()));
  }
  for (const auto& l : ls) {
    if (!(l.is_number_integer() || l.is_boolean())) throw Error(name + " (answers): labels: expected 0 or 1");
    set.labels.push_back(l.is_boolean() ? l.get<bool>() : l.get<int>() != 0);
  }
  return set;
}

}  // namespace mystyle::eval
