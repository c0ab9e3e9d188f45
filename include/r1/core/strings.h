// Small string helpers shared across the project.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace r1 {

// `s` without leading and trailing ASCII whitespace (std::isspace).
std::string trim(std::string_view s);

// "512 B", "3.2 MiB", "1.5 GiB": binary units, one decimal.
std::string human_bytes(uint64_t bytes);

// "01:02:03": hours, minutes, seconds of a duration (negative counts as 0).
std::string human_duration(double seconds);

// Text for a markdown table cell: its pipes escaped (\|).
std::string markdown_cell(std::string_view text);

}  // namespace r1
