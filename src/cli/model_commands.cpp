// `mystyle train`, `mystyle embed`, `mystyle export-embeddings`: the image model's life cycle.
#include <fmt/format.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <optional>

#include "commands.h"
#include "mystyle/engine/embeddings.h"
#include "mystyle/engine/photo_views.h"
#include "mystyle/engine/compat_train_job.h"
#include "mystyle/engine/train_job.h"
#include "mystyle/nn/model_spec.h"

namespace mystyle::cli {
namespace {

// `train --model compat`: the shared options that apply (epochs when given, seed, split seed,
// threads, learning rate when given); the rest are the image models'.
void run_compat_training(const engine::Workspace& ws, const engine::TrainOptions& o, bool epochs_given, bool json) {
  engine::CompatTrainOptions c;
  if (epochs_given) c.settings.epochs = o.epochs;
  c.settings.seed = o.seed;
  c.split_seed = o.split_seed;
  c.threads = o.threads;
  const engine::CompatTrainReport r = engine::train_compat_on_catalog(ws, c);
  const engine::CompatEpoch last = r.history.empty() ? engine::CompatEpoch{} : r.history.back();
  if (json) {
    nlohmann::json doc{{"model", engine::kCompatModel},
                       {"epochs", r.history.size()},
                       {"outfits_learned_from", r.outfits_used},
                       {"outfits_left_out", r.outfits_left_out},
                       {"pairs", r.pairs},
                       {"train_loss", last.loss},
                       {"train_accuracy", last.accuracy},
                       {"seconds", r.seconds},
                       {"path", r.model_path.string()}};
    print_line(doc.dump(2));
    return;
  }
  print_line(fmt::format("compat: {} epochs on {} pairs from {} outfits of training designs ({} outfits holding a "
                         "held-out design left out); loss {:.4f}, the real partner beats {} others in {:.1f}% of pairs",
                         r.history.size(), r.pairs, r.outfits_used, r.outfits_left_out, last.loss,
                         c.settings.negatives, 100 * last.accuracy));
  print_line(fmt::format("this run: {:.1f} s; model in {}", r.seconds, r.model_path.string()));
}

void add_train(CLI::App& app) {
  struct Args {
    std::filesystem::path workspace;
    engine::TrainOptions options;
    bool json = false;
  };
  auto args = std::make_shared<Args>();
  CLI::App* train = app.add_subcommand(
      "train", "Train an image model on the catalog's item photos (style: on labels; seed64/seed128: autoencoders)");
  add_workspace_option(*train, args->workspace);
  auto& o = args->options;
  std::vector<std::string> trainable = nn::builtin_model_names();
  trainable.emplace_back(engine::kCompatModel);
  train
      ->add_option("--model", o.model,
                   "Model: style (the image embedding), compat (which pieces go together; needs style "
                   "embeddings), seed64/seed128 (the original's autoencoders)")
      ->check(CLI::IsMember(trainable))
      ->capture_default_str();
  train->add_option("--epochs", o.epochs, "Most epochs to run (early stopping may end sooner)")
      ->check(CLI::Range(1, 100000))
      ->capture_default_str();
  train->add_option("--batch", o.batch_size, "Images per batch")
      ->check(CLI::Range(1, 4096))
      ->capture_default_str();
  train->add_option("--lr", o.learning_rate, "Adam learning rate")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  train->add_option("--seed", o.seed, "Seed for weights, split and shuffling")->capture_default_str();
  train->add_option("--split-seed", o.split_seed,
                    "style: seed of the held-out-designs split (their items never reach training)")
      ->capture_default_str();
  train->add_flag("--resume", o.resume, "Continue from the last checkpoint");
  train->add_flag("--augment", o.augment,
                  "Denoising training: edit each input as a user's photo might be (tilt, shift, exposure, "
                  "colour cast, blur); the clean image stays the target");
  train
      ->add_option("--contrastive", o.contrastive_weight,
                   "Weight of a contrastive loss (NT-Xent on two edited views' latent codes) added to the "
                   "reconstruction loss; implies --augment")
      ->check(CLI::NonNegativeNumber);
  train
      ->add_option("--texture-backgrounds", o.augmentation.texture_chance,
                   "Share of training photos whose studio background is repainted with a texture (style, or "
                   "with --augment; experimental: docs/results.md section 0, run 6)")
      ->check(CLI::Range(0.0, 1.0));
  train
      ->add_option("--patience", o.patience,
                   "Epochs without validation improvement before stopping (default: 5 for the autoencoders; "
                   "style runs its whole learning-rate schedule and keeps the best epoch)")
      ->check(CLI::Range(1, 100000));
  train->add_option("--threads", o.threads, "Worker threads (0 = all cores)")->capture_default_str();
  train->add_option("--max-items", o.max_items, "Use only the first N items with a photo (quick runs)");
  train->add_flag("--json", args->json, "Print the report as JSON");
  train->callback([args, train] {
    const engine::Workspace ws(args->workspace);
    if (args->options.model == engine::kCompatModel) {
      run_compat_training(ws, args->options, train->count("--epochs") > 0, args->json);
      return;
    }
    const engine::TrainReport r = engine::train_on_catalog(ws, args->options);
    if (args->json) {
      print_line(nlohmann::json{{"model", r.model},
                                {"epochs", r.epochs_run},
                                {"best_epoch", r.best_epoch},
                                {"stopped_early", r.stopped_early},
                                {"train_loss", r.last_train_loss},
                                {"best_val_loss", r.best_val_loss},
                                {"test_loss", r.test_loss},
                                {"recon_error_variance", r.recon_error_variance},
                                {"train_seconds", r.train_seconds},
                                {"images_per_second", r.images_per_second}}
                     .dump(2));
      return;
    }
    if (r.label_trained) {
      print_line(fmt::format("{}: {} epochs (best {}{}), train loss {:.4f}, best val loss {:.4f}; {} train, {} "
                             "validation images, {} items of held-out designs never used",
                             r.model, r.epochs_run, r.best_epoch, r.stopped_early ? ", stopped early" : "",
                             r.last_train_loss, r.best_val_loss, r.train_images, r.val_images, r.test_images));
      print_line(fmt::format("this run: {:.1f} s at {:.0f} img/s; report in {}", r.train_seconds,
                             r.images_per_second, ws.report_dir(r.model).string()));
      return;
    }
    print_line(
        fmt::format("{}: {} epochs (best {}{}), train loss {:.5f}, best val loss {:.5f}, test loss {:.5f}",
                    r.model, r.epochs_run, r.best_epoch, r.stopped_early ? ", stopped early" : "",
                    r.last_train_loss, r.best_val_loss, r.test_loss));
    print_line(fmt::format("reconstruction error per image: mean {:.6f}, variance {:.3g}", r.recon_error_mean,
                           r.recon_error_variance));
    print_line(fmt::format("this run: {:.1f} s at {:.0f} img/s; report in {}", r.train_seconds,
                           r.images_per_second, ws.report_dir(r.model).string()));
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
