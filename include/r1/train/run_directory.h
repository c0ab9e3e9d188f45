// The run directory that GRPO and SFT share: resume lookup and settings check, config.yaml, train.log,
// JSONL logs and checkpoints.
#pragma once

#include <nlohmann/json.hpp>

#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "r1/core/config.h"
#include "r1/core/jsonl.h"
#include "r1/core/log.h"
#include "r1/core/output_file.h"
#include "r1/model/decoder.h"
#include "r1/train/checkpoint.h"
#include "r1/train/optimizer.h"

namespace r1 {

class RunDirectory {
 public:
  // The run of `use` (Train: train.output_dir; Sft: sft.output_dir). Takes the directory's lock
  // (DIR/.lock, held for the life of this object and released however the process ends; a second
  // run on the same directory is an InputError naming the holder's pid and host, and touches
  // nothing), then looks up the checkpoint to continue from, per --resume.
  // A run's other ranks (writer false) take no lock and write nothing: they only find the
  // checkpoint to continue from.
  RunDirectory(const Config& config, ConfigUse use, const ResumeOptions& resume, bool writer = true);
  ~RunDirectory();
  RunDirectory(const RunDirectory&) = delete;
  RunDirectory& operator=(const RunDirectory&) = delete;

  const std::filesystem::path& path() const { return dir_; }
  // The checkpoint this run continues from, if any.
  const std::optional<std::filesystem::path>& checkpoint() const { return checkpoint_; }
  // Where the weights and the tokenizer load from: the checkpoint when resuming, else model.path.
  std::filesystem::path model_source() const;

  // The resumed checkpoint's trainer_state.json, once its kind (sft or grpo) and run-defining settings
  // are checked against this run's: InputError naming the file otherwise (changed settings pass with
  // a warning under --allow-config-change).
  nlohmann::json resume_state() const;

  // Creates the directory, writes config.yaml, starts train.log, and opens each of `logs`
  // (e.g. metrics.jsonl) keeping the lines through `resumed_step` (resumed_step < 0: empty).
  void open(int64_t resumed_step, const std::vector<std::string>& logs);
  JsonlLog& log(const std::string& name);

  // Writes checkpoints/step-NNNNNN atomically: the model in Hugging Face layout with the tokenizer
  // files, optimizer.pt, and `state` (plus its kind and the run-defining settings)
  // as trainer_state.json; keeps the newest keep_last. Returns the checkpoint directory.
  // The tokenizer files come from the run's newest checkpoint (model_source() before the first save).
  // A `reference` model (a refreshed KL reference) is written as a model directory in reference/.
  std::filesystem::path save(int64_t step, CausalLM& model, const TransformerConfig& arch, Optimizer& optimizer,
                             nlohmann::json state, CausalLM* reference = nullptr);

  // `e` with the run's last good checkpoint named, for a write that failed during work.
  WriteError with_last_checkpoint(const WriteError& e) const;

  // The settings that define this run, as checkpoints record them.
  std::vector<std::string> defining_lines() const { return run_defining_lines(config_, use_); }

 private:
  const Config& config_;
  ConfigUse use_;
  ResumeOptions resume_;
  std::filesystem::path dir_;
  int lock_fd_ = -1;  // flock'ed DIR/.lock
  std::optional<std::filesystem::path> checkpoint_;
  std::filesystem::path tokenizer_source_;  // the tokenizer files a save copies
  std::unique_ptr<LogFile> log_file_;
  std::map<std::string, std::unique_ptr<JsonlLog>> logs_;
};

}  // namespace r1
