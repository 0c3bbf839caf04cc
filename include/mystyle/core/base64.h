#pragma once
#include <string>
#include <string_view>

namespace mystyle {
/// Standard base64 (RFC 4648) with padding, e.g. for data: URLs.
std::string base64_encode(std::string_view bytes);
}  // namespace mystyle
