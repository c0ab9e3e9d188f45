// Small string helpers shared across the project.
#pragma once

#include <string>
#include <string_view>

namespace r1 {

// `s` without leading and trailing ASCII whitespace (std::isspace).
std::string trim(std::string_view s);

}  // namespace r1
