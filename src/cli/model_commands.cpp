// `mystyle train` (any family of train/family.h), `mystyle embed`, `mystyle export-embeddings`.
#include <fmt/format.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <optional>

#include "commands.h"
#include "mystyle/engine/embeddings.h"
#include "mystyle/engine/photo_views.h"
#include "mystyle/train/family.h"

namespace mystyle::cli {
namespace {

void add_train(CLI::App& app) {
  struct Args {
    std::filesystem::path workspace;
    train::TrainOptions options;
    bool json = false;
  };
  auto args = std::make_shared<Args>();
  std::string families;
  for (const train::Family& f : train::families())
    families += fmt::format("\n  {}: {}", f.name, f.learns_from);
  CLI::App* cmd = app.add_subcommand(
      "train", "Train a model family on the catalog (each family takes only the options that apply to it)");
  add_workspace_option(*cmd, args->workspace);
  auto& o = args->options;
  cmd->add_option("--model", o.model, "Model family:" + families)
      ->check(CLI::IsMember(train::family_names()))
      ->capture_default_str();
  cmd->add_option("--epochs", o.epochs, "Most epochs to run (early stopping may end sooner; parse: 50 unless given)")
      ->check(CLI::Range(1, 100000))
      ->capture_default_str();
  cmd->add_option("--batch", o.batch_size, "Images per batch (parse: 16 unless given)")
      ->check(CLI::Range(1, 4096))
      ->capture_default_str();
  cmd->add_option("--lr", o.learning_rate, "Adam learning rate (parse: 2e-3 unless given)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--seed", o.seed, "Seed for weights, split and shuffling")->capture_default_str();
  cmd->add_option("--split-seed", o.split_seed,
                  "style: seed of the held-out-designs split (their items never reach training)")
      ->capture_default_str();
  cmd->add_flag("--resume", o.resume, "Continue from the last checkpoint");
  cmd->add_flag("--augment", o.augment,
                "Denoising training: edit each input as a user's photo might be (tilt, shift, exposure, "
                "colour cast, blur); the clean image stays the target");
  cmd->add_option("--contrastive", o.contrastive_weight,
                  "Weight of a contrastive loss (NT-Xent on two edited views' latent codes) added to the "
                  "reconstruction loss; implies --augment")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--texture-backgrounds", o.augmentation.texture_chance,
                  "Share of training photos whose studio background is repainted with a texture (style, or "
                  "with --augment; experimental: docs/results.md section 0, run 6)")
      ->check(CLI::Range(0.0, 1.0));
  cmd->add_option("--patience", o.patience,
                  "Epochs without validation improvement before stopping (default: 5 for the autoencoders; "
                  "style runs its whole learning-rate schedule and keeps the best epoch)")
      ->check(CLI::Range(1, 100000));
  cmd->add_option("--threads", o.threads, "Worker threads (0 = all cores)")->capture_default_str();
  cmd->add_option("--max-items", o.max_items,
                  "Use only the first N items with a photo (parse: N photos of each split; quick runs)");
  cmd->add_option("--data", o.data, "parse: the CCP folder (default: $MYSTYLE_DATASETS/ccp)");
  cmd->add_flag("--validation-run", o.validation_run,
                "parse: choose settings on a seeded fifth of the training photos (evaluated on them, not on "
                "the held-out photos)");
  cmd->add_flag("--json", args->json, "Print the report as JSON");
  cmd->callback([args, cmd] {
    train::OptionSet given = 0;
    for (const auto& [option, flag] : train::all_options()) {
      if (cmd->count(std::string(flag)) > 0) given = given | option;
    }
    const train::TrainSummary summary =
        train::train(engine::Workspace(args->workspace), args->options, given);
    if (args->json) {
      print_line(summary.json);
      return;
    }
    for (const std::string& line : summary.lines) print_line(line);
  });
}

void add_embed(CLI::App& app) {
  struct Args {
    std::filesystem::path workspace;
    std::string model = engine::kDefaultModel, pooling = "flat";
    int threads = 0;
    bool json = false, no_views = false;
  };
  auto args = std::make_shared<Args>();
  CLI::App* embed =
      app.add_subcommand("embed", "Encode every catalog item into a latent vector for the index");
  add_workspace_option(*embed, args->workspace);
  embed->add_option("--model", args->model, "Trained model")->capture_default_str();
  embed
      ->add_option("--pooling", args->pooling,
                   "flat: the whole 4x4x8 code; mean: the original's 8 channel means")
      ->check(CLI::IsMember({"flat", "mean"}))
      ->capture_default_str();
  embed->add_option("--threads", args->threads, "Worker threads (0 = all cores)");
  embed->add_flag("--no-views", args->no_views,
                  "Skip the edited views (tilted, brighter) that flat embeddings add to the index");
  embed->add_flag("--json", args->json, "Print the summary as JSON");
  embed->callback([args] {
    const engine::Workspace workspace(args->workspace);
    const auto pooling = engine::parse_pooling(args->pooling);
    const auto r = engine::embed_catalog(workspace, args->model, pooling, args->threads);
    std::optional<engine::EmbedReport> views;
    if (pooling == nn::LatentPooling::kFlat && !args->no_views) {
      views = engine::embed_catalog_views(workspace, args->model, pooling, args->threads);
    }
    if (args->json) {
      nlohmann::json doc{{"items", r.items},
                         {"newly_encoded", r.newly_encoded},
                         {"dim", r.dim},
                         {"seconds", r.seconds},
                         {"path", r.path.string()}};
      if (views) {
        doc["views"] = {{"items", views->items},
                        {"views_per_item", engine::kEditedViews},
                        {"newly_encoded_items", views->newly_encoded},
                        {"seconds", views->seconds},
                        {"path", views->path.string()}};
      }
      print_line(doc.dump(2));
      return;
    }
    print_line(fmt::format("{} items embedded ({} newly encoded), {} numbers each, in {:.2f} s: {}", r.items,
                           r.newly_encoded, r.dim, r.seconds, r.path.string()));
    if (views) {
      print_line(fmt::format(
          "{} items' edited views embedded ({} per item: tilted either way, brighter; {} items "
          "newly encoded) in {:.2f} s: {}",
          views->items, engine::kEditedViews, views->newly_encoded, views->seconds, views->path.string()));
    }
  });
}

void add_export(CLI::App& app) {
  struct Args {
    std::filesystem::path workspace, out;
    std::string model = engine::kDefaultModel, pooling = "flat";
  };
  auto args = std::make_shared<Args>();
  CLI::App* exp = app.add_subcommand("export-embeddings", "Write the item embeddings as CSV");
  add_workspace_option(*exp, args->workspace);
  exp->add_option("--out", args->out, "CSV file to write")->required();
  exp->add_option("--model", args->model, "Trained model")->capture_default_str();
  exp->add_option("--pooling", args->pooling, "flat or mean")
      ->check(CLI::IsMember({"flat", "mean"}))
      ->capture_default_str();
  exp->callback([args] {
    const engine::Workspace ws(args->workspace);
    const auto e = engine::load_embeddings(ws.embeddings_file(args->model, args->pooling));
    engine::export_embeddings_csv(ws, e, args->out);
    print_line(fmt::format("wrote {} rows of {} numbers to {}", e.size(), e.dim, args->out.string()));
  });
}

}  // namespace

void add_model_commands(CLI::App& app) {
  add_train(app);
  add_embed(app);
  add_export(app);
}

}  // namespace mystyle::cli
