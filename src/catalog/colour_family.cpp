#include "mystyle/catalog/colour_family.h"

#include <fmt/format.h>

#include <algorithm>
#include <set>
#include <unordered_map>
#include <vector>

#include "colour_families_tsv.h"
#include "mystyle/core/error.h"

namespace mystyle::catalog {
namespace {

struct Entry {
  std::string family;
  bool weak = false;  // names a family only when no other word of the name does (denim)
};

using Table = std::unordered_map<std::string, Entry>;

/// Lower-case ASCII with the accents of Spanish, French and German letters dropped; '-', '_' and
/// runs of white space become one space; no space at either end.
std::string normalise(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  bool space = false;
  auto put = [&](char c) {
    if (space && !out.empty()) out += ' ';
    space = false;
    out += c;
  };
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '-' || c == '_') {
      space = true;
    } else if (c == 0xC3 && i + 1 < text.size()) {  // UTF-8 Latin-1 supplement: U+00C0..U+00FF
      const auto d = static_cast<unsigned char>(text[i + 1]) & 0x1F;  // the same for upper and lower case
      // index d: 0-6 a, 7 c, 8-11 e, 12-15 i, 17 n, 18-22 o (24 o-slash), 25-28 u, 29 y
      static constexpr char kBase[32] = {'a', 'a', 'a', 'a', 'a', 'a', 'a', 'c', 'e', 'e', 'e',
                                         'e', 'i', 'i', 'i', 'i', '?', 'n', 'o', 'o', 'o', 'o',
                                         'o', '?', 'o', 'u', 'u', 'u', 'u', 'y', '?', '?'};
      put(kBase[d]);
      ++i;
    } else {
      put(static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c));
    }
  }
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

bool is_family(std::string_view name) {
  return std::find(kColourFamilies.begin(), kColourFamilies.end(), name) != kColourFamilies.end();
}

/// Parses data/colour_families.tsv. A malformed line is a bug of the repository's data (the unit
/// test reads the same text), reported with its line rather than ignored.
Table parse_table(std::string_view tsv) {
  Table table;
  std::size_t line_no = 0;
  while (!tsv.empty()) {
    const std::size_t eol = tsv.find('\n');
    std::string_view line = tsv.substr(0, eol);
    tsv = eol == std::string_view::npos ? std::string_view() : tsv.substr(eol + 1);
    ++line_no;
    if (const std::size_t hash = line.find('#'); hash != std::string_view::npos) line = line.substr(0, hash);
    line = trim(line);
    if (line.empty()) continue;
    std::vector<std::string_view> fields;
    for (std::size_t start = 0;;) {
      const std::size_t tab = line.find('\t', start);
      fields.push_back(trim(line.substr(start, tab == std::string_view::npos ? tab : tab - start)));
      if (tab == std::string_view::npos) break;
      start = tab + 1;
    }
    const auto where = fmt::format("data/colour_families.tsv:{}", line_no);
    if (fields.size() < 2 || fields.size() > 3 || (fields.size() == 3 && fields[2] != "weak")) {
      throw Error(fmt::format("{}: expected NAME<TAB>FAMILY[<TAB>weak], found '{}'", where, line),
                  ErrorKind::kCorrupt);
    }
    if (!is_family(fields[1])) {
      throw Error(fmt::format("{}: unknown family '{}' (known: {})", where, fields[1], colour_family_list()),
                  ErrorKind::kCorrupt);
    }
    const std::string key = normalise(fields[0]);
    if (!table.emplace(key, Entry{std::string(fields[1]), fields.size() == 3}).second) {
      throw Error(fmt::format("{}: '{}' is listed twice", where, fields[0]), ErrorKind::kCorrupt);
    }
  }
  return table;
}

const Table& table() {
  static const Table kTable = parse_table(detail::colour_families_tsv());
  return kTable;
}

/// A name's words, with the separators that join two colours ("black/white", "navy & red") as
/// their own word "/".
std::vector<std::string> words_of(const std::string& normalised) {
  std::vector<std::string> words;
  std::string word;
  auto flush = [&] {
    if (!word.empty()) words.push_back(std::move(word));
    word.clear();
  };
  for (const char c : normalised) {
    if (c == ' ') {
      flush();
    } else if (c == '/' || c == '&' || c == '+' || c == ',' || c == ';') {
      flush();
      words.emplace_back("/");
    } else {
      word += c;
    }
  }
  flush();
  for (auto& w : words) {
    if (w == "and" || w == "y" || w == "with") w.assign(1, '/');  // assign: GCC 12 warns falsely on = "/"
  }
  return words;
}

}  // namespace

std::string colour_family_of(std::string_view colour_name) {
  const std::string name = normalise(colour_name);
  if (name.empty()) return {};
  const Table& t = table();
  if (auto it = t.find(name); it != t.end()) return it->second.family;

  const std::vector<std::string> words = words_of(name);
  std::set<std::string> strong, weak;
  bool joined = false, print = false;
  for (std::size_t i = 0; i < words.size(); ++i) {
    if (words[i] == "/") {
      joined = true;
      continue;
    }
    const Entry* entry = nullptr;
    // Two-word names first ("off white", "rose gold"), then the word alone.
    if (i + 1 < words.size()) {
      if (auto it = t.find(words[i] + " " + words[i + 1]); it != t.end()) {
        entry = &it->second;
        ++i;
      }
    }
    if (entry == nullptr) {
      if (auto it = t.find(words[i]); it != t.end()) entry = &it->second;
    }
    if (entry == nullptr) continue;  // "light", "dark", "washed", a brand's own word
    if (entry->family == "multi") print = true;
    (entry->weak ? weak : strong).insert(entry->family);
  }
  if (print) return "multi";
  if (strong.size() == 1) return *strong.begin();
  if (strong.size() > 1) return joined ? "multi" : std::string();
  return weak.size() == 1 ? *weak.begin() : std::string();
}

std::optional<std::string> parse_colour_family(std::string_view text) {
  const std::string name = normalise(text);
  if (is_family(name)) return name;
  if (name == "gray") return "grey";
  if (name == "multicolour" || name == "multicolor" || name == "multi colour" || name == "multi color")
    return "multi";
  return std::nullopt;
}

std::string colour_family_list() {
  std::string out;
  for (const auto family : kColourFamilies) {
    if (!out.empty()) out += ", ";
    out += family;
  }
  return out;
}

std::string derived_colour_family(std::string_view colour_name, std::string_view colour) {
  std::string family = colour_family_of(colour_name);
  return family.empty() ? colour_family_of(colour) : family;
}

ItemColour colour_of_stored_item(std::string_view source, std::string_view name, std::string_view type,
                                 std::string_view colour) {
  ItemColour out;
  if (source == "mango") {
    const std::string prefix = fmt::format("{}, ", type);
    if (name.size() > prefix.size() && name.starts_with(prefix))
      out.name = std::string(name.substr(prefix.size()));
    out.family = colour_family_of(out.name);
  } else {
    out.family = colour_family_of(colour);
  }
  return out;
}

std::string colour_label(std::string_view family, std::string_view name, std::string_view colour) {
  if (!family.empty() && !name.empty() && normalise(name) != family)
    return fmt::format("{} ({})", family, name);
  if (!family.empty()) return std::string(family);
  if (!name.empty()) return std::string(name);
  return colour.empty() ? std::string("-") : std::string(colour);
}

}  // namespace mystyle::catalog
