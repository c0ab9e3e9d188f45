// The models behind r1::Tokenizer: Hugging Face tokenizer.json BPE and SentencePiece tokenizer.model.
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "r1/tokenizer/tokenizer.h"

namespace r1 {

struct Tokenizer::Backend {
  virtual ~Backend() = default;
  // `text` is valid UTF-8.
  virtual std::vector<int> encode(const std::string& text) const = 0;
  // Ids are in range; the result may hold invalid UTF-8 (e.g. half a character).
  virtual std::string decode_bytes(const std::vector<int>& ids, bool skip_special) const = 0;
  virtual int vocab_size() const = 0;
  virtual std::optional<int> token_to_id(const std::string& token) const = 0;
  virtual bool is_special(int id) const = 0;
  virtual bool is_byte_token(int id) const = 0;
  virtual std::string kind() const = 0;
  // The special token the tokenizer.json post-processor puts first (TemplateProcessing), if any.
  virtual std::optional<std::string> template_first_token() const { return std::nullopt; }
  // The model's own bos/eos/pad (SentencePiece), used when no config file names them.
  virtual std::optional<int> model_bos() const { return std::nullopt; }
  virtual std::optional<int> model_eos() const { return std::nullopt; }
  virtual std::optional<int> model_pad() const { return std::nullopt; }
};

// Throws InputError naming `file` for malformed or unsupported content.
std::unique_ptr<Tokenizer::Backend> load_tokenizer_json(const std::filesystem::path& file);
std::unique_ptr<Tokenizer::Backend> load_sentencepiece_model(const std::filesystem::path& file);

}  // namespace r1
