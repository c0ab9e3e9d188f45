#include "r1/train/nonfinite.h"

#include <fmt/format.h>

#include <stdexcept>

#include "r1/train/checkpoint.h"

namespace r1 {

void NonFiniteStreak::record(bool all_updates_skipped) {
  streak_ = all_updates_skipped ? streak_ + 1 : 0;
  if (streak_ < kMaxStreak) return;
  auto last = find_latest_checkpoint(run_dir_);
  throw std::runtime_error(fmt::format(
      "stopping: {} steps in a row had a NaN/Inf loss or gradient (try a lower {} or optim.max_grad_norm); the "
      "last good checkpoint is {}",
      streak_, lr_key_, last ? last->string() : std::string("none (no checkpoint was saved yet)")));
}

}  // namespace r1
