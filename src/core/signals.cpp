#include "r1/core/signals.h"

#include <unistd.h>

#include <atomic>
#include <csignal>

namespace r1 {

namespace {

std::atomic<int> g_signals{0};

void on_signal(int) {
  if (g_signals.fetch_add(1) >= 1) {
    constexpr char msg[] = "\nsecond signal: exiting now; the previous checkpoint is intact\n";
    [[maybe_unused]] auto n = ::write(STDERR_FILENO, msg, sizeof(msg) - 1);
    ::_exit(130);
  }
  constexpr char msg[] = "\nstop requested: finishing the current step and saving a checkpoint "
                         "(send the signal again to exit at once)\n";
  [[maybe_unused]] auto n = ::write(STDERR_FILENO, msg, sizeof(msg) - 1);
}

}  // namespace

void install_stop_handlers() {
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

bool stop_requested() { return g_signals.load() > 0; }

void reset_stop_requests() { g_signals.store(0); }

}  // namespace r1
