#include "mystyle/eval/outfit_eval.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <chrono>
#include <nlohmann/json.hpp>
#include <thread>

#include "mystyle/core/error.h"
#include "mystyle/core/progress.h"
#include "mystyle/core/threads.h"
#include "mystyle/engine/simple_features.h"
#include "mystyle/eval/eval_data.h"
#include "mystyle/eval/metrics.h"

namespace mystyle::eval {
namespace {

using Clock = std::chrono::steady_clock;

void check_items(const recommend::OutfitGraph& graph, std::span<const std::int64_t> ids,
                 const std::string& where) {
  for (auto id : ids) {
    if (graph.item(id) == nullptr)
      throw Error(fmt::format("{}: unknown catalog item id {}", where, id), ErrorKind::kNotFound);
  }
}

bool uses(std::span<const ScorerKind> kinds, ScorerKind kind) {
  return std::ranges::find(kinds, kind) != kinds.end();
}

}  // namespace

std::string scorer_kind_name(ScorerKind kind) {
  switch (kind) {
    case ScorerKind::kOurs:
      return "ours";
    case ScorerKind::kRandom:
      return "random";
    case ScorerKind::kPopularity:
      return "popularity";
    case ScorerKind::kCooccurrence:
      return "cooccurrence";
    case ScorerKind::kTypeCooccurrence:
      return "type-cooccurrence";
    case ScorerKind::kSimple:
      return "simple";
    case ScorerKind::kSimpleUncentred:
      return "simple-uncentred";
    case ScorerKind::kOldSimpleCentred:
      return "old-simple-centred";
    case ScorerKind::kOldSimple:
      return "old-simple";
    case ScorerKind::kOldOurs:
      return "old-ours";
    case ScorerKind::kCompat:
      return "compat";
  }
  return "?";
}

ScorerKind parse_scorer_kind(const std::string& name) {
  std::vector<std::string> names;
  for (ScorerKind k : kAllScorers) {
    if (scorer_kind_name(k) == name) return k;
    names.push_back(scorer_kind_name(k));
  }
  throw Error(fmt::format("unknown scorer '{}' (expected one of {})", name, fmt::join(names, ", ")));
}

ScorerInputs load_scorer_inputs(const engine::Workspace& workspace, const std::string& model,
                                std::span<const ScorerKind> kinds, int threads) {
  ScorerInputs in;
  in.model = model;
  catalog::Catalog cat(workspace.root());
  in.graph = recommend::OutfitGraph::load(cat);
  if (uses(kinds, ScorerKind::kOurs) || uses(kinds, ScorerKind::kOldOurs) ||
      uses(kinds, ScorerKind::kCompat)) {
    engine::Embeddings e = load_checked_embeddings(workspace, model, "flat");
    in.embedding_ids = std::move(e.ids);
    in.embeddings = std::move(e.vectors);
    in.embedding_dim = static_cast<std::size_t>(e.dim);
  }
  if (uses(kinds, ScorerKind::kSimple) || uses(kinds, ScorerKind::kSimpleUncentred) ||
      uses(kinds, ScorerKind::kOldSimpleCentred) || uses(kinds, ScorerKind::kOldSimple) ||
      uses(kinds, ScorerKind::kCompat)) {
    const int t = thread_count(threads);
    std::vector<catalog::Item> scratch;
    const engine::SimpleFeatures f = engine::load_simple_features(workspace.root(), in.graph.items_span(scratch), t);
    in.feature_ids = f.ids;
    in.features = f.colour_plus_hsv();
    in.centred_features = f.centred_colour_plus_hsv();
    if (uses(kinds, ScorerKind::kCompat)) {
      in.compat_features = engine::make_compat_features(in.embedding_ids, in.embeddings,
                                                        static_cast<int>(in.embedding_dim), f);
    }
  }
  return in;
}

std::unique_ptr<CompatibilityScorer> make_scorer(ScorerKind kind, const ScorerInputs& inputs,
                                                 const KnownOutfits& known, const ScorerOptions& options) {
  constexpr std::size_t kSimpleDim = image::kColourDim + image::kHsvDim;
  const bool simple = kind == ScorerKind::kSimple || kind == ScorerKind::kSimpleUncentred ||
                      kind == ScorerKind::kOldSimpleCentred || kind == ScorerKind::kOldSimple;
  const bool ours = kind == ScorerKind::kOurs || kind == ScorerKind::kOldOurs;
  if (simple && inputs.feature_ids.empty()) throw Error("simple scorers: no image features loaded");
  if (ours && inputs.embedding_ids.empty()) throw Error("ours: no embeddings loaded");
  const std::string simple_note = "simple image features (outfit-free)";
  const std::string model_note = fmt::format("{} trained without outfits (outfit-free)", inputs.model);
  switch (kind) {
    case ScorerKind::kRandom:
      return make_random_scorer(options.seed);
    case ScorerKind::kPopularity:
      return make_popularity_scorer(known);
    case ScorerKind::kCooccurrence:
      return make_cooccurrence_scorer(known);
    case ScorerKind::kTypeCooccurrence:
      return make_label_cooccurrence_scorer(known, options.typed.same_label);
    case ScorerKind::kSimple:
      return make_typed_neighbour_scorer(known, "NN co-occ. by type, centred colour + HSV/2",
                                         inputs.feature_ids, inputs.centred_features, kSimpleDim,
                                         options.typed, simple_note);
    case ScorerKind::kSimpleUncentred:
      return make_typed_neighbour_scorer(known, "NN co-occ. by type, colour + HSV", inputs.feature_ids,
                                         inputs.features, kSimpleDim, options.typed, simple_note);
    case ScorerKind::kOldSimpleCentred:
      return make_neighbour_scorer(known, "old NN co-occ., centred colour + HSV/2", inputs.feature_ids,
                                   inputs.centred_features, kSimpleDim, options.neighbours, simple_note);
    case ScorerKind::kOldSimple:
      return make_neighbour_scorer(known, "old NN co-occ., colour + HSV", inputs.feature_ids, inputs.features,
                                   kSimpleDim, options.neighbours, simple_note);
    case ScorerKind::kOurs:
      return make_typed_neighbour_scorer(
          known, fmt::format("ours: NN co-occ. by type, {} flat", inputs.model), inputs.embedding_ids,
          inputs.embeddings, inputs.embedding_dim, options.typed, model_note);
    case ScorerKind::kOldOurs:
      return make_neighbour_scorer(known, fmt::format("old NN co-occ., {} flat", inputs.model),
                                   inputs.embedding_ids, inputs.embeddings, inputs.embedding_dim,
                                   options.neighbours, model_note);
    case ScorerKind::kCompat:
      if (inputs.compat_features.ids.empty()) throw Error("compat: no features loaded");
      return make_compat_scorer(known, inputs.compat_features, options.compat,
                                fmt::format("compat: learned, {} flat + colour", inputs.model));
  }
  throw Error("unknown scorer kind");
}

FitbRun run_fitb(CompatibilityScorer& scorer, const FitbSet& set, const recommend::OutfitGraph& graph) {
  check_no_leak(scorer, set.exclude_outfits);
  FitbRun run;
  run.scorer = scorer.name();
  run.provenance = scorer.provenance();
  double credit = 0;
  Progress progress(fmt::format("FITB with {}", scorer.name()),
                    static_cast<std::int64_t>(set.questions.size()), "questions");
  for (std::size_t i = 0; i < set.questions.size(); ++i) {
    const FitbQuestion& q = set.questions[i];
    const std::string where = fmt::format("question {} (outfit {})", i, q.outfit);
    check_items(graph, q.items, where);
    check_items(graph, q.candidates, where);
    std::vector<double> scores;
    for (auto c : q.candidates) scores.push_back(scorer.candidate_score(c, q.items));
    run.chosen.push_back(q.candidates[best_candidate(scores)]);
    if (!set.answers.empty()) {
      const auto at = std::ranges::find(q.candidates, set.answers[i]) - q.candidates.begin();
      credit += fitb_credit(scores, static_cast<std::size_t>(at));
    }
    run.scores.push_back(std::move(scores));
    progress.advance();
  }
  if (!set.answers.empty() && !set.questions.empty())
    run.accuracy = credit / static_cast<double>(set.questions.size());
  return run;
}

CompatRun run_compat(CompatibilityScorer& scorer, const CompatSet& set, const recommend::OutfitGraph& graph) {
  check_no_leak(scorer, set.exclude_outfits);
  CompatRun run;
  run.scorer = scorer.name();
  run.provenance = scorer.provenance();
  Progress progress(fmt::format("compatibility with {}", scorer.name()),
                    static_cast<std::int64_t>(set.outfits.size()), "outfits");
  for (std::size_t i = 0; i < set.outfits.size(); ++i) {
    check_items(graph, set.outfits[i], fmt::format("outfit {}", i));
    run.scores.push_back(scorer.outfit_score(set.outfits[i]));
    progress.advance();
  }
  if (!set.labels.empty()) {
    const auto labels = std::make_unique<bool[]>(set.labels.size());
    for (std::size_t i = 0; i < set.labels.size(); ++i) labels[i] = set.labels[i];
    run.auc = roc_auc(run.scores, {labels.get(), set.labels.size()});
  }
  return run;
}

nlohmann::json to_json(const FitbRun& run, const FitbSet& set) {
  nlohmann::json answers = nlohmann::json::array();
  for (std::size_t i = 0; i < set.questions.size(); ++i) {
    answers.push_back(
        {{"outfit", set.questions[i].outfit}, {"chosen", run.chosen[i]}, {"scores", run.scores[i]}});
  }
  nlohmann::json j = {{"kind", "fitb"},
                      {"scorer", run.scorer},
                      {"provenance", run.provenance},
                      {"questions", set.questions.size()},
                      {"answers", answers}};
  j["accuracy"] = run.accuracy ? nlohmann::json(*run.accuracy) : nlohmann::json(nullptr);
  return j;
}

nlohmann::json to_json(const CompatRun& run) {
  nlohmann::json j = {{"kind", "compat"},
                      {"scorer", run.scorer},
                      {"provenance", run.provenance},
                      {"outfits", run.scores.size()},
                      {"scores", run.scores}};
  j["auc"] = run.auc ? nlohmann::json(*run.auc) : nlohmann::json(nullptr);
  return j;
}

OutfitEvalReport run_outfit_eval(const ScorerInputs& inputs, std::span<const Protocol> protocols,
                                 std::span<const ScorerKind> kinds, const ScorerOptions& options) {
  OutfitEvalReport report;
  report.model = inputs.model;
  report.options = options;
  for (const Protocol protocol : protocols) {
    const FitbSet fitb = make_fitb(inputs.graph, protocol, options.seed);
    const CompatSet compat = make_compat(inputs.graph, protocol, options.seed);
    const Split split = make_split(inputs.graph, protocol, options.seed);
    const KnownOutfits known(inputs.graph, fitb.exclude_outfits);
    report.notes.push_back(fmt::format(
        "{}: {} of {} outfits known, {} excluded{}; {} FITB questions, {} compatibility outfits (half real)",
        protocol_name(protocol), known.outfit_ids().size(), inputs.graph.outfits().size(),
        fitb.exclude_outfits.size(),
        protocol == Protocol::kCold
            ? fmt::format(" ({} of {} items new)", split.new_items.size(), inputs.graph.items().size())
            : std::string(),
        fitb.questions.size(), compat.outfits.size()));
    for (const ScorerKind kind : kinds) {
      const auto start = Clock::now();
      auto scorer = make_scorer(kind, inputs, known, options);
      const FitbRun f = run_fitb(*scorer, fitb, inputs.graph);
      const CompatRun c = run_compat(*scorer, compat, inputs.graph);
      report.rows.push_back({protocol_name(protocol), scorer->name(), scorer->provenance(),
                             f.accuracy.value_or(0), c.auc.value_or(0.5), fitb.questions.size(),
                             compat.outfits.size(),
                             std::chrono::duration<double>(Clock::now() - start).count()});
    }
  }
  return report;
}

nlohmann::json to_json(const OutfitEvalReport& report) {
  nlohmann::json rows = nlohmann::json::array();
  for (const auto& r : report.rows) {
    rows.push_back({{"protocol", r.protocol},
                    {"scorer", r.scorer},
                    {"provenance", r.provenance},
                    {"fitb_accuracy", r.fitb_accuracy},
                    {"fitb_questions", r.fitb_questions},
                    {"auc", r.auc},
                    {"compat_outfits", r.compat_outfits},
                    {"seconds", r.seconds}});
  }
  return {{"kind", "outfits"},
          {"model", report.model},
          {"seed", report.options.seed},
          {"neighbours", report.options.neighbours.neighbours},
          {"typed_neighbours",
           {{"same_label", same_label_name(report.options.typed.same_label)},
            {"candidate_neighbours", report.options.typed.candidate_neighbours},
            {"context_neighbours", report.options.typed.context_neighbours},
            {"evidence_floor", report.options.typed.evidence_floor}}},
          {"candidates", kCandidates},
          {"held_out_fraction", kHeldOutFraction},
          {"rows", rows},
          {"notes", report.notes}};
}

std::string format_table(const OutfitEvalReport& report) {
  std::string out = fmt::format(
      "outfit compatibility: FITB (1 of {} candidates, same category) and compatibility AUC "
      "(real vs random outfits); seed {}; old NN: K = {}; by {}: K = {} per candidate, {} per outfit item\n",
      kCandidates, report.options.seed, report.options.neighbours.neighbours,
      same_label_name(report.options.typed.same_label), report.options.typed.candidate_neighbours,
      report.options.typed.context_neighbours);
  out += fmt::format("{:<9} {:<46} | {:>8} {:>9} | {:>6} {:>8} | {:>6}\n", "protocol", "scorer", "FITB acc",
                     "questions", "AUC", "outfits", "s");
  for (const auto& r : report.rows) {
    out += fmt::format("{:<9} {:<46} | {:>8.3f} {:>9} | {:>6.3f} {:>8} | {:>6.1f}\n", r.protocol, r.scorer,
                       r.fitb_accuracy, r.fitb_questions, r.auc, r.compat_outfits, r.seconds);
  }
  for (const auto& n : report.notes) out += "note: " + n + "\n";
  if (!report.rows.empty())
    out += "note: every scorer learns only from known outfits; " + report.rows.back().provenance + "\n";
  return out;
}

}  // namespace mystyle::eval
