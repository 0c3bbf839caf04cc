// The table of model families (family.h). To add a family: write its job (a run function, and for
// a model of nn/ its spec in nn/model_spec.cpp), then add its row here. Nothing else dispatches on
// a family's name.
#include <fmt/format.h>

#include <algorithm>
#include <array>

#include "mystyle/core/error.h"
#include "mystyle/engine/compat_model.h"
#include "mystyle/train/autoencoder_job.h"
#include "mystyle/train/colour_job.h"
#include "mystyle/train/compat_job.h"
#include "mystyle/train/family.h"
#include "mystyle/train/parse_job.h"
#include "mystyle/train/style_job.h"

namespace mystyle::train {
namespace {

/// Every option and its flag, in --help order.
constexpr std::array<OptionFlag, 14> kOptions = {{{Option::kEpochs, "--epochs"},
                                                  {Option::kBatch, "--batch"},
                                                  {Option::kLearningRate, "--lr"},
                                                  {Option::kSeed, "--seed"},
                                                  {Option::kSplitSeed, "--split-seed"},
                                                  {Option::kResume, "--resume"},
                                                  {Option::kPatience, "--patience"},
                                                  {Option::kAugment, "--augment"},
                                                  {Option::kContrastive, "--contrastive"},
                                                  {Option::kTextureBackgrounds, "--texture-backgrounds"},
                                                  {Option::kMaxItems, "--max-items"},
                                                  {Option::kThreads, "--threads"},
                                                  {Option::kData, "--data"},
                                                  {Option::kValidationRun, "--validation-run"}}};

/// What every image family takes.
constexpr OptionSet kImageOptions = Option::kEpochs | Option::kBatch | Option::kLearningRate | Option::kSeed |
                                    Option::kResume | Option::kPatience | Option::kMaxItems |
                                    Option::kThreads;

// clang-format off
const std::array<Family, 6> kFamilies = {{
    {"style",
     "the catalog's item photos and labels (type, family, category, colour), training designs only",
     "models/style.model, .checkpoint; reports/style/ (history.csv, loss_curve.png, train.json)",
     kImageOptions | Option::kSplitSeed | Option::kTextureBackgrounds,
     run_style_family, train_style},
    {"compat",
     "the outfits of the training designs, on the style embeddings and colour features",
     "models/compat.model, compat.json; reports/compat/history.csv",
     Option::kEpochs | Option::kSeed | Option::kSplitSeed | Option::kThreads,
     run_compat_family, nullptr},
    {"colour",
     "the style model's codes and the cached photos' colours of the training designs (family and type "
     "read-outs); the ranking's weights chosen on its validation designs",
     "models/colour.json; reports/colour/train.json",
     Option::kSplitSeed | Option::kMaxItems | Option::kThreads,
     run_colour_family, nullptr},
    {"seed64",
     "the catalog's item photos, 64x64, reconstructed (the original's autoencoder)",
     "models/seed64.model, .checkpoint; reports/seed64/ (loss_curve.png, reconstructions.png, train.json)",
     kImageOptions | Option::kAugment | Option::kContrastive | Option::kTextureBackgrounds,
     run_autoencoder_family, train_autoencoder},
    {"seed128",
     "the catalog's item photos, 128x128, reconstructed (the original's autoencoder)",
     "models/seed128.model, .checkpoint; reports/seed128/ (loss_curve.png, reconstructions.png, train.json)",
     kImageOptions | Option::kAugment | Option::kContrastive | Option::kTextureBackgrounds,
     run_autoencoder_family, train_autoencoder},
    {"parse",
     "the pixel labels of CCP's street photos (training photos only; a seeded 20% held out) and the catalog's "
     "studio photos of training designs, alone and pasted onto the CCP people (CCP alone without a catalog)",
     "models/parse.model, .checkpoint; reports/parse/ (history.csv, loss_curve.png, overlays.png, examples.png, "
     "train.json)",
     Option::kEpochs | Option::kBatch | Option::kLearningRate | Option::kSeed | Option::kSplitSeed |
         Option::kResume | Option::kMaxItems | Option::kThreads | Option::kData | Option::kValidationRun,
     run_parse_family, nullptr},
}};
// clang-format on

}  // namespace

std::string_view flag_of(Option option) {
  const auto it = std::ranges::find(kOptions, option, &OptionFlag::option);
  return it != kOptions.end() ? it->flag : "?";
}

std::span<const OptionFlag> all_options() {
  return kOptions;
}

OptionSet options_set(const TrainOptions& o) {
  const TrainOptions d;
  OptionSet set = 0;
  const auto mark = [&](bool differs, Option option) {
    if (differs) set = set | option;
  };
  mark(o.epochs != d.epochs, Option::kEpochs);
  mark(o.batch_size != d.batch_size, Option::kBatch);
  mark(o.learning_rate != d.learning_rate, Option::kLearningRate);
  mark(o.seed != d.seed, Option::kSeed);
  mark(o.split_seed != d.split_seed, Option::kSplitSeed);
  mark(o.resume != d.resume, Option::kResume);
  mark(o.patience != d.patience, Option::kPatience);
  mark(o.augment != d.augment, Option::kAugment);
  mark(o.contrastive_weight != d.contrastive_weight, Option::kContrastive);
  mark(o.augmentation.texture_chance != d.augmentation.texture_chance, Option::kTextureBackgrounds);
  mark(o.max_items != d.max_items, Option::kMaxItems);
  mark(o.threads != d.threads, Option::kThreads);
  mark(o.data != d.data, Option::kData);
  mark(o.validation_run != d.validation_run, Option::kValidationRun);
  return set;
}

std::span<const Family> families() {
  return kFamilies;
}

std::vector<std::string> family_names() {
  std::vector<std::string> names;
  for (const Family& f : kFamilies) names.emplace_back(f.name);
  return names;
}

const Family& family(std::string_view name) {
  const auto it = std::ranges::find(kFamilies, name, &Family::name);
  if (it == kFamilies.end()) {
    throw Error(fmt::format("unknown model family '{}' (known: {})", name, fmt::join(family_names(), ", ")),
                ErrorKind::kInvalidInput);
  }
  return *it;
}

void check_options(const Family& family, OptionSet given) {
  std::vector<std::string_view> refused, taken;
  for (const auto& [o, flag] : kOptions) {
    if (has(family.options, o))
      taken.push_back(flag);
    else if (has(given, o))
      refused.push_back(flag);
  }
  if (refused.empty()) return;
  throw Error(fmt::format("{} {} not apply to --model {} (it takes {})", fmt::join(refused, ", "),
                          refused.size() == 1 ? "does" : "do", family.name, fmt::join(taken, ", ")),
              ErrorKind::kInvalidInput);
}

TrainSummary train(const Workspace& workspace, const TrainOptions& options, OptionSet given) {
  const Family& f = family(options.model);
  check_options(f, given);
  return f.run(workspace, options, given);
}

TrainReport train_on_catalog(const Workspace& workspace, const TrainOptions& options) {
  const Family& f = family(options.model);
  if (f.image_job == nullptr) {
    throw Error(fmt::format("--model {} is not an image model; train it with train()", f.name),
                ErrorKind::kInvalidInput);
  }
  check_options(f, options_set(options));
  return f.image_job(workspace, options);
}

}  // namespace mystyle::train
