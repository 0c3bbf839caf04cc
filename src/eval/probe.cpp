#include "mystyle/eval/probe.h"

#include <cblas.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "mystyle/catalog/catalog.h"
#include "mystyle/core/error.h"
#include "mystyle/core/file_io.h"
#include "mystyle/core/progress.h"
#include "mystyle/engine/embeddings.h"
#include "mystyle/engine/simple_features.h"
#include "mystyle/eval/eval_data.h"
#include "mystyle/nn/proxy_loss.h"

namespace mystyle::eval {
namespace {

using Clock = std::chrono::steady_clock;

/// Rows `which` of `v` ([*, dim]).
std::vector<float> rows_of(std::span<const float> v, std::size_t dim, std::span<const std::size_t> which) {
  std::vector<float> out;
  out.reserve(which.size() * dim);
  for (std::size_t r : which) {
    out.insert(out.end(), v.begin() + static_cast<std::ptrdiff_t>(r * dim),
               v.begin() + static_cast<std::ptrdiff_t>((r + 1) * dim));
  }
  return out;
}

/// Rows of `a` ([n, da]) and `b` ([n, db]) side by side.
std::vector<float> side_by_side(std::span<const float> a, std::size_t da, std::span<const float> b,
                                std::size_t db) {
  const std::size_t n = a.size() / da;
  std::vector<float> out;
  out.reserve(n * (da + db));
  for (std::size_t i = 0; i < n; ++i) {
    out.insert(out.end(), a.begin() + static_cast<std::ptrdiff_t>(i * da),
               a.begin() + static_cast<std::ptrdiff_t>((i + 1) * da));
    out.insert(out.end(), b.begin() + static_cast<std::ptrdiff_t>(i * db),
               b.begin() + static_cast<std::ptrdiff_t>((i + 1) * db));
  }
  return out;
}

struct Method {
  std::string name;
  std::vector<float> train, held;  // [rows, dim]
  std::size_t dim;
  bool baseline;
};

}  // namespace

ProbeReport run_probe(const engine::Workspace& workspace, const ProbeOptions& options) {
  ProbeReport report;
  report.options = options;
  const std::size_t threads = eval_threads(options.threads);
  const FlatEvalInputs in = load_flat_eval_inputs(workspace, options.model, threads);
  const auto& [items, model, flat, features] = in;

  // Every item with features and an embedding, on its side of the split; labels coded over both
  // sides (a held-out label the training side lacks is a class no training row has: never predicted).
  std::vector<const catalog::Item*> train_items, held_items;
  std::vector<std::int64_t> train_ids, held_ids;
  std::set<std::string> train_designs, held_designs;
  for (const catalog::Item& item : items) {
    if (!std::ranges::binary_search(features.ids, item.id) || !std::ranges::binary_search(flat.ids, item.id))
      continue;
    const bool held = catalog::is_held_out_design(item, options.split_seed);
    (held ? held_items : train_items).push_back(&item);
    (held ? held_ids : train_ids).push_back(item.id);
    (held ? held_designs : train_designs).insert(item.source + "/" + catalog::design_of(item.source_id));
  }
  if (train_items.size() < 2 || held_items.size() < 2) {
    throw Error(fmt::format("{}: {} items of training designs and {} of held-out designs: too few to probe",
                            workspace.root().string(), train_items.size(), held_items.size()));
  }
  report.train_items = train_items.size();
  report.held_out_items = held_items.size();
  report.train_designs = train_designs.size();
  report.held_out_designs = held_designs.size();
  std::vector<const catalog::Item*> all = train_items;
  all.insert(all.end(), held_items.begin(), held_items.end());
  const ItemLabels codes = label_codes(all);
  std::array<std::size_t, kLabelCount> classes{};
  for (const auto& c : codes.codes) {
    for (std::size_t l = 0; l < kLabelCount; ++l)
      classes[l] = std::max(classes[l], static_cast<std::size_t>(c[l] + 1));
  }
  ItemLabels held_labels;
  held_labels.codes.assign(codes.codes.begin() + static_cast<std::ptrdiff_t>(train_items.size()),
                           codes.codes.end());

  std::vector<Method> methods;
  // Each representation as cosine sees it: rows of unit length (each part of a pair on its own).
  auto add = [&](std::string name, std::span<const std::int64_t> ids, std::span<const float> v,
                 std::size_t dim, bool baseline) {
    Method m{std::move(name), select_rows(ids, v, dim, train_ids), select_rows(ids, v, dim, held_ids), dim,
             baseline};
    nn::l2_normalize_rows(m.train, static_cast<int>(dim));
    nn::l2_normalize_rows(m.held, static_cast<int>(dim));
    methods.push_back(std::move(m));
  };
  add("colour thumbnail 16x16", features.ids, features.colour, image::kColourDim, true);
  add("HSV histogram (object)", features.ids, features.hsv, image::kHsvDim, true);
  const auto flat_dim = static_cast<std::size_t>(flat.dim);
  add(fmt::format("{} flat code ({}) = ours", options.model, flat_dim), flat.ids, flat.vectors, flat_dim,
      false);
  // A tenth of the training designs chooses when each probe stops.
  std::vector<std::size_t> fit_rows, stop_rows;
  for (std::size_t i = 0; i < train_items.size(); ++i) {
    const catalog::Item& item = *train_items[i];
    const bool stop = fnv1a64(fmt::format("probe-stop:{}:{}/{}", options.split_seed, item.source,
                                          catalog::design_of(item.source_id))) %
                          10 ==
                      0;
    (stop ? stop_rows : fit_rows).push_back(i);
  }
  const Method& hsv = methods[1];
  const Method& ours = methods[2];
  methods.push_back({fmt::format("{} + HSV histogram", options.model),
                     side_by_side(ours.train, flat_dim, hsv.train, image::kHsvDim),
                     side_by_side(ours.held, flat_dim, hsv.held, image::kHsvDim), flat_dim + image::kHsvDim,
                     false});

  constexpr std::size_t kType = 0, kColour = 3;
  Progress progress("probing", static_cast<std::int64_t>(methods.size() * kLabelCount), "probes");
  for (const Method& m : methods) {
    const auto start = Clock::now();
    ProbeRow row;
    row.method = m.name;
    row.dim = m.dim;
    row.baseline = m.baseline;
    std::array<std::vector<float>, kLabelCount> beliefs;
    for (std::size_t l = 0; l < kLabelCount; ++l) {
      std::vector<int> y, stop_y;
      for (std::size_t i : fit_rows) y.push_back(codes.codes[i][l]);
      for (std::size_t i : stop_rows) stop_y.push_back(codes.codes[i][l]);
      if (classes[l] == 0 || std::ranges::none_of(y, [](int v) { return v >= 0; })) {
        progress.advance();
        continue;  // no item has the label
      }
      const SoftmaxProbe probe = fit_softmax_probe(rows_of(m.train, m.dim, fit_rows), m.dim, y, classes[l],
                                                   options.fit, rows_of(m.train, m.dim, stop_rows), stop_y);
      row.iterations[l] = probe.iterations;
      beliefs[l] = probe.probabilities(m.held);
      std::size_t right = 0, asked = 0;
      for (std::size_t i = 0; i < held_items.size(); ++i) {
        const int truth = held_labels.codes[i][l];
        if (truth < 0) continue;
        ++asked;
        const float* p = beliefs[l].data() + i * classes[l];
        right += static_cast<std::size_t>(std::max_element(p, p + classes[l]) - p) ==
                 static_cast<std::size_t>(truth);
      }
      row.accuracy[l] = asked ? static_cast<double>(right) / static_cast<double>(asked) : 0;
      row.ranked_p[l] = evaluate_vectors(m.name, held_ids, beliefs[l], classes[l], index::Metric::kCosine,
                                         held_labels, options.k, threads)
                            .precision_at_k[l];
      progress.advance();
    }
    if (!beliefs[kType].empty() && !beliefs[kColour].empty()) {
      nn::l2_normalize_rows(beliefs[kType], static_cast<int>(classes[kType]));
      nn::l2_normalize_rows(beliefs[kColour], static_cast<int>(classes[kColour]));
      const std::vector<float> joint =
          side_by_side(beliefs[kType], classes[kType], beliefs[kColour], classes[kColour]);
      const RetrievalRow r = evaluate_vectors(m.name, held_ids, joint, classes[kType] + classes[kColour],
                                              index::Metric::kCosine, held_labels, options.k, threads);
      row.joint_type_p = r.precision_at_k[kType];
      row.joint_colour_p = r.precision_at_k[kColour];
    }
    row.seconds = std::chrono::duration<double>(Clock::now() - start).count();
    report.rows.push_back(std::move(row));
  }
  progress.finish();
  return report;
}

nlohmann::json to_json(const ProbeReport& report) {
  nlohmann::json rows = nlohmann::json::array();
  for (const ProbeRow& r : report.rows) {
    nlohmann::json accuracy, ranked;
    for (std::size_t l = 0; l < kLabelCount; ++l) {
      accuracy[kLabelNames[l]] = r.accuracy[l];
      ranked[kLabelNames[l]] = r.ranked_p[l];
    }
    rows.push_back({{"method", r.method},
                    {"dim", r.dim},
                    {"baseline", r.baseline},
                    {"held_out_accuracy", accuracy},
                    {"precision_at_k_ranked_by_probe", ranked},
                    {"fit_steps_kept", r.iterations},
                    {"precision_at_k_ranked_by_type_and_colour_probes",
                     {{"type", r.joint_type_p}, {"colour", r.joint_colour_p}}},
                    {"seconds", r.seconds}});
  }
  const auto& o = report.options;
  return {{"protocol", "probes fitted on training designs, scored on held-out designs"},
          {"model", o.model},
          {"split_seed", o.split_seed},
          {"k", o.k},
          {"fit",
           {{"optimiser", "full-batch Adam, early-stopped on a tenth of the training designs"},
            {"iterations", o.fit.iterations},
            {"learning_rate", o.fit.learning_rate},
            {"l2", o.fit.l2}}},
          {"train_items", report.train_items},
          {"train_designs", report.train_designs},
          {"held_out_items", report.held_out_items},
          {"held_out_designs", report.held_out_designs},
          {"rows", rows}};
}

std::string format_table(const ProbeReport& report) {
  std::string out = fmt::format(
      "linear probes: fitted on {} items of {} training designs, scored on {} items of {} held-out designs "
      "(split seed {})\n",
      report.train_items, report.train_designs, report.held_out_items, report.held_out_designs,
      report.options.split_seed);
  const int width = static_cast<int>(8 * kLabelCount - 1);
  out += fmt::format("{:<32} {:>5} | {:^{}} | {:^{}} | {:^13}\n", "", "", "held-out accuracy", width,
                     fmt::format("P@{} ranked by the label's probe", report.options.k), width, "type+colour");
  out += fmt::format("{:<32} {:>5} |", "method", "dim");
  for (int twice = 0; twice < 2; ++twice) {
    for (const char* name : kLabelShortNames) out += fmt::format(" {:>7}", name);
    out += " |";
  }
  out += fmt::format(" {:>6} {:>6}\n", "type", "colour");
  for (const ProbeRow& r : report.rows) {
    out += fmt::format("{:<32} {:>5} |", r.method.substr(0, 32), r.dim);
    for (double a : r.accuracy) out += fmt::format(" {:>7.3f}", a);
    out += " |";
    for (double p : r.ranked_p) out += fmt::format(" {:>7.3f}", p);
    out += fmt::format(" | {:>6.3f} {:>6.3f}\n", r.joint_type_p, r.joint_colour_p);
  }
  out +=
      "A ranking by one label's probe is what a retrieval that knew only that classifier's beliefs reaches;\n"
      "type+colour ranks by both probes' beliefs (each unit length) side by side.";
  return out;
}

}  // namespace mystyle::eval
