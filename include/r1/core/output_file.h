// Every file r1train writes goes through here: each write is checked, and a failure names the file.
#pragma once

#include <filesystem>
#include <stdexcept>
#include <string>
#include <string_view>

namespace r1 {

// A write that failed during work (disk full, file-size limit, closed pipe): exit code 1.
struct WriteError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

class OutputFile {
 public:
  enum class Mode { Truncate, Append };

  // Opens (creating) `path`; InputError "cannot write FILE: REASON" when it cannot be opened, so a
  // bad output path is reported before any work.
  explicit OutputFile(const std::filesystem::path& path, Mode mode = Mode::Truncate);
  // The process's standard output.
  static OutputFile standard_output();
  ~OutputFile();
  OutputFile(OutputFile&& other) noexcept;
  OutputFile& operator=(OutputFile&&) = delete;
  OutputFile(const OutputFile&) = delete;

  // Writes all of `data`; WriteError "FILE: write failed: REASON" otherwise.
  void write(std::string_view data);
  // Flushes the file to disk (fsync); for files that must survive a crash.
  void sync();
  // Closes, reporting a failed close as WriteError.
  void close();

  const std::string& name() const { return name_; }

 private:
  OutputFile(int fd, std::string name) : fd_(fd), name_(std::move(name)) {}
  int fd_ = -1;
  bool owned_ = true;
  std::string name_;
};

// Writes `content` as the whole of `path` (checked; fsynced when `sync`).
void write_file(const std::filesystem::path& path, std::string_view content, bool sync = false);

}  // namespace r1
