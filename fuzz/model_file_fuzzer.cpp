// Fuzzes model and checkpoint files (nn::load_model_file). The header's payload length and
// FNV-1a checksum are repaired before loading, so mutations reach the spec parser, the model
// construction and the tensor reader instead of dying at the checksum. A file that loads must
// save and load back to the same spec, weights and extra blob.
#include <cstddef>
#include <cstdint>

#include "fuzz_support.h"
#include "mystyle/nn/model_file.h"
#include "mystyle/nn/model_spec.h"

using namespace mystyle;

namespace {
// "MYSTYLNN", u32 version, u32 kind, u64 payload_bytes, u64 fnv1a64(payload).
constexpr std::size_t kHeaderBytes = 32;
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string bytes(fuzz::as_text(data, size));
  if (bytes.size() >= kHeaderBytes) {
    const std::string_view payload = std::string_view(bytes).substr(kHeaderBytes);
    fuzz::store_le<std::uint64_t>(bytes, 16, payload.size());
    fuzz::store_le<std::uint64_t>(bytes, 24, fnv1a64(payload));
  }
  const auto path = fuzz::scratch_dir() / "input.model";
  fuzz::write_file(path, bytes);
  fuzz::expect_only_mystyle_errors([&] {
    nn::LoadedModel loaded = nn::load_model_file(path);
    const auto again_path = fuzz::scratch_dir() / "again.model";
    nn::save_model(again_path, loaded.model, loaded.kind, loaded.extra);
    nn::LoadedModel again = nn::load_model_file(again_path);
    fuzz::check(again.model.spec() == loaded.model.spec(), "spec changed on save and load");
    fuzz::check(again.kind == loaded.kind && again.extra == loaded.extra, "kind or extra changed on save and load");
    const auto a = loaded.model.params(), b = again.model.params();
    fuzz::check(a.size() == b.size(), "tensor count changed on save and load");
    for (std::size_t i = 0; i < a.size(); ++i) {
      fuzz::check(a[i]->dims == b[i]->dims, "tensor shape changed on save and load");
      fuzz::check(std::memcmp(a[i]->value.data(), b[i]->value.data(), a[i]->value.size() * sizeof(float)) == 0,
                  "tensor values changed on save and load");
    }
  });
  return 0;
}
