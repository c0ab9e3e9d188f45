#include "r1/tokenizer/sentencepiece.h"

#include <dlfcn.h>

#include <cstdlib>
#include <mutex>

#include <fmt/format.h>

#include "r1/core/error.h"

namespace r1 {

struct SentencePiece::Api {
  void* (*load)(const char*, char**);
  void (*free_processor)(void*);
  void (*free)(void*);
  int (*encode)(void*, const char*, size_t, int**, size_t*, char**);
  int (*decode)(void*, const int*, size_t, char**, char**);
  int (*piece_size)(void*);
  char* (*id_to_piece)(void*, int);
  int (*piece_to_id)(void*, const char*);
  int (*piece_kind)(void*, int);
  int (*special_id)(void*, int);
};

namespace {

std::string take_string(char* s, void (*release)(void*)) {
  std::string out = s ? s : "";
  release(s);
  return out;
}

template <class F>
void bind(void* lib, const char* name, F& fn, const std::filesystem::path& path) {
  fn = reinterpret_cast<F>(dlsym(lib, name));
  if (!fn) throw InputError(path.string() + ": missing symbol " + name + "; rebuild r1train (scripts/setup.sh)");
}

}  // namespace

std::filesystem::path SentencePiece::shim_path() {
  if (const char* env = std::getenv("R1TRAIN_SPM_SHIM"); env && *env) return env;
  std::error_code ec;
  auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  auto dir = ec ? std::filesystem::current_path() : exe.parent_path();
  auto beside = dir / R1_SPM_SHIM_NAME;
  if (std::filesystem::exists(beside)) return beside;
  return dir / ".." / "lib" / "r1train" / R1_SPM_SHIM_NAME;
}

SentencePiece::SentencePiece(const std::filesystem::path& model_file) : file_(model_file) {
  static std::once_flag once;
  static Api api{};
  static std::string load_error;
  std::call_once(once, [] {
    auto path = shim_path();
    void* lib = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND);
    if (!lib) {
      const char* e = dlerror();
      load_error = "cannot load the SentencePiece shim " + path.string() + ": " + (e ? e : "unknown error") +
                   "; build it with scripts/setup.sh or point R1TRAIN_SPM_SHIM at libr1_sentencepiece.so";
      return;
    }
    try {
      bind(lib, "r1spm_load", api.load, path);
      bind(lib, "r1spm_free_processor", api.free_processor, path);
      bind(lib, "r1spm_free", api.free, path);
      bind(lib, "r1spm_encode", api.encode, path);
      bind(lib, "r1spm_decode", api.decode, path);
      bind(lib, "r1spm_piece_size", api.piece_size, path);
      bind(lib, "r1spm_id_to_piece", api.id_to_piece, path);
      bind(lib, "r1spm_piece_to_id", api.piece_to_id, path);
      bind(lib, "r1spm_piece_kind", api.piece_kind, path);
      bind(lib, "r1spm_special_id", api.special_id, path);
    } catch (const InputError& e) {
      load_error = e.what();
      api.load = nullptr;
    }
  });
  if (!api.load) throw InputError(load_error);
  api_ = &api;
  if (!std::filesystem::is_regular_file(model_file)) {
    throw InputError(model_file.string() + ": SentencePiece model file not found");
  }
  char* err = nullptr;
  handle_ = api_->load(model_file.c_str(), &err);
  if (!handle_) {
    throw InputError(model_file.string() + ": not a valid SentencePiece model: " + take_string(err, api_->free));
  }
}

SentencePiece::~SentencePiece() {
  if (handle_) api_->free_processor(handle_);
}

std::vector<int> SentencePiece::encode(const std::string& text) const {
  int* ids = nullptr;
  size_t n = 0;
  char* err = nullptr;
  if (!api_->encode(handle_, text.data(), text.size(), &ids, &n, &err)) {
    throw std::runtime_error(file_.string() + ": encode failed: " + take_string(err, api_->free));
  }
  std::vector<int> out(ids, ids + n);
  api_->free(ids);
  return out;
}

std::string SentencePiece::decode(const std::vector<int>& ids) const {
  int n = vocab_size();
  for (int id : ids) {
    if (id < 0 || id >= n) {
      throw InputError(fmt::format("{}: token id {} is outside the vocabulary [0, {})", file_.string(), id, n));
    }
  }
  char* text = nullptr;
  char* err = nullptr;
  if (!api_->decode(handle_, ids.data(), ids.size(), &text, &err)) {
    throw std::runtime_error(file_.string() + ": decode failed: " + take_string(err, api_->free));
  }
  return take_string(text, api_->free);
}

int SentencePiece::vocab_size() const { return api_->piece_size(handle_); }
std::string SentencePiece::id_to_piece(int id) const {
  if (id < 0 || id >= vocab_size()) {
    throw InputError(fmt::format("{}: token id {} is outside the vocabulary [0, {})", file_.string(), id, vocab_size()));
  }
  return take_string(api_->id_to_piece(handle_, id), api_->free); }
int SentencePiece::piece_to_id(const std::string& piece) const { return api_->piece_to_id(handle_, piece.c_str()); }
bool SentencePiece::is_control(int id) const { return api_->piece_kind(handle_, id) == 2; }
bool SentencePiece::is_byte(int id) const { return api_->piece_kind(handle_, id) == 4; }
int SentencePiece::bos_id() const { return api_->special_id(handle_, 0); }
int SentencePiece::eos_id() const { return api_->special_id(handle_, 1); }
int SentencePiece::unk_id() const { return api_->special_id(handle_, 2); }
int SentencePiece::pad_id() const { return api_->special_id(handle_, 3); }

}  // namespace r1
