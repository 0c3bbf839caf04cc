// Fuzzes the compatibility model's loading (engine::CompatModel::load): its JSON description
// (models/compat.json) beside a valid model file, or, when the input holds kFileSeparator, a
// fuzzed model file (length and checksum repaired) and then the description.
#include <cstddef>
#include <cstdint>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "fuzz_support.h"
#include "mystyle/engine/compat_model.h"
#include "mystyle/nn/model_spec.h"

using namespace mystyle;

namespace {

constexpr int kStyleDim = 4;
constexpr std::size_t kModelHeaderBytes = 32;

std::filesystem::path valid_model() { return fuzz::scratch_dir() / "valid" / "compat.model"; }

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  // A small compat network of the shape train_compat makes (features + two slot one-hots in).
  constexpr int colour_dim = image::kColourDim + image::kHsvDim;
  const nn::ModelSpec spec = nn::parse_model_spec(fmt::format("model compat\ninput {} 1\nlinear 8 relu\nlinear 4\nlatent\nl2norm\n",
                                                              kStyleDim + colour_dim + 2 * engine::kCompatSlots));
  engine::CompatModel model(nn::Model(spec, /*init_seed=*/1), kStyleDim, colour_dim);
  std::filesystem::create_directories(valid_model().parent_path());
  model.save(valid_model(), fuzz::scratch_dir() / "valid" / "compat.json", nlohmann::json::object());
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto parts = fuzz::split_parts(fuzz::as_text(data, size), fuzz::kFileSeparator);
  std::filesystem::path model_path = valid_model();
  const auto json_path = fuzz::scratch_dir() / "compat.json";
  if (parts.size() > 1) {
    std::string model(parts[0]);
    if (model.size() >= kModelHeaderBytes) {
      const std::string_view payload = std::string_view(model).substr(kModelHeaderBytes);
      fuzz::store_le<std::uint64_t>(model, 16, payload.size());
      fuzz::store_le<std::uint64_t>(model, 24, fnv1a64(payload));
    }
    model_path = fuzz::scratch_dir() / "compat.model";
    fuzz::write_file(model_path, model);
  }
  fuzz::write_file(json_path, parts.back());
  fuzz::expect_only_mystyle_errors([&] {
    engine::CompatModel model = engine::CompatModel::load(model_path, json_path);
    fuzz::check(model.style_dim() >= 0 && model.colour_dim() >= 0, "loaded negative feature sizes");
    // One item's embeddings from every slot: the loaded sizes must fit the network.
    const std::vector<float> x(static_cast<std::size_t>(model.style_dim() + model.colour_dim()), 0.5f);
    const std::vector<catalog::Slot> own = {catalog::Slot::kBottom};
    std::vector<float> out;
    model.embed_all(x, own, out);
    fuzz::check(out.size() == static_cast<std::size_t>(engine::kCompatSlots * model.dim()), "wrong embedding size");
  });
  return 0;
}
