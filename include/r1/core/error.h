// Error types that decide the process exit code: bad input (2) versus failure during work (1).
#pragma once

#include <stdexcept>
#include <string>

namespace r1 {

// Bad usage, config, model files or data found before work starts: exit code 2.
// The message names what is wrong (file, line, key, tensor, value) and the fix.
struct InputError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// The run was stopped by SIGINT/SIGTERM after saving: exit code 130.
struct Interrupted : std::runtime_error {
  using std::runtime_error::runtime_error;
};

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitBadInput = 2;
inline constexpr int kExitInterrupted = 130;

}  // namespace r1
