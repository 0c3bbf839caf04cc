#pragma once
/// The table of model families: the one place a family is added (docs: README "Adding a model
/// family"). A row names the family (`--model NAME`; models/NAME.*, reports/NAME/), says what it
/// learns from and what it writes, which `mystyle train` options it takes (any other is refused
/// here, with the list of those it takes), and the job that trains it.
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "mystyle/train/options.h"

namespace mystyle::train {

/// The options of `mystyle train`, one bit each.
enum class Option : std::uint32_t {
  kEpochs = 1u << 0,
  kBatch = 1u << 1,
  kLearningRate = 1u << 2,
  kSeed = 1u << 3,
  kSplitSeed = 1u << 4,
  kResume = 1u << 5,
  kPatience = 1u << 6,
  kAugment = 1u << 7,
  kContrastive = 1u << 8,
  kTextureBackgrounds = 1u << 9,
  kMaxItems = 1u << 10,
  kThreads = 1u << 11,
  kData = 1u << 12,
  kValidationRun = 1u << 13,
};
using OptionSet = std::uint32_t;
constexpr OptionSet operator|(Option a, Option b) {
  return static_cast<OptionSet>(a) | static_cast<OptionSet>(b);
}
constexpr OptionSet operator|(OptionSet a, Option b) {
  return a | static_cast<OptionSet>(b);
}
constexpr bool has(OptionSet set, Option o) {
  return (set & static_cast<OptionSet>(o)) != 0;
}

struct OptionFlag {
  Option option;
  std::string_view flag;  ///< "--epochs"
};
/// An option's command-line flag ("--epochs").
std::string_view flag_of(Option option);
/// Every option, in --help order.
std::span<const OptionFlag> all_options();
/// The options whose value in `options` differs from TrainOptions{} (for callers without a command
/// line: what they asked for).
OptionSet options_set(const TrainOptions& options);

struct Family {
  std::string_view name;         ///< `--model NAME`
  std::string_view learns_from;  ///< what it is trained on
  std::string_view writes;       ///< the files a run leaves in the workspace
  OptionSet options;             ///< the options it takes
  /// Trains it: options already checked against `options`; `given` are those the caller set.
  TrainSummary (*run)(const Workspace& workspace, const TrainOptions& options, OptionSet given);
  /// The image families' job with its report (tests and tools); nullptr for the others.
  TrainReport (*image_job)(const Workspace& workspace, const TrainOptions& options);
};

/// The table, in --help order.
std::span<const Family> families();
/// The family named `name`; throws mystyle::Error (kInvalidInput) naming the known ones.
const Family& family(std::string_view name);
std::vector<std::string> family_names();

/// Throws mystyle::Error (kInvalidInput) naming every option of `given` that `family` does not take,
/// and those it does.
void check_options(const Family& family, OptionSet given);

/// `mystyle train`: the family of `options.model`, its options checked, trained.
TrainSummary train(const Workspace& workspace, const TrainOptions& options, OptionSet given);

/// An image family (seed64, seed128, style) trained with its report: options_set(options) checked
/// against the family's row. Throws mystyle::Error for a family that is not trained on photos.
TrainReport train_on_catalog(const Workspace& workspace, const TrainOptions& options);

}  // namespace mystyle::train
