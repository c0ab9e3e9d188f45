// SentencePiece models (tokenizer.model) through the sentencepiece library, isolated in its own shared object.
//
// Debian's libsentencepiece bundles protobuf 3.14; Debian's libtorch links
// protobuf 3.21. Linking both into one binary mixes the two in one symbol scope
// and the process crashes before main(). r1train therefore never links
// sentencepiece: libr1_sentencepiece.so (src/spm/) wraps it behind a small C
// interface and is opened with dlopen(RTLD_LOCAL | RTLD_DEEPBIND), so its
// protobuf binds to its own copy and libtorch's stays untouched.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace r1 {

class SentencePiece {
 public:
  // Loads a tokenizer.model; throws InputError naming the file on failure.
  explicit SentencePiece(const std::filesystem::path& model_file);
  ~SentencePiece();
  SentencePiece(const SentencePiece&) = delete;
  SentencePiece& operator=(const SentencePiece&) = delete;

  std::vector<int> encode(const std::string& text) const;
  std::string decode(const std::vector<int>& ids) const;
  int vocab_size() const;
  std::string id_to_piece(int id) const;
  int piece_to_id(const std::string& piece) const;
  bool is_control(int id) const;
  bool is_byte(int id) const;
  int bos_id() const;  // -1 when absent
  int eos_id() const;
  int unk_id() const;
  int pad_id() const;

  // Where the shim is looked for: $R1TRAIN_SPM_SHIM, then next to the running
  // executable, then ../lib/r1train/ relative to it.
  static std::filesystem::path shim_path();

 private:
  struct Api;
  const Api* api_;
  void* handle_ = nullptr;
  std::filesystem::path file_;
};

}  // namespace r1
