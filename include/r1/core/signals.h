// SIGINT/SIGTERM handling: the first signal asks the run to stop after saving, a second exits at once.
#pragma once

namespace r1 {

// Installs the handlers (idempotent). The second signal calls _exit(130),
// leaving the previous checkpoint untouched.
void install_stop_handlers();

// True once SIGINT or SIGTERM has arrived.
bool stop_requested();

// Forgets signals received so far (a run that starts in a process where an earlier one was stopped).
void reset_stop_requests();

// Resets the stop requests when a run ends, however it ends.
struct StopRequestScope {
  StopRequestScope() = default;
  ~StopRequestScope() { reset_stop_requests(); }
  StopRequestScope(const StopRequestScope&) = delete;
  StopRequestScope& operator=(const StopRequestScope&) = delete;
};

}  // namespace r1
