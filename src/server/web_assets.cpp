#include "mystyle/server/web_assets.h"

#include <cstddef>

namespace mystyle::server {

// Defined in the file generated from web/* by embed_web_assets.cmake.
extern const WebAsset kEmbeddedWebAssets[];
extern const std::size_t kEmbeddedWebAssetCount;

std::span<const WebAsset> web_assets() {
  return {kEmbeddedWebAssets, kEmbeddedWebAssetCount};
}

const WebAsset* find_web_asset(std::string_view name) {
  for (const WebAsset& asset : web_assets()) {
    if (asset.name == name) return &asset;
  }
  return nullptr;
}

}  // namespace mystyle::server
