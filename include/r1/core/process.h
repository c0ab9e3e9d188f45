// A program started once and spoken to in lines (the command reward, command tools): one JSON
// line in per item, one line out per item, in order.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <functional>
#include <string>
#include <vector>

namespace r1 {

// Splits a command line into words: whitespace separates, '...' and "..." quote, backslash
// escapes. InputError naming `what` on an unbalanced quote.
std::vector<std::string> split_command(const std::string& line, const std::string& what);

// The program's path: as given when it holds a '/', else found on PATH; InputError naming `what`
// and the command when it is missing or not executable.
std::string resolve_program(const std::string& program, const std::string& command, const std::string& what);

// How an exchange ended.
enum class ExchangeEnd { Answered, Timeout, StoppedReading, Exited };

class LineProcess {
 public:
  // argv[0]: the program (resolve_program's result); `what` names it in errors ("command reward").
  LineProcess(std::vector<std::string> argv, std::string what);
  ~LineProcess();
  LineProcess(const LineProcess&) = delete;
  LineProcess& operator=(const LineProcess&) = delete;

  // Starts the program unless it runs: stdin a socket (writing to a dead program is an error,
  // never SIGPIPE), stdout a pipe, stderr the trainer's. runtime_error when it cannot start.
  void ensure_started();
  // Writes `input` and reads lines until `want` arrived, each within `per_line` of the last (or
  // of the start); `on_line` gets each line without its newline. How it ended: Answered, or the
  // first thing that stopped it.
  ExchangeEnd exchange(const std::string& input, std::size_t want, std::chrono::milliseconds per_line,
                       const std::function<void(std::string)>& on_line);
  // "exit status 3", "killed by signal 9 (Killed)", "still running", ...: after an early end.
  std::string exit_reason();
  // Closes its input and waits up to 0.2 s for it to end, then kills it.
  void stop();

 private:
  std::vector<std::string> argv_;
  std::string what_;
  pid_t pid_ = -1;
  int in_fd_ = -1;   // the program's stdin
  int out_fd_ = -1;  // the program's stdout
  std::string pending_;  // bytes read past the last full line
};

}  // namespace r1
