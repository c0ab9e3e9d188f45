// A test process that crashes (SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT) prints the signal and its
// stack to stderr before it dies, so that a crash seen once in a CI or dry-run log can be traced
// (ctest keeps a failing test's output). Installed before main() by a static initializer.
#include <execinfo.h>
#include <signal.h>
#include <unistd.h>

#include <cstring>
#include <initializer_list>

namespace {

void print_stack_and_die(int sig) {
  const char* name = strsignal(sig);
  const char head[] = "\n*** r1_tests: fatal signal: ";
  (void)!write(STDERR_FILENO, head, sizeof head - 1);
  (void)!write(STDERR_FILENO, name, std::strlen(name));
  (void)!write(STDERR_FILENO, "; stack:\n", 9);
  void* frames[64];
  const int n = backtrace(frames, 64);
  backtrace_symbols_fd(frames, n, STDERR_FILENO);
  signal(sig, SIG_DFL);  // the default action: the process ends as before (ctest still sees the signal)
  raise(sig);
}

const bool installed = [] {
  for (int sig : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT}) signal(sig, print_stack_and_die);
  return true;
}();

}  // namespace
