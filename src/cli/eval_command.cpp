// `mystyle eval ...`: how good the recommendations are (retrieval, outfit compatibility,
// robustness), each beside its baselines; question files for fill-in-the-blank and compatibility.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <memory>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "mystyle/core/error.h"
#include "mystyle/core/file_io.h"
#include "mystyle/eval/eval_data.h"
#include "mystyle/eval/outfit_eval.h"
#include "mystyle/eval/probe.h"
#include "mystyle/eval/questions.h"
#include "mystyle/eval/retrieval.h"
#include "mystyle/eval/robustness.h"
#include "mystyle/eval/transfer.h"
#include "mystyle/eval/worn.h"

namespace mystyle::cli {
namespace {

nlohmann::json read_json(const std::filesystem::path& path) {
  const std::string text = read_file_bytes(path);
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    throw Error(fmt::format("{}: not valid JSON: {}", path.string(), e.what()));
  }
}

void write_json(const std::filesystem::path& path, const nlohmann::json& j) {
  write_file_atomic(path, j.dump(1) + "\n");
}

/// Prints the table, or the JSON document with --json, and saves the document in the workspace.
void report(const engine::Workspace& ws, const std::string& kind, const nlohmann::json& doc,
            const std::string& table, bool json) {
  const auto path = eval::save_report(ws, kind, doc);
  if (json) {
    print_line(doc.dump(2));
  } else {
    print_line(table);
    print_line(fmt::format("report saved to {}", path.string()));
  }
}

void add_retrieval(CLI::App& eval) {
  struct Args {
    std::filesystem::path workspace;
    eval::RetrievalOptions options;
    std::string metric = "all", protocol = "heldout";
    bool json = false;
  };
  auto args = std::make_shared<Args>();
  CLI::App* cmd = eval.add_subcommand(
      "retrieval",
      "Retrieval on held-out designs: precision@1/@k, mAP and score distribution, ours vs baselines");
  add_workspace_option(*cmd, args->workspace);
  cmd->add_option("--model", args->options.model, "Trained model (with flat embeddings)")
      ->capture_default_str();
  cmd->add_option("--protocol", args->protocol,
                  "heldout (items of held-out designs against each other) or all (leave-one-out)")
      ->check(CLI::IsMember({"heldout", "all"}))
      ->capture_default_str();
  cmd->add_option("--split-seed", args->options.split_seed, "Seed of the held-out designs")
      ->capture_default_str();
  cmd->add_option("--metric", args->metric, "cosine, euclidean, pearson or all")
      ->check(CLI::IsMember({"cosine", "euclidean", "pearson", "all"}))
      ->capture_default_str();
  cmd->add_option("-k", args->options.k, "Ranks for precision@k")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();
  cmd->add_option("--seed", args->options.seed,
                  "Seed of the random baseline and of the similarity pair sample")
      ->capture_default_str();
  cmd->add_option("--threads", args->options.threads, "Worker threads (0 = all cores)");
  cmd->add_flag("--json", args->json, "Print the report as JSON");
  cmd->callback([args] {
    auto& o = args->options;
    o.metrics.clear();
    for (const char* m : {"cosine", "euclidean", "pearson"}) {
      if (args->metric == "all" || args->metric == m) o.metrics.push_back(index::parse_metric(m));
    }
    o.protocol = eval::parse_retrieval_protocol(args->protocol);
    const engine::Workspace ws(args->workspace);
    const auto r = eval::run_retrieval(ws, o);
    for (const auto& path : eval::save_similarity_files(ws, r)) spdlog::info("wrote {}", path.string());
    report(ws, "retrieval", eval::to_json(r), eval::format_table(r), args->json);
  });
}

void add_make_questions(CLI::App& eval, bool fitb) {
  struct Args {
    std::filesystem::path workspace, out, answers;
    std::string protocol = "cold";
    std::uint64_t seed = 1;
  };
  auto args = std::make_shared<Args>();
  CLI::App* cmd =
      eval.add_subcommand(fitb ? "make-fitb" : "make-compat",
                          fitb ? "Write fill-in-the-blank questions and their answer key"
                               : "Write compatibility outfits (real and random) and their labels");
  add_workspace_option(*cmd, args->workspace);
  cmd->add_option("--protocol", args->protocol, "cold or warm")
      ->check(CLI::IsMember({"cold", "warm"}))
      ->capture_default_str();
  cmd->add_option("--seed", args->seed, "Seed of the split and the candidates")->capture_default_str();
  cmd->add_option("--out", args->out, "Questions file (JSON)")->required();
  cmd->add_option("--answers", args->answers, "Answer key file (JSON)")->required();
  cmd->callback([args, fitb] {
    catalog::Catalog cat(args->workspace);
    const auto graph = recommend::OutfitGraph::load(cat);
    const auto protocol = eval::parse_protocol(args->protocol);
    std::size_t count = 0, excluded = 0;
    if (fitb) {
      const auto set = eval::make_fitb(graph, protocol, args->seed);
      write_json(args->out, eval::fitb_questions_json(set));
      write_json(args->answers, eval::fitb_answers_json(set));
      count = set.questions.size();
      excluded = set.exclude_outfits.size();
    } else {
      const auto set = eval::make_compat(graph, protocol, args->seed);
      write_json(args->out, eval::compat_questions_json(set));
      write_json(args->answers, eval::compat_answers_json(set));
      count = set.outfits.size();
      excluded = set.exclude_outfits.size();
    }
    print_line(fmt::format("{} {} ({} protocol, seed {}, {} outfits excluded) -> {}; answers -> {}", count,
                           fitb ? "questions" : "outfits", args->protocol, args->seed, excluded,
                           args->out.string(), args->answers.string()));
  });
}

void add_answer(CLI::App& eval, bool fitb) {
  struct Args {
    std::filesystem::path workspace, questions, answers;
    std::string scorer = "ours", model = engine::kDefaultModel;
    eval::ScorerOptions options;
  };
  auto args = std::make_shared<Args>();
  CLI::App* cmd =
      eval.add_subcommand(fitb ? "fitb" : "compat",
                          fitb ? "Answer fill-in-the-blank questions (JSON out; accuracy with --answers)"
                               : "Score compatibility outfits (JSON out; AUC with --answers)");
  add_workspace_option(*cmd, args->workspace);
  cmd->add_option("--questions", args->questions, "Questions file (JSON)")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("--answers", args->answers, "Answer key (JSON): adds the accuracy / AUC")
      ->check(CLI::ExistingFile);
  std::vector<std::string> scorer_names;
  for (const auto kind : eval::kAllScorers) scorer_names.push_back(eval::scorer_kind_name(kind));
  cmd->add_option("--scorer", args->scorer, "Scorer (eval outfits shows them all)")
      ->check(CLI::IsMember(scorer_names))
      ->capture_default_str();
  cmd->add_option("--model", args->model, "Trained model (scorer ours)")->capture_default_str();
  cmd->add_option("--neighbours", args->options.neighbours.neighbours, "K nearest known items per item")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();
  cmd->add_option("--seed", args->options.seed, "Seed of the random scorer")->capture_default_str();
  cmd->callback([args, fitb] {
    const engine::Workspace ws(args->workspace);
    const auto kind = eval::parse_scorer_kind(args->scorer);
    const eval::ScorerKind kinds[] = {kind};
    const auto inputs = eval::load_scorer_inputs(ws, args->model, kinds, 0);
    const nlohmann::json questions = read_json(args->questions);
    const nlohmann::json answers = args->answers.empty() ? nlohmann::json() : read_json(args->answers);
    nlohmann::json doc;
    if (fitb) {
      const auto set = eval::parse_fitb(questions, answers, args->questions.string());
      const eval::KnownOutfits known(inputs.graph, set.exclude_outfits);
      auto scorer = eval::make_scorer(kind, inputs, known, args->options);
      const auto run = eval::run_fitb(*scorer, set, inputs.graph);
      doc = eval::to_json(run, set);
      if (run.accuracy)
        spdlog::info("FITB accuracy of {}: {:.4f} on {} questions", run.scorer, *run.accuracy,
                     set.questions.size());
    } else {
      const auto set = eval::parse_compat(questions, answers, args->questions.string());
      const eval::KnownOutfits known(inputs.graph, set.exclude_outfits);
      auto scorer = eval::make_scorer(kind, inputs, known, args->options);
      const auto run = eval::run_compat(*scorer, set, inputs.graph);
      doc = eval::to_json(run);
      if (run.auc)
        spdlog::info("compatibility AUC of {}: {:.4f} on {} outfits", run.scorer, *run.auc,
                     set.outfits.size());
    }
    doc["questions_file"] = args->questions.string();
    eval::save_report(ws, fitb ? "fitb" : "compat", doc);
    print_line(doc.dump(1));
  });
}

void add_outfits(CLI::App& eval) {
  struct Args {
    std::filesystem::path workspace;
    std::string protocol = "both", model = engine::kDefaultModel;
    eval::ScorerOptions options;
    bool normalise = false, json = false;
  };
  auto args = std::make_shared<Args>();
  CLI::App* cmd =
      eval.add_subcommand("outfits", "FITB accuracy and compatibility AUC of every scorer, cold and warm");
  add_workspace_option(*cmd, args->workspace);
  cmd->add_option("--protocol", args->protocol, "cold, warm or both")
      ->check(CLI::IsMember({"cold", "warm", "both"}))
      ->capture_default_str();
  cmd->add_option("--model", args->model, "Trained model")->capture_default_str();
  cmd->add_option("--seed", args->options.seed, "Seed of the split, candidates and random scorer")
      ->capture_default_str();
  cmd->add_option("--neighbours", args->options.neighbours.neighbours, "K nearest known items per item")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();
  cmd->add_flag("--normalise", args->normalise,
                "Neighbour scorers: divide co-occurrences by sqrt(popularity product)");
  cmd->add_flag("--json", args->json, "Print the report as JSON");
  cmd->callback([args] {
    args->options.neighbours.normalise_by_popularity = args->normalise;
    const engine::Workspace ws(args->workspace);
    std::vector<eval::Protocol> protocols;
    if (args->protocol != "warm") protocols.push_back(eval::Protocol::kCold);
    if (args->protocol != "cold") protocols.push_back(eval::Protocol::kWarm);
    const auto inputs = eval::load_scorer_inputs(ws, args->model, eval::kAllScorers, 0);
    const auto r = eval::run_outfit_eval(inputs, protocols, eval::kAllScorers, args->options);
    report(ws, "outfits", eval::to_json(r), eval::format_table(r), args->json);
  });
}

void add_probe(CLI::App& eval) {
  struct Args {
    std::filesystem::path workspace;
    eval::ProbeOptions options;
    bool json = false;
  };
  auto args = std::make_shared<Args>();
  CLI::App* cmd = eval.add_subcommand("probe",
                                      "Linear probes: each label's classifier fitted on training designs, "
                                      "accuracy and P@k on held-out designs");
  add_workspace_option(*cmd, args->workspace);
  cmd->add_option("--model", args->options.model, "Trained model (with flat embeddings)")
      ->capture_default_str();
  cmd->add_option("--split-seed", args->options.split_seed, "Seed of the held-out designs")
      ->capture_default_str();
  cmd->add_option("-k", args->options.k, "Ranks for precision@k")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();
  cmd->add_option("--iterations", args->options.fit.iterations, "Full-batch Adam steps per probe")
      ->check(CLI::Range(1, 100000))
      ->capture_default_str();
  cmd->add_option("--l2", args->options.fit.l2, "Weight decay of each probe")
      ->check(CLI::Range(0.0, 100.0))
      ->capture_default_str();
  cmd->add_option("--threads", args->options.threads, "Worker threads for the rankings (0 = all cores)");
  cmd->add_flag("--json", args->json, "Print the report as JSON");
  cmd->callback([args] {
    const engine::Workspace ws(args->workspace);
    const auto r = eval::run_probe(ws, args->options);
    report(ws, "probe", eval::to_json(r), eval::format_table(r), args->json);
  });
}

void add_robustness(CLI::App& eval) {
  struct Args {
    std::filesystem::path workspace;
    eval::RobustnessOptions options;
    bool json = false;
  };
  auto args = std::make_shared<Args>();
  CLI::App* cmd =
      eval.add_subcommand("robustness", "Recall of a product from user-like photos of it (perturbed)");
  add_workspace_option(*cmd, args->workspace);
  cmd->add_option("--model", args->options.model, "Trained model")->capture_default_str();
  cmd->add_option("--limit", args->options.limit, "Products sampled (0 = all)")->capture_default_str();
  cmd->add_option("-k", args->options.k, "Ranks for recall@k")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();
  cmd->add_option("--seed", args->options.seed, "Seed of the sample")->capture_default_str();
  cmd->add_option("--split-seed", args->options.split_seed, "Seed of the held-out designs queried")
      ->capture_default_str();
  cmd->add_flag("--all-items", args->options.all_items,
                "Sample queries from every item, not only held-out designs (the old protocol)");
  cmd->add_option("--threads", args->options.threads, "Worker threads (0 = all cores)");
  cmd->add_flag("--json", args->json, "Print the report as JSON");
  cmd->callback([args] {
    const engine::Workspace ws(args->workspace);
    const auto r = eval::run_robustness(ws, args->options);
    report(ws, "robustness", eval::to_json(r), eval::format_table(r), args->json);
  });
}

void add_transfer(CLI::App& eval) {
  struct Args {
    std::filesystem::path workspace;
    eval::TransferOptions options;
    bool json = false;
  };
  auto args = std::make_shared<Args>();
  CLI::App* cmd = eval.add_subcommand(
      "transfer", "Slot, category and type voted for photos taken outside the studio (held-out designs)");
  add_workspace_option(*cmd, args->workspace);
  cmd->add_option("--model", args->options.model, "Trained model")->capture_default_str();
  cmd->add_option("--limit", args->options.limit, "Products sampled (0 = all)")->capture_default_str();
  cmd->add_option("-k", args->options.k, "Neighbours that vote")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();
  cmd->add_option("--seed", args->options.seed, "Seed of the sample and the edits")->capture_default_str();
  cmd->add_option("--split-seed", args->options.split_seed, "Seed of the held-out designs queried")
      ->capture_default_str();
  cmd->add_option("--threads", args->options.threads, "Worker threads (0 = all cores)");
  cmd->add_flag("--json", args->json, "Print the report as JSON");
  cmd->callback([args] {
    const engine::Workspace ws(args->workspace);
    const auto r = eval::run_transfer(ws, args->options);
    spdlog::info("wrote {}", eval::save_transfer_examples(ws, r).string());
    report(ws, "transfer", eval::to_json(r), eval::format_table(r), args->json);
  });
}

void add_worn(CLI::App& eval) {
  struct Args {
    std::filesystem::path workspace;
    eval::WornOptions options;
    bool json = false;
  };
  auto args = std::make_shared<Args>();
  CLI::App* cmd = eval.add_subcommand(
      "worn", "Slot and type group of each piece of a photo of a person (held-out CCP photos, held-out MANGO "
              "garments pasted on them), beside the whole photo as one garment and studio photos");
  add_workspace_option(*cmd, args->workspace);
  cmd->add_option("--model", args->options.model, "Trained model")->capture_default_str();
  cmd->add_option("--data", args->options.ccp, "The CCP data set (default: $MYSTYLE_DATASETS/ccp)");
  cmd->add_option("--limit", args->options.limit, "Held-out CCP photos (0 = all)")->capture_default_str();
  cmd->add_option("--studio-limit", args->options.studio_limit, "Held-out MANGO studio photos")->capture_default_str();
  cmd->add_option("--min-confidence", args->options.min_confidence,
                  "Leave out parsed pieces under this confidence (the engine's default; 0 keeps all)")
      ->capture_default_str();
  cmd->add_option("--min-likelihood", args->options.min_likelihood,
                  "Leave out parsed pieces less likely than this to be right (the parse model's rule; 0 keeps all)")
      ->capture_default_str();
  cmd->add_flag("--training-photos", args->options.training_photos,
                "Judge the parser's training photos instead (for tuning; never a result)");
  cmd->add_option("--tagged-limit", args->options.tagged_limit, "CCP photos tagged only (0 = all)")
      ->capture_default_str();
  cmd->add_option("-k", args->options.k, "Matches that vote")
      ->check(CLI::Range(std::size_t{1}, std::size_t{100}))
      ->capture_default_str();
  cmd->add_option("--seed", args->options.seed, "Seed of the pasted garments")->capture_default_str();
  cmd->add_option("--parse-split-seed", args->options.parse_split_seed, "The CCP split the parser was trained with")
      ->capture_default_str();
  cmd->add_option("--split-seed", args->options.split_seed, "Seed of MANGO's held-out designs")->capture_default_str();
  cmd->add_flag("--json", args->json, "Print the report as JSON");
  cmd->callback([args] {
    const engine::Workspace ws(args->workspace);
    const auto r = eval::run_worn(ws, args->options);
    report(ws, "worn", eval::to_json(r), eval::format_table(r), args->json);
  });
}

}  // namespace

void add_eval_command(CLI::App& app) {
  CLI::App* eval = app.add_subcommand("eval", "Measure how good the recommendations are, against baselines");
  eval->require_subcommand(1);
  add_retrieval(*eval);
  add_make_questions(*eval, /*fitb=*/true);
  add_make_questions(*eval, /*fitb=*/false);
  add_answer(*eval, /*fitb=*/true);
  add_answer(*eval, /*fitb=*/false);
  add_outfits(*eval);
  add_robustness(*eval);
  add_probe(*eval);
  add_transfer(*eval);
  add_worn(*eval);
}

}  // namespace mystyle::cli
