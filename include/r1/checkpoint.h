// Atomic checkpoint directories (checkpoints/step-NNNNNN, checkpoints/latest) and their discovery for resume.
#pragma once

#include <filesystem>
#include <functional>
#include <optional>
#include <string>

namespace r1 {

// "step-000050".
std::string checkpoint_name(int64_t step);

// Writes a checkpoint for `step` under RUN_DIR/checkpoints: `write` fills a
// temporary directory, every file in it is flushed to disk, then it is renamed
// to step-NNNNNN and `latest` is replaced (write + rename) to name it. Keeps the
// newest `keep_last` checkpoints (0 = all). Returns the checkpoint directory.
std::filesystem::path save_checkpoint(const std::filesystem::path& run_dir, int64_t step, int keep_last,
                                      const std::function<void(const std::filesystem::path&)>& write);

// The newest complete checkpoint of a run: the one `latest` names if it is
// complete, else the highest-numbered complete step-* directory.
std::optional<std::filesystem::path> find_latest_checkpoint(const std::filesystem::path& run_dir);

// A checkpoint is complete when its trainer_state.json parses.
bool is_complete_checkpoint(const std::filesystem::path& dir);

}  // namespace r1
