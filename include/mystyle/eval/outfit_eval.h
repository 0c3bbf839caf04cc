#pragma once
/// Running compatibility scorers on FITB questions and compatibility outfits (questions.h), and the
/// one-shot evaluation of every scorer under both protocols.
#include <cstdint>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "mystyle/engine/compat_model.h"
#include "mystyle/engine/workspace.h"
#include "mystyle/eval/questions.h"
#include "mystyle/eval/scorers.h"
#include "mystyle/recommend/outfit_graph.h"

namespace mystyle::eval {

enum class ScorerKind {
  kOurs,              ///< the typed neighbour scorer on the trained model's flat embeddings
  kRandom,            ///< seeded random scores
  kPopularity,        ///< the candidate's count in known outfits
  kCooccurrence,      ///< direct co-occurrence counts with the outfit's items
  kTypeCooccurrence,  ///< co-occurrence of product types (catalog labels only, no image)
  kSimple,            ///< the typed neighbour scorer on centred colour thumbnail + HSV histogram / 2
  kSimpleUncentred,   ///< the typed neighbour scorer on the first simple features (colour + HSV)
  kOldSimpleCentred,  ///< the first neighbour scorer on centred colour thumbnail + HSV histogram / 2
  kOldSimple,         ///< the first neighbour scorer on the first simple features (colour + HSV)
  kOldOurs,           ///< the first neighbour scorer on the trained model's flat embeddings
  kCompat,            ///< the learned compatibility model (engine/compat_model.h), trained on known outfits
};
/// Every scorer, in report order (baselines first, then old and new neighbour scorers per vectors).
inline constexpr ScorerKind kAllScorers[] = {ScorerKind::kRandom,          ScorerKind::kPopularity,
                                             ScorerKind::kCooccurrence,    ScorerKind::kTypeCooccurrence,
                                             ScorerKind::kOldSimple,       ScorerKind::kOldSimpleCentred,
                                             ScorerKind::kSimpleUncentred, ScorerKind::kSimple,
                                             ScorerKind::kOldOurs,         ScorerKind::kOurs,
                                             ScorerKind::kCompat};

/// "ours", "random", "popularity", "cooccurrence", "type-cooccurrence", "simple", "simple-uncentred",
/// "old-simple-centred", "old-simple", "old-ours", "compat".
std::string scorer_kind_name(ScorerKind kind);
ScorerKind parse_scorer_kind(const std::string& name);

/// What the scorers are built from, loaded once.
struct ScorerInputs {
  recommend::OutfitGraph graph;
  std::string model;
  std::vector<std::int64_t> embedding_ids;  ///< ours: flat embeddings (empty when not loaded)
  std::vector<float> embeddings;
  std::size_t embedding_dim = 0;
  std::vector<std::int64_t> feature_ids;  ///< simple: rows of both feature matrices below
  std::vector<float> features;            ///< colour thumbnail + HSV histogram, each of unit length
  std::vector<float> centred_features;    ///< the same, each centred, the histogram weighted 1/2
  engine::CompatFeatures compat_features;  ///< compat: the model's flat embeddings + colour features
};

/// Loads the catalog graph and, for the given kinds, the checked flat embeddings of `model` and
/// the simple features (computed and cached on first use).
ScorerInputs load_scorer_inputs(const engine::Workspace& workspace, const std::string& model,
                                std::span<const ScorerKind> kinds, int threads);

struct ScorerOptions {
  std::uint64_t seed = 1;       ///< the random scorer's
  NeighbourOptions neighbours;  ///< the first neighbour scorer's (old-simple, old-ours rows)
  TypedNeighbourOptions typed;  ///< the typed neighbour scorer's (ours, simple rows)
  engine::CompatSettings compat;  ///< the compat model's training (per protocol, on its known outfits)
};

/// A scorer that learns from `known` only. Throws when its inputs were not loaded.
std::unique_ptr<CompatibilityScorer> make_scorer(ScorerKind kind, const ScorerInputs& inputs,
                                                 const KnownOutfits& known, const ScorerOptions& options);

struct FitbRun {
  std::string scorer, provenance;
  std::vector<std::vector<double>> scores;  ///< per question, per candidate
  std::vector<std::int64_t> chosen;         ///< per question, the best candidate (first among ties)
  std::optional<double> accuracy;           ///< mean fitb_credit, when the set has answers
};

struct CompatRun {
  std::string scorer, provenance;
  std::vector<double> scores;  ///< per outfit
  std::optional<double> auc;   ///< when the set has labels
};

/// Scores every question. Throws mystyle::Error for an item id unknown to `graph` (naming the
/// question) and, through check_no_leak, when the scorer learned from an excluded outfit.
FitbRun run_fitb(CompatibilityScorer& scorer, const FitbSet& set, const recommend::OutfitGraph& graph);
CompatRun run_compat(CompatibilityScorer& scorer, const CompatSet& set, const recommend::OutfitGraph& graph);

nlohmann::json to_json(const FitbRun& run, const FitbSet& set);
nlohmann::json to_json(const CompatRun& run);

/// One scorer under one protocol.
struct OutfitEvalRow {
  std::string protocol, scorer, provenance;
  double fitb_accuracy = 0, auc = 0;
  std::size_t fitb_questions = 0, compat_outfits = 0;
  double seconds = 0;
};

struct OutfitEvalReport {
  std::string model;
  ScorerOptions options;
  std::vector<OutfitEvalRow> rows;
  std::vector<std::string> notes;  ///< split sizes per protocol
};

/// Makes the FITB and compatibility sets of each protocol (seeded by options.seed) and runs every
/// scorer of `kinds` on them, each learning only from that protocol's known outfits.
OutfitEvalReport run_outfit_eval(const ScorerInputs& inputs, std::span<const Protocol> protocols,
                                 std::span<const ScorerKind> kinds, const ScorerOptions& options);

nlohmann::json to_json(const OutfitEvalReport& report);
std::string format_table(const OutfitEvalReport& report);

}  // namespace mystyle::eval
