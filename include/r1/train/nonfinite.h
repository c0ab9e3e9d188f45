// Stopping a run that keeps producing NaN/Inf: steps whose updates were all skipped, counted in a row.
#pragma once

#include <filesystem>
#include <string>

namespace r1 {

class NonFiniteStreak {
 public:
  // `lr_key` names the learning rate to lower in the message (optim.lr, sft.lr).
  NonFiniteStreak(std::filesystem::path run_dir, std::string lr_key)
      : run_dir_(std::move(run_dir)), lr_key_(std::move(lr_key)) {}

  // Counts a step whose updates were all skipped; the third in a row throws std::runtime_error
  // naming the run's last good checkpoint and what to try. Any other step resets the count.
  void record(bool all_updates_skipped);

 private:
  static constexpr int kMaxStreak = 3;
  std::filesystem::path run_dir_;
  std::string lr_key_;
  int streak_ = 0;
};

}  // namespace r1
