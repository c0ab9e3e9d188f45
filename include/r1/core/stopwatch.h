// Wall-clock seconds for timings and progress lines.
#pragma once

#include <chrono>

namespace r1 {

// Seconds elapsed since `t` (steady clock).
inline double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

}  // namespace r1
