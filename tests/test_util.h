// Helpers shared by the tests: running the r1train binary, temporary directories.
#pragma once

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

namespace r1::test {

struct CommandResult {
  int exit_code = -1;  // -1: killed by a signal (a crash)
  std::string output;  // stdout and stderr together
};

// Runs a shell command line, capturing stdout and stderr together.
inline CommandResult run_command(const std::string& cmd) {
  CommandResult r;
  FILE* pipe = popen((cmd + " 2>&1").c_str(), "r");
  if (!pipe) return r;
  std::array<char, 4096> buf{};
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), pipe)) > 0) r.output.append(buf.data(), n);
  int status = pclose(pipe);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

// Runs build/r1train with the given arguments (already shell-quoted as needed).
inline CommandResult run_r1train(const std::string& args) {
  return run_command(std::string("'") + R1_BINARY + "' " + args);
}

// A fresh directory under the system temp dir, removed when the object dies.
struct TempDir {
  std::filesystem::path path;
  TempDir() {
    std::random_device rd;
    path = std::filesystem::temp_directory_path() / ("r1test-" + std::to_string(rd()) + std::to_string(rd()));
    std::filesystem::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  std::filesystem::path write(const std::string& name, const std::string& content) const {
    auto p = path / name;
    std::filesystem::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary) << content;
    return p;
  }
};

inline std::filesystem::path source_dir() { return R1_SOURCE_DIR; }

// The benchmarks shipped in the repository (data/benchmarks/README.md).
inline std::filesystem::path benchmarks_dir() { return source_dir() / "data" / "benchmarks"; }

// One JSON value per non-empty line (metrics.jsonl, eval.jsonl, samples.jsonl).
// A whole file as bytes ("" when it cannot be read).
inline std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

inline std::vector<nlohmann::json> read_jsonl(const std::filesystem::path& path) {
  std::vector<nlohmann::json> rows;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) rows.push_back(nlohmann::json::parse(line));
  return rows;
}

inline double mean_of(const std::vector<nlohmann::json>& rows, std::size_t from, std::size_t to,
                      const std::string& key) {
  double sum = 0;
  for (std::size_t i = from; i < to; ++i) sum += rows[i][key].get<double>();
  return sum / static_cast<double>(to - from);
}

// The demo's targets after 40 steps of configs/demo.yaml in `run` (eval.every=40): held-out
// greedy pass@1 >= 0.6 and format >= 0.9 (from the base's 0.005 and 0), completions 20 tokens
// longer, and in the rollouts format +0.3, reward +0.5, accuracy +0.1, length +10 from the first
// three steps to the last three.
inline void expect_demo_targets(const std::filesystem::path& run) {
  auto evals = read_jsonl(run / "eval.jsonl");
  ASSERT_EQ(evals.size(), 2u);  // the starting model (step 0), then step 40
  const auto& before = evals[0];
  const auto& after = evals[1];
  EXPECT_EQ(after["step"], 40);
  EXPECT_GE(after["pass@1"].get<double>(), 0.6) << "held-out accuracy " << before["pass@1"] << " -> " << after["pass@1"];
  EXPECT_GE(after["format_rate"].get<double>(), 0.9);
  EXPECT_GT(after["mean_length"].get<double>() - before["mean_length"].get<double>(), 20.0);
  auto rows = read_jsonl(run / "metrics.jsonl");
  ASSERT_EQ(rows.size(), 40u);
  const double format_before = mean_of(rows, 0, 3, "rewards/format/mean");
  const double format_after = mean_of(rows, 37, 40, "rewards/format/mean");
  EXPECT_LT(format_before, 0.3);
  EXPECT_GT(format_after - format_before, 0.3) << format_before << " -> " << format_after;
  EXPECT_GT(mean_of(rows, 37, 40, "reward") - mean_of(rows, 0, 3, "reward"), 0.5);
  EXPECT_GT(mean_of(rows, 37, 40, "rewards/math/mean") - mean_of(rows, 0, 3, "rewards/math/mean"), 0.1);
  EXPECT_GT(mean_of(rows, 37, 40, "completions/mean_length") - mean_of(rows, 0, 3, "completions/mean_length"), 10.0);
}

}  // namespace r1::test
