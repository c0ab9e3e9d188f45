#include "r1/core/output_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "r1/core/error.h"

namespace r1 {

OutputFile::OutputFile(const std::filesystem::path& path, Mode mode) : name_(path.string()) {
  if (std::filesystem::is_directory(path))
    throw InputError("cannot write " + name_ + ": it is a directory; name a file");
  const int flags = O_WRONLY | O_CREAT | O_CLOEXEC | (mode == Mode::Append ? O_APPEND : O_TRUNC);
  fd_ = ::open(path.c_str(), flags, 0644);
  if (fd_ < 0) throw InputError("cannot write " + name_ + ": " + std::strerror(errno));
}

OutputFile OutputFile::standard_output() {
  OutputFile out(STDOUT_FILENO, "standard output");
  out.owned_ = false;
  return out;
}

OutputFile::OutputFile(OutputFile&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)), owned_(other.owned_), name_(std::move(other.name_)) {}

OutputFile::~OutputFile() {
  if (fd_ >= 0 && owned_) ::close(fd_);
}

void OutputFile::write(std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd_, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw WriteError(name_ + ": write failed: " + std::strerror(n < 0 ? errno : ENOSPC));
    data.remove_prefix(static_cast<std::size_t>(n));
  }
}

void OutputFile::sync() {
  if (::fsync(fd_) != 0 && errno != EINVAL) throw WriteError(name_ + ": flushing to disk failed: " + std::strerror(errno));
}

void OutputFile::close() {
  if (fd_ < 0 || !owned_) return;
  const int rc = ::close(std::exchange(fd_, -1));
  if (rc != 0) throw WriteError(name_ + ": closing failed: " + std::strerror(errno));
}

void write_file(const std::filesystem::path& path, std::string_view content, bool sync) {
  OutputFile out(path);
  out.write(content);
  if (sync) out.sync();
  out.close();
}

}  // namespace r1
