#include "mystyle/eval/transfer.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <unordered_map>

#include "mystyle/catalog/catalog.h"
#include "mystyle/core/error.h"
#include "mystyle/core/file_io.h"
#include "mystyle/core/progress.h"
#include "mystyle/engine/photo_views.h"
#include "mystyle/eval/eval_data.h"
#include "mystyle/image/preprocess.h"
#include "query_pipeline.h"

namespace mystyle::eval {
namespace {

/// The catalog as the vote sees it: each item's labels and design.
struct Labels {
  std::unordered_map<std::int64_t, const catalog::Item*> item;
  std::unordered_map<std::int64_t, std::size_t> design;  ///< item id -> design number
  std::size_t largest_design = 1;                        ///< items of the most-coloured design
};

Labels label_items(const std::vector<catalog::Item>& items) {
  Labels labels;
  std::map<std::string, std::size_t> number;
  std::vector<std::size_t> count;
  for (const auto& it : items) {
    const auto [pos, added] =
        number.try_emplace(it.source + "/" + catalog::design_of(it.source_id), count.size());
    if (added) count.push_back(0);
    labels.largest_design = std::max(labels.largest_design, ++count[pos->second]);
    labels.item[it.id] = &it;
    labels.design[it.id] = pos->second;
  }
  return labels;
}

/// The k best items of other designs than the query's, for the first query_ids.size() rows of the
/// method's buffer: enough are fetched that leaving out every item of the query's design still leaves k.
std::vector<TransferAnswer> answer(const QueryMethod& m, const Labels& labels,
                                   std::span<const std::int64_t> query_ids, std::size_t k,
                                   std::size_t threads) {
  const std::size_t items = k + labels.largest_design;
  const std::span<const float> queries(m.queries->data(), query_ids.size() * m.index->dim());
  auto results = m.index->search_batch(queries, items * m.views_per_item, {}, threads);
  std::vector<TransferAnswer> answers(query_ids.size());
  for (std::size_t q = 0; q < query_ids.size(); ++q) {
    if (m.views_per_item > 1) results[q] = engine::fold_views(results[q], items);
    const std::size_t own = labels.design.at(query_ids[q]);
    std::vector<Vote> slot, category, type;
    TransferAnswer& a = answers[q];
    a.query = query_ids[q];
    for (const index::Neighbor& n : results[q]) {
      if (a.neighbours.size() == k) break;
      if (labels.design.at(n.id) == own) continue;
      const catalog::Item& it = *labels.item.at(n.id);
      a.neighbours.push_back(n.id);
      slot.push_back({std::string(catalog::slot_name(it.slot)), n.score});
      category.push_back({it.category, n.score});
      type.push_back({it.type, n.score});
    }
    a.slot = weighted_vote(slot);
    a.category = weighted_vote(category);
    a.type = weighted_vote(type);
  }
  return answers;
}

TransferCell score(std::span<const TransferAnswer> answers, const Labels& labels) {
  TransferCell cell;
  for (const TransferAnswer& a : answers) {
    const catalog::Item& truth = *labels.item.at(a.query);
    cell.slot_accuracy += a.slot == catalog::slot_name(truth.slot);
    cell.category_accuracy += a.category == truth.category;
    cell.type_accuracy += a.type == truth.type;
    if (truth.category == kBottomsCategory) {
      ++cell.bottoms;
      cell.bottoms_as_dresses += a.category == kDressesCategory;
    }
  }
  const double n = static_cast<double>(std::max<std::size_t>(1, answers.size()));
  cell.slot_accuracy /= n;
  cell.category_accuracy /= n;
  cell.type_accuracy /= n;
  return cell;
}

}  // namespace

std::string weighted_vote(std::span<const Vote> ranked) {
  // Labels in order of their best-ranked neighbour, so a strict "greater" keeps the earlier on a tie.
  std::vector<std::pair<std::string, double>> totals;
  for (const Vote& v : ranked) {
    auto it = std::ranges::find(totals, v.label, &std::pair<std::string, double>::first);
    if (it == totals.end()) it = totals.insert(totals.end(), {v.label, 0.0});
    it->second += std::max(v.score, 0.0);
  }
  const std::pair<std::string, double>* best = nullptr;
  for (const auto& t : totals) {
    if (best == nullptr || t.second > best->second + 1e-9) best = &t;
  }
  return best ? best->first : std::string();
}

std::uint64_t transfer_seed(std::uint64_t seed, std::int64_t item_id) {
  return fnv1a64(fmt::format("transfer:{}:{}", seed, item_id));
}

TransferReport run_transfer(const engine::Workspace& workspace, const TransferOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  if (options.k == 0) throw Error("transfer: k must be at least 1");
  const std::size_t threads = eval_threads(options.threads);
  TransferReport report;
  report.options = options;
  QuerySetup setup = load_query_setup(workspace, options.model, threads);
  const Labels labels = label_items(setup.items);
  report.image_side_px = setup.pre.image_side_px;
  const std::size_t code_size = checked_code_size(setup, "transfer", options.model);
  report.catalog_items = setup.ours.size();

  // The queries: a seeded sample of held-out designs' items that every index holds.
  std::vector<const catalog::Item*> pool = eligible_queries(setup, /*all_items=*/false, options.split_seed);
  report.eligible = pool.size();
  {
    std::vector<std::size_t> designs;
    for (const auto* it : pool) designs.push_back(labels.design.at(it->id));
    std::ranges::sort(designs);
    report.held_out_designs = static_cast<std::size_t>(
        std::ranges::distance(designs.begin(), std::ranges::unique(designs).begin()));
  }
  sample_queries(pool, options.seed, options.limit);
  if (pool.empty())
    throw Error(fmt::format("{}: no embedded item of a held-out design (split seed {}) has a photo to query",
                            workspace.root().string(), options.split_seed));

  const QueryPhotos kept = decode_query_photos(pool, setup.pre, threads);
  for (const catalog::Item* item : kept.items) {
    report.query_ids.push_back(item->id);
    report.query_source_ids.push_back(item->source_id);
    report.query_categories.push_back(item->category);
  }
  const std::size_t n = kept.photos.size();

  // Queries in chunks: each photo's garment is found once (the slow part) for all its edits.
  constexpr std::size_t kChunk = 128;
  QueryBuffers buffers(kChunk, setup.pre, code_size);
  const std::vector<QueryMethod> methods = query_methods(setup, buffers, options.model);
  for (const QueryMethod& m : methods) report.methods.push_back(m.name);
  report.edits.assign(std::begin(kAllTransferEdits), std::end(kAllTransferEdits));
  report.answers.assign(report.edits.size(), std::vector<std::vector<TransferAnswer>>(methods.size()));

  Progress progress("transfer queries", static_cast<std::int64_t>(n * report.edits.size()), "photos");
  for (std::size_t first = 0; first < n; first += kChunk) {
    const std::size_t b = std::min(kChunk, n - first);
    const std::span<const std::int64_t> ids(report.query_ids.data() + first, b);
    std::vector<GarmentCutout> garments(b);
    parallel_for(b, threads, [&](std::size_t i) { garments[i] = find_garment(kept.photos[first + i]); });
    for (std::size_t e = 0; e < report.edits.size(); ++e) {
      parallel_for(b, threads, [&](std::size_t i) {
        buffers.fill(i, transfer_edit(kept.photos[first + i], garments[i], report.edits[e],
                                      transfer_seed(options.seed, ids[i])));
        progress.advance();
      });
      buffers.encode(setup.model, b);
      for (std::size_t m = 0; m < methods.size(); ++m) {
        auto part = answer(methods[m], labels, ids, options.k, threads);
        auto& all = report.answers[e][m];
        all.insert(all.end(), std::make_move_iterator(part.begin()), std::make_move_iterator(part.end()));
      }
    }
  }
  for (const auto& per_method : report.answers) {
    auto& cells = report.cells.emplace_back();
    for (const auto& answers : per_method) cells.push_back(score(answers, labels));
  }
  progress.finish();
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return report;
}

cv::Mat transfer_contact_sheet(const engine::Workspace& workspace, const TransferReport& report,
                               std::size_t products) {
  catalog::Catalog cat(workspace.root());
  constexpr int kCellH = 200, kCellW = 150, kCaptionH = 34, kHeaderH = 40, kLabelW = 150;
  // Products of different categories in sample order, then of further types.
  std::vector<std::pair<std::size_t, catalog::Item>> rows;
  for (const bool by_category : {true, false}) {
    for (std::size_t q = 0; q < report.query_ids.size() && rows.size() < products; ++q) {
      auto item = cat.find_item(report.query_ids[q]);
      if (!item || !item->image_path) continue;
      if (std::ranges::any_of(rows, [&](const auto& r) {
            return r.first == q ||
                   (by_category ? r.second.category == item->category : r.second.type == item->type);
          }))
        continue;
      rows.emplace_back(q, std::move(*item));
    }
  }
  const int cols = static_cast<int>(report.edits.size());
  cv::Mat sheet(kHeaderH + static_cast<int>(rows.size()) * (kCellH + kCaptionH), kLabelW + cols * kCellW,
                CV_8UC3, cv::Scalar::all(255));
  const auto text = [&](const std::string& s, cv::Point at, double size, cv::Scalar bgr) {
    cv::putText(sheet, s, at, cv::FONT_HERSHEY_SIMPLEX, size, bgr, 1, cv::LINE_AA);
  };
  for (int e = 0; e < cols; ++e) {
    const std::string name = transfer_edit_name(report.edits[static_cast<std::size_t>(e)]);
    const auto cut = name.find(' ', name.size() / 2);
    text(name.substr(0, cut), {kLabelW + e * kCellW + 4, 16}, 0.4, {0, 0, 0});
    if (cut != std::string::npos) text(name.substr(cut + 1), {kLabelW + e * kCellW + 4, 32}, 0.4, {0, 0, 0});
  }
  image::PreprocessOptions pre;
  pre.image_side_px = report.image_side_px;
  for (std::size_t r = 0; r < rows.size(); ++r) {
    const auto& [q, item] = rows[r];
    const int top = kHeaderH + static_cast<int>(r) * (kCellH + kCaptionH);
    text(item.source_id, {4, top + 20}, 0.45, {0, 0, 0});
    text(item.type, {4, top + 40}, 0.45, {0, 0, 0});
    text(std::string(catalog::slot_name(item.slot)), {4, top + 60}, 0.45, {0, 0, 0});
    text(item.category.substr(0, 20), {4, top + 80}, 0.35, {80, 80, 80});
    const cv::Mat photo = image::read_image(*item.image_path, {}, image::decode_min_side_px(pre));
    const GarmentCutout garment = find_garment(photo);
    for (int e = 0; e < cols; ++e) {
      const auto edit = report.edits[static_cast<std::size_t>(e)];
      cv::Mat shown = transfer_edit(photo, garment, edit, transfer_seed(report.options.seed, item.id)), bgr;
      const double s = std::min(static_cast<double>(kCellW - 6) / shown.cols,
                                static_cast<double>(kCellH - 6) / shown.rows);
      cv::resize(shown, shown, cv::Size(), s, s, cv::INTER_AREA);
      cv::cvtColor(shown, bgr, cv::COLOR_RGB2BGR);
      const int x = kLabelW + e * kCellW + (kCellW - bgr.cols) / 2;
      bgr.copyTo(sheet(cv::Rect(x, top + (kCellH - bgr.rows) / 2, bgr.cols, bgr.rows)));
      const TransferAnswer& a = report.answers[static_cast<std::size_t>(e)][0][q];
      const bool right = a.type == item.type;
      text(a.type.substr(0, 22), {kLabelW + e * kCellW + 4, top + kCellH + 14}, 0.4,
           right ? cv::Scalar(0, 140, 0) : cv::Scalar(0, 0, 200));
      text(a.slot, {kLabelW + e * kCellW + 4, top + kCellH + 29}, 0.35, {90, 90, 90});
    }
  }
  return sheet;
}

std::filesystem::path save_transfer_examples(const engine::Workspace& workspace,
                                             const TransferReport& report) {
  const cv::Mat sheet = transfer_contact_sheet(workspace, report);
  std::vector<std::uint8_t> png;
  if (sheet.empty() || !cv::imencode(".png", sheet, png))
    throw Error("transfer: PNG encoding of the contact sheet failed");
  const auto path = workspace.root() / "reports" / "eval" / "transfer_examples.png";
  write_file_atomic(path, std::string(png.begin(), png.end()));
  return path;
}

nlohmann::json to_json(const TransferReport& report) {
  nlohmann::json rows = nlohmann::json::array();
  std::vector<std::size_t> bottoms(report.methods.size()), as_dresses(report.methods.size());
  for (std::size_t e = 0; e < report.edits.size(); ++e) {
    nlohmann::json cells = nlohmann::json::object();
    for (std::size_t m = 0; m < report.methods.size(); ++m) {
      const TransferCell& cell = report.cells[e][m];
      cells[report.methods[m]] = {{"slot_accuracy", cell.slot_accuracy},
                                  {"category_accuracy", cell.category_accuracy},
                                  {"type_accuracy", cell.type_accuracy},
                                  {"bottoms", cell.bottoms},
                                  {"bottoms_as_dresses", cell.bottoms_as_dresses}};
      if (report.edits[e] != TransferEdit::kNone) {
        bottoms[m] += cell.bottoms;
        as_dresses[m] += cell.bottoms_as_dresses;
      }
    }
    rows.push_back({{"edit", transfer_edit_name(report.edits[e])}, {"methods", cells}});
  }
  // The complaint's cases for the first method (ours), to look at: which product under which edit.
  nlohmann::json examples = nlohmann::json::array();
  for (std::size_t e = 0; e < report.edits.size() && !report.methods.empty(); ++e) {
    for (std::size_t q = 0; q < report.answers[e][0].size() && examples.size() < 40; ++q) {
      const TransferAnswer& a = report.answers[e][0][q];
      if (a.category == kDressesCategory && report.query_categories.at(q) == kBottomsCategory)
        examples.push_back({{"edit", transfer_edit_name(report.edits[e])},
                            {"query", report.query_source_ids[q]},
                            {"voted_type", a.type}});
    }
  }
  nlohmann::json confusion = nlohmann::json::object();
  for (std::size_t m = 0; m < report.methods.size(); ++m)
    confusion[report.methods[m]] = {{"bottoms_queries", bottoms[m]}, {"voted_dresses", as_dresses[m]}};
  return {
      {"kind", "transfer"},
      {"model", report.options.model},
      {"k", report.options.k},
      {"seed", report.options.seed},
      {"sample", "held-out designs"},
      {"split_seed", report.options.split_seed},
      {"eligible_items", report.eligible},
      {"held_out_designs", report.held_out_designs},
      {"queries", report.query_ids.size()},
      {"catalog_items", report.catalog_items},
      {"metric", "cosine"},
      {"excluded", "every item of the query's own design"},
      {"vote",
       "top k, each label weighted by the sum of max(similarity, 0); ties to the better-ranked neighbour"},
      {"methods", report.methods},
      {"rows", rows},
      {"bottoms_as_dresses_all_edits", confusion},
      {"bottoms_as_dresses_examples", examples},
      {"seconds", report.seconds}};
}

std::string format_table(const TransferReport& report) {
  std::string out = fmt::format(
      "transfer: {} sampled products (seed {}) of held-out designs (split seed {}; {} items of {} designs "
      "eligible), each edited and searched among the {} catalog items less every item of its own design "
      "(cosine); the top {} vote, weighted by similarity (ties: the better-ranked neighbour's label)\n"
      "accuracy of the voted slot / category / type\n",
      report.query_ids.size(), report.options.seed, report.options.split_seed, report.eligible,
      report.held_out_designs, report.catalog_items, report.options.k);
  const auto header = [&](const char* first) {
    std::string line = fmt::format("{:<27}", first);
    for (const auto& m : report.methods) line += fmt::format(" | {:^17}", m.substr(0, 17));
    return line + "\n";
  };
  out += header("edit");
  for (std::size_t e = 0; e < report.edits.size(); ++e) {
    out += fmt::format("{:<27}", transfer_edit_name(report.edits[e]));
    for (const auto& cell : report.cells[e])
      out += fmt::format(" | {:.3f} {:.3f} {:.3f}", cell.slot_accuracy, cell.category_accuracy,
                         cell.type_accuracy);
    out += "\n";
  }
  out += fmt::format("\nBottoms voted '{}' (of the Bottoms queries)\n", kDressesCategory);
  out += header("edit");
  std::vector<std::size_t> bottoms(report.methods.size()), as_dresses(report.methods.size());
  for (std::size_t e = 0; e < report.edits.size(); ++e) {
    out += fmt::format("{:<27}", transfer_edit_name(report.edits[e]));
    for (std::size_t m = 0; m < report.methods.size(); ++m) {
      const TransferCell& cell = report.cells[e][m];
      out += fmt::format(" | {:>17}", fmt::format("{} / {}", cell.bottoms_as_dresses, cell.bottoms));
      if (report.edits[e] != TransferEdit::kNone) {
        bottoms[m] += cell.bottoms;
        as_dresses[m] += cell.bottoms_as_dresses;
      }
    }
    out += "\n";
  }
  out += fmt::format("{:<27}", "all edits (not none)");
  for (std::size_t m = 0; m < report.methods.size(); ++m)
    out += fmt::format(" | {:>17}", fmt::format("{} / {}", as_dresses[m], bottoms[m]));
  return out + "\n";
}

}  // namespace mystyle::eval
