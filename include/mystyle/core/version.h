#pragma once
#include <string_view>

namespace mystyle {
/// The project version and the git commit it was built from ("unknown" outside a checkout).
std::string_view version();
std::string_view git_commit();
}  // namespace mystyle
