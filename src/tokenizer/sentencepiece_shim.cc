// C interface over the SentencePiece library, built as an isolated shared object
// (see include/r1/sentencepiece.h for why). Only these functions are exported.
#include <sentencepiece_processor.h>

#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#define R1SPM_EXPORT extern "C" __attribute__((visibility("default")))

namespace {
char* copy_string(const std::string& s) {
  char* out = static_cast<char*>(std::malloc(s.size() + 1));
  if (out) std::memcpy(out, s.c_str(), s.size() + 1);
  return out;
}
}  // namespace

R1SPM_EXPORT void* r1spm_load(const char* path, char** error) {
  auto* sp = new sentencepiece::SentencePieceProcessor();
  auto status = sp->Load(path);
  if (!status.ok()) {
    *error = copy_string(status.ToString());
    delete sp;
    return nullptr;
  }
  return sp;
}

R1SPM_EXPORT void r1spm_free_processor(void* h) { delete static_cast<sentencepiece::SentencePieceProcessor*>(h); }

R1SPM_EXPORT void r1spm_free(void* p) { std::free(p); }

R1SPM_EXPORT int r1spm_encode(void* h, const char* text, size_t len, int** ids, size_t* n, char** error) {
  std::vector<int> out;
  auto status = static_cast<sentencepiece::SentencePieceProcessor*>(h)->Encode(std::string_view(text, len), &out);
  if (!status.ok()) {
    *error = copy_string(status.ToString());
    return 0;
  }
  *n = out.size();
  *ids = static_cast<int*>(std::malloc(sizeof(int) * (out.empty() ? 1 : out.size())));
  std::copy(out.begin(), out.end(), *ids);
  return 1;
}

R1SPM_EXPORT int r1spm_decode(void* h, const int* ids, size_t n, char** text, char** error) {
  std::string out;
  auto status = static_cast<sentencepiece::SentencePieceProcessor*>(h)->Decode(std::vector<int>(ids, ids + n), &out);
  if (!status.ok()) {
    *error = copy_string(status.ToString());
    return 0;
  }
  *text = copy_string(out);
  return 1;
}

R1SPM_EXPORT int r1spm_piece_size(void* h) { return static_cast<sentencepiece::SentencePieceProcessor*>(h)->GetPieceSize(); }

R1SPM_EXPORT char* r1spm_id_to_piece(void* h, int id) {
  return copy_string(static_cast<sentencepiece::SentencePieceProcessor*>(h)->IdToPiece(id));
}

R1SPM_EXPORT int r1spm_piece_to_id(void* h, const char* piece) {
  return static_cast<sentencepiece::SentencePieceProcessor*>(h)->PieceToId(piece);
}

// kind: 0 normal, 1 unknown, 2 control, 3 unused, 4 byte.
R1SPM_EXPORT int r1spm_piece_kind(void* h, int id) {
  auto* sp = static_cast<sentencepiece::SentencePieceProcessor*>(h);
  if (sp->IsUnknown(id)) return 1;
  if (sp->IsControl(id)) return 2;
  if (sp->IsUnused(id)) return 3;
  if (sp->IsByte(id)) return 4;
  return 0;
}

// which: 0 bos, 1 eos, 2 unk, 3 pad (-1 when the model has none).
R1SPM_EXPORT int r1spm_special_id(void* h, int which) {
  auto* sp = static_cast<sentencepiece::SentencePieceProcessor*>(h);
  switch (which) {
    case 0: return sp->bos_id();
    case 1: return sp->eos_id();
    case 2: return sp->unk_id();
    default: return sp->pad_id();
  }
}
