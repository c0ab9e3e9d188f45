// Atomic checkpoint directories (checkpoints/step-NNNNNN, checkpoints/latest) and their discovery for resume.
#pragma once

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace r1 {

// How a run (train or sft) treats checkpoints already in its run directory.
struct ResumeOptions {
  std::string from = "auto";         // auto: newest complete checkpoint if any | none | a checkpoint DIR
  bool allow_config_change = false;  // resume even when settings that alter the run changed
};

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

// The checkpoint a run continues from, per --resume: auto, the newest complete one in run_dir
// (none if there is none); none, nothing (InputError if run_dir already holds a checkpoint, naming
// `output_dir_key`, the config key of run_dir); DIR, that checkpoint (InputError unless complete).
std::optional<std::filesystem::path> find_resume_checkpoint(const std::filesystem::path& run_dir,
                                                            const ResumeOptions& resume,
                                                            const std::string& output_dir_key);

// Compares the settings that alter a run, as saved in a checkpoint ("section.key: value" lines),
// with the current ones: InputError listing the changed lines, unless allow_config_change (then
// a warning). A current line whose key the checkpoint does not list at all (a key added to
// r1train after the checkpoint was written) passes when it is among `defaults` (the lines of a
// default config): a new key at its default keeps what the older version did.
void check_resume_settings(const std::filesystem::path& checkpoint, const std::vector<std::string>& saved,
                           const std::vector<std::string>& now, bool allow_config_change,
                           const std::vector<std::string>& defaults = {});

}  // namespace r1
