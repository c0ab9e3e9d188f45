#include "r1/core/process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <thread>

#include "r1/core/error.h"

extern char** environ;

namespace r1 {

std::vector<std::string> split_command(const std::string& line, const std::string& what) {
  std::vector<std::string> words;
  std::string word;
  bool in_word = false;
  char quote = 0;
  for (std::size_t i = 0; i < line.size(); ++i) {
    char c = line[i];
    if (quote) {
      if (c == quote) quote = 0;
      else if (c == '\\' && quote == '"' && i + 1 < line.size()) word += line[++i];
      else word += c;
    } else if (c == '\'' || c == '"') {
      quote = c;
      in_word = true;
    } else if (c == '\\' && i + 1 < line.size()) {
      word += line[++i];
      in_word = true;
    } else if (std::isspace(static_cast<unsigned char>(c))) {
      if (in_word) words.push_back(word);
      word.clear();
      in_word = false;
    } else {
      word += c;
      in_word = true;
    }
  }
  if (quote) throw InputError(what + ": unbalanced quote in command '" + line + "'");
  if (in_word) words.push_back(word);
  return words;
}

namespace {

bool executable_file(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(path.c_str(), X_OK) == 0;
}

}  // namespace

std::string resolve_program(const std::string& program, const std::string& command, const std::string& what) {
  if (program.find('/') != std::string::npos) {
    if (!std::filesystem::exists(program))
      throw InputError(what + ": program '" + program + "' (from command '" + command + "') does not exist");
    if (!executable_file(program))
      throw InputError(what + ": program '" + program + "' is not an executable file; chmod +x it or " +
                       "run it through an interpreter, e.g. command: python3 " + program);
    return program;
  }
  const char* path = std::getenv("PATH");
  std::string dirs = path ? path : "/usr/bin:/bin";
  std::size_t start = 0;
  while (start <= dirs.size()) {
    std::size_t end = dirs.find(':', start);
    if (end == std::string::npos) end = dirs.size();
    std::string dir = dirs.substr(start, end - start);
    std::string candidate = (dir.empty() ? std::string(".") : dir) + "/" + program;
    if (executable_file(candidate)) return candidate;
    start = end + 1;
  }
  throw InputError(what + ": program '" + program + "' (from command '" + command +
                   "') is not found on PATH; give its full path");
}

LineProcess::LineProcess(std::vector<std::string> argv, std::string what) : argv_(std::move(argv)), what_(std::move(what)) {}

LineProcess::~LineProcess() { stop(); }

void LineProcess::ensure_started() {
  if (pid_ > 0) return;
  int sock[2];  // our end sends with MSG_NOSIGNAL: a dead program is an error, never a SIGPIPE
  int out[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sock) != 0) 
    throw std::runtime_error(what_ + ": cannot create pipes: " + std::strerror(errno));
  if (::pipe2(out, O_CLOEXEC) != 0) {
    ::close(sock[0]);
    ::close(sock[1]);
    throw std::runtime_error(what_ + ": cannot create pipes: " + std::strerror(errno));
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, sock[1], 0);
  posix_spawn_file_actions_adddup2(&actions, out[1], 1);
  std::vector<char*> args;
  for (auto& a : argv_) args.push_back(a.data());
  args.push_back(nullptr);
  pid_t pid = -1;
  int rc = posix_spawn(&pid, argv_[0].c_str(), &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(sock[1]);
  ::close(out[1]);
  if (rc != 0) {
    ::close(sock[0]);
    ::close(out[0]);
    throw std::runtime_error(what_ + ": cannot start '" + argv_[0] + "': " + std::strerror(rc));
  }
  pid_ = pid;
  in_fd_ = sock[0];
  out_fd_ = out[0];
}

ExchangeEnd LineProcess::exchange(const std::string& input, std::size_t want, std::chrono::milliseconds per_line,
                                  const std::function<void(std::string)>& on_line) {
  using Clock = std::chrono::steady_clock;
  ensure_started();
  pending_.clear();
  std::size_t written = 0, received = 0;
  auto deadline = Clock::now() + per_line;
  while (received < want) {
    pollfd fds[2] = {{out_fd_, POLLIN, 0}, {in_fd_, static_cast<short>(written < input.size() ? POLLOUT : 0), 0}};
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    int ready = left > 0 ? ::poll(fds, written < input.size() ? 2 : 1, static_cast<int>(left)) : 0;
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) return ExchangeEnd::Timeout;
    if (written < input.size() && (fds[1].revents & (POLLOUT | POLLERR | POLLHUP))) {
      ssize_t n = ::send(in_fd_, input.data() + written, input.size() - written, MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n > 0) written += static_cast<std::size_t>(n);
      else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) return ExchangeEnd::StoppedReading;
    }
    if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
      char chunk[65536];
      ssize_t n = ::read(out_fd_, chunk, sizeof chunk);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return ExchangeEnd::Exited;
      pending_.append(chunk, static_cast<std::size_t>(n));
      std::size_t nl;
      while (received < want && (nl = pending_.find('\n')) != std::string::npos) {
        std::string line = pending_.substr(0, nl);
        pending_.erase(0, nl + 1);
        on_line(std::move(line));
        ++received;
        deadline = Clock::now() + per_line;
      }
    }
  }
  return ExchangeEnd::Answered;
}

std::string LineProcess::exit_reason() {
  if (pid_ <= 0) return "not running";
  int status = 0;
  pid_t r = 0;
  for (int i = 0; i < 50 && r != pid_; ++i) {  // the program closed its output: give it 0.5 s to end
    r = ::waitpid(pid_, &status, WNOHANG);
    if (r != pid_) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  if (r < 0) {  // already reaped (SIGCHLD ignored by the parent): the exit status is gone
    pid_ = -1;
    return "exit status unknown";
  }
  if (r != pid_) return "still running";
  pid_ = -1;
  if (WIFEXITED(status)) return "exit status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return std::string("killed by signal ") + strsignal(WTERMSIG(status));
  return "ended";
}

void LineProcess::stop() {
  if (in_fd_ >= 0) ::close(in_fd_);
  if (out_fd_ >= 0) ::close(out_fd_);
  in_fd_ = out_fd_ = -1;
  if (pid_ <= 0) return;
  int status = 0;
  for (int i = 0; i < 20; ++i) {  // up to 0.2 s to exit on end of input
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ::kill(pid_, SIGKILL);
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
}

}  // namespace r1
