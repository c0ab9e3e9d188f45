// Text <-> token ids: Hugging Face tokenizer.json (BPE, byte-level or SentencePiece-style) and SentencePiece models.
//
// Tokenizer::load reads DIR/tokenizer.json (preferred) or DIR/tokenizer.model, plus
// tokenizer_config.json, special_tokens_map.json and generation_config.json when present.
// Encoding reproduces the Hugging Face tokenizers library id for id: added tokens are
// matched first (leftmost-longest), the rest is normalized (NFC, Prepend, Replace, ...),
// pre-tokenized (Split regexes through PCRE2, ByteLevel, Metaspace, Digits) and run
// through BPE with a per-word cache. Invalid UTF-8 input is not an error: each invalid
// byte is replaced by U+FFFD before encoding. All const methods are thread-safe.
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace r1 {

class Tokenizer {
 public:
  // The model behind the tokenizer (tokenizer.json BPE or a SentencePiece library model).
  struct Backend;

  // Loads DIR/tokenizer.json (preferred) or DIR/tokenizer.model and the config files beside
  // it. Throws InputError naming the file and what is wrong (missing, malformed, unsupported).
  static std::shared_ptr<Tokenizer> load(const std::filesystem::path& dir);

  explicit Tokenizer(std::unique_ptr<Backend> backend);
  ~Tokenizer();
  Tokenizer(const Tokenizer&) = delete;
  Tokenizer& operator=(const Tokenizer&) = delete;

  // add_special_tokens: prepend the bos token when the tokenizer asks for it (add_bos_token).
  std::vector<int> encode(const std::string& text, bool add_special_tokens = false) const;
  // Invalid UTF-8 produced by the ids (e.g. half a character) comes out as U+FFFD.
  // Throws InputError for an id outside [0, vocab_size()).
  std::string decode(const std::vector<int>& ids, bool skip_special_tokens = false) const;

  int vocab_size() const;  // including added tokens
  std::optional<int> bos_id() const;
  std::vector<int> eos_ids() const;  // every end token (generation_config.json may list several)
  std::optional<int> pad_id() const;
  int padding_id() const;  // what pads batches: the pad token, else the first end token, else 0
  bool add_bos_token() const;
  bool is_special(int id) const;
  std::optional<int> token_to_id(const std::string& token) const;
  std::string kind() const;                          // e.g. "byte-level BPE (tokenizer.json)"
  std::vector<std::filesystem::path> files() const;  // the files loaded, to copy into checkpoints

  // The bytes `ids` decode to, before invalid UTF-8 is replaced; used by StreamDecoder.
  std::string decode_bytes(const std::vector<int>& ids, bool skip_special_tokens = false) const;
  // True for tokens that stand for one raw byte (SentencePiece <0xNN>), which may end mid-character.
  bool is_byte_token(int id) const;

 private:
  std::unique_ptr<Backend> backend_;
  std::optional<int> bos_;
  std::vector<int> eos_;
  std::optional<int> pad_;
  bool add_bos_ = false;
  std::vector<std::filesystem::path> files_;
  friend struct TokenizerLoader;
};

// Incremental decoding: feed ids one at a time; each call returns only complete UTF-8 text,
// so that the concatenation of every push() and the final flush() equals decode(all ids).
class StreamDecoder {
 public:
  explicit StreamDecoder(const Tokenizer& tokenizer, bool skip_special_tokens = false);
  std::string push(int id);
  // Returns what is still held back (an incomplete character comes out as U+FFFD) and resets.
  std::string flush();

 private:
  const Tokenizer& tok_;
  bool skip_special_;
  std::vector<int> window_;  // context token(s) plus the ids not yet fully emitted
  std::size_t emitted_ = 0;  // bytes of decode_bytes(window_) already returned
};

// Writes a minimal Hugging Face compatible byte-level BPE tokenizer into dir: tokenizer.json
// (the 256 byte tokens, then one token per merge, then the special tokens as added tokens,
// GPT-2 ByteLevel pre-tokenizer and decoder) and tokenizer_config.json (bos = first special
// token, eos = second, pad = third when given). Merges are pairs of raw strings, e.g. {"1", "2"}.
void write_byte_level_tokenizer(const std::filesystem::path& dir, const std::vector<std::string>& special_tokens,
                                const std::vector<std::pair<std::string, std::string>>& merges = {});

// Replaces every invalid UTF-8 byte with U+FFFD (the input back unchanged when valid).
std::string make_valid_utf8(const std::string& text);

}  // namespace r1
