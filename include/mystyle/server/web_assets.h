#pragma once
/// The web app's files (web/*), embedded in the binary at build time.
#include <span>
#include <string_view>

namespace mystyle::server {

struct WebAsset {
  std::string_view name;          ///< file name under web/, e.g. "app.js"
  std::string_view content_type;  ///< e.g. "text/javascript; charset=utf-8"
  std::string_view bytes;
};

/// Every embedded file, in the order the build listed them.
std::span<const WebAsset> web_assets();

/// The asset named `name` (no folders), or nullptr.
const WebAsset* find_web_asset(std::string_view name);

}  // namespace mystyle::server
