// Runs model-written code: its own PID, mount and network namespaces, rlimits, an unprivileged uid,
// a fresh working directory, a scrubbed environment, a wall-clock timeout that ends everything it
// started.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "r1/core/config.h"

namespace r1 {

// One execution: the program (an absolute path) and its arguments, and files written into its
// working directory first (plain names). stdin is /dev/null.
struct SandboxRun {
  std::vector<std::string> argv;
  std::vector<std::pair<std::string, std::string>> files;
};

struct SandboxResult {
  std::string output;          // stdout and stderr as they interleaved, cut at max_output_bytes
  int exit_code = -1;          // the program's exit status; -1 when killed by a signal or not started
  int signal = 0;              // the signal that ended it (SIGKILL for a timeout or the output cap)
  bool timed_out = false;      // killed at wall_seconds
  bool output_truncated = false;  // killed once its output passed max_output_bytes
  double seconds = 0;          // wall time from start to the end of everything it started
  std::string error;           // why it did not run, or what ended it: "" when it exited by itself
};

// The sandbox of `sandbox:`. Construction probes the kernel once (runs /bin/true inside) and
// refuses, as an InputError naming the key and the reason, a setting this machine cannot give;
// `guarantees()` says what holds, for the start-up log. run() is thread-safe: each run gets its own
// uid (root) so one run's process limit is not shared with another's.
class Sandbox {
 public:
  explicit Sandbox(const SandboxConfig& config);
  ~Sandbox();
  Sandbox(const Sandbox&) = delete;
  Sandbox& operator=(const Sandbox&) = delete;

  SandboxResult run(const SandboxRun& run) const;
  const std::vector<std::string>& guarantees() const { return guarantees_; }

 private:
  struct Impl;
  SandboxConfig config_;
  std::vector<std::string> guarantees_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace r1
