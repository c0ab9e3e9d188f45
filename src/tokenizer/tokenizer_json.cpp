// Hugging Face tokenizer.json: added tokens, normalizers, pre-tokenizers, BPE model and decoders.
// Over 600 lines on purpose: the pipeline's stages are private to this one backend and follow each
// other in the order the format defines; split, each would need the shared JSON and UTF-8 helpers
// in a header that nothing else uses.
#include <unicode/unorm2.h>
#include <unicode/ustring.h>

#include <array>
#include <cstring>
#include <fstream>
#include <mutex>
#include <queue>
#include <string_view>
#include <unordered_map>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "r1/core/error.h"
#include "r1/core/regex.h"
#include "backend.h"

namespace r1 {

namespace {

using json = nlohmann::json;

// ---- UTF-8 and the GPT-2 byte alphabet ----

std::string utf8_encode(char32_t c) {
  std::string s;
  if (c < 0x80) {
    s += static_cast<char>(c);
  } else if (c < 0x800) {
    s += static_cast<char>(0xC0 | (c >> 6));
    s += static_cast<char>(0x80 | (c & 0x3F));
  } else if (c < 0x10000) {
    s += static_cast<char>(0xE0 | (c >> 12));
    s += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    s += static_cast<char>(0x80 | (c & 0x3F));
  } else {
    s += static_cast<char>(0xF0 | (c >> 18));
    s += static_cast<char>(0x80 | ((c >> 12) & 0x3F));
    s += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    s += static_cast<char>(0x80 | (c & 0x3F));
  }
  return s;
}

// Length of the UTF-8 sequence that starts with byte c (input is valid UTF-8).
std::size_t utf8_len(unsigned char c) { return c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4; }

// Decodes the code point at s[i] (valid UTF-8).
char32_t utf8_at(std::string_view s, std::size_t i) {
  auto c = static_cast<unsigned char>(s[i]);
  std::size_t n = utf8_len(c);
  char32_t cp = n == 1 ? c : n == 2 ? (c & 0x1F) : n == 3 ? (c & 0x0F) : (c & 0x07);
  for (std::size_t k = 1; k < n && i + k < s.size(); ++k) cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
  return cp;
}

// GPT-2's bytes_to_unicode: printable bytes map to themselves, the others to U+0100 onwards.
struct ByteAlphabet {
  std::array<std::string, 256> to_char;
  std::unordered_map<char32_t, unsigned char> to_byte;
  ByteAlphabet() {
    int extra = 0;
    for (int b = 0; b < 256; ++b) {
      bool printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174);
      char32_t cp = printable ? static_cast<char32_t>(b) : static_cast<char32_t>(256 + extra++);
      to_char[b] = utf8_encode(cp);
      to_byte[cp] = static_cast<unsigned char>(b);
    }
  }
  // The raw bytes a byte-level token string stands for; nullopt when a char is outside the alphabet.
  std::optional<std::string> decode(std::string_view token) const {
    std::string out;
    out.reserve(token.size());
    for (std::size_t i = 0; i < token.size(); i += utf8_len(static_cast<unsigned char>(token[i]))) {
      auto it = to_byte.find(utf8_at(token, i));
      if (it == to_byte.end()) return std::nullopt;
      out += static_cast<char>(it->second);
    }
    return out;
  }
};

const ByteAlphabet& byte_alphabet() {
  static const ByteAlphabet a;
  return a;
}

bool is_ascii(std::string_view s) {
  for (char c : s)
    if (static_cast<unsigned char>(c) >= 0x80) return false;
  return true;
}

std::string regex_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (std::strchr("\\^$.|?*+()[]{}-/", c) && c != 0) out += '\\';
    out += c;
  }
  return out;
}

// The pattern of a Split / Replace: {"Regex": "..."} or {"String": "..."}.
std::unique_ptr<Regex> pattern_regex(const json& p, const std::string& where) {
  if (p.is_object() && p.contains("Regex") && p["Regex"].is_string())
    return std::make_unique<Regex>(p["Regex"].get<std::string>(), Regex::Encoding::Utf8, where);
  if (p.is_object() && p.contains("String") && p["String"].is_string())
    return std::make_unique<Regex>(regex_escape(p["String"].get<std::string>()), Regex::Encoding::Utf8, where);
  throw InputError(where + ": \"pattern\" must be {\"Regex\": ...} or {\"String\": ...}");
}

std::string str_or(const json& j, const char* key, const std::string& fallback) {
  return j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : fallback;
}
bool bool_or(const json& j, const char* key, bool fallback) {
  return j.contains(key) && j[key].is_boolean() ? j[key].get<bool>() : fallback;
}
std::string type_of(const json& j, const std::string& where) {
  if (!j.is_object() || !j.contains("type") || !j["type"].is_string())
    throw InputError(where + ": expected an object with a \"type\"");
  return j["type"].get<std::string>();
}

// ---- Normalizers ----

struct Normalizer {
  virtual ~Normalizer() = default;
  virtual void apply(std::string& s) const = 0;
};

std::u16string to_utf16(const std::string& s) {
  UErrorCode e = U_ZERO_ERROR;
  int32_t n = 0;
  u_strFromUTF8(nullptr, 0, &n, s.data(), static_cast<int32_t>(s.size()), &e);
  std::u16string out(static_cast<std::size_t>(n), u'\0');
  e = U_ZERO_ERROR;
  u_strFromUTF8(out.data(), n, &n, s.data(), static_cast<int32_t>(s.size()), &e);
  return out;
}

std::string to_utf8(const std::u16string& s) {
  UErrorCode e = U_ZERO_ERROR;
  int32_t n = 0;
  u_strToUTF8(nullptr, 0, &n, s.data(), static_cast<int32_t>(s.size()), &e);
  std::string out(static_cast<std::size_t>(n), '\0');
  e = U_ZERO_ERROR;
  u_strToUTF8(out.data(), n, &n, s.data(), static_cast<int32_t>(s.size()), &e);
  return out;
}

// NFC, NFD, NFKC, NFKD through ICU (ASCII text is already normalized in all four).
struct UnicodeNormalizer : Normalizer {
  const UNormalizer2* norm = nullptr;
  UnicodeNormalizer(const std::string& form, const std::string& where) {
    UErrorCode e = U_ZERO_ERROR;
    if (form == "NFC") norm = unorm2_getNFCInstance(&e);
    if (form == "NFD") norm = unorm2_getNFDInstance(&e);
    if (form == "NFKC") norm = unorm2_getNFKCInstance(&e);
    if (form == "NFKD") norm = unorm2_getNFKDInstance(&e);
    if (!norm || U_FAILURE(e)) throw InputError(where + ": ICU has no " + form + " normalizer: " + u_errorName(e));
  }
  void apply(std::string& s) const override {
    if (is_ascii(s)) return;
    std::u16string in = to_utf16(s);
    UErrorCode e = U_ZERO_ERROR;
    if (unorm2_isNormalized(norm, in.data(), static_cast<int32_t>(in.size()), &e) && U_SUCCESS(e)) return;
    e = U_ZERO_ERROR;
    int32_t n = unorm2_normalize(norm, in.data(), static_cast<int32_t>(in.size()), nullptr, 0, &e);
    std::u16string out(static_cast<std::size_t>(n), u'\0');
    e = U_ZERO_ERROR;
    unorm2_normalize(norm, in.data(), static_cast<int32_t>(in.size()), out.data(), n, &e);
    s = to_utf8(out);
  }
};

struct LowercaseNormalizer : Normalizer {
  void apply(std::string& s) const override {
    if (is_ascii(s)) {
      for (char& c : s)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
      return;
    }
    std::u16string in = to_utf16(s);
    UErrorCode e = U_ZERO_ERROR;
    int32_t n = u_strToLower(nullptr, 0, in.data(), static_cast<int32_t>(in.size()), "", &e);
    std::u16string out(static_cast<std::size_t>(n), u'\0');
    e = U_ZERO_ERROR;
    u_strToLower(out.data(), n, in.data(), static_cast<int32_t>(in.size()), "", &e);
    s = to_utf8(out);
  }
};

struct PrependNormalizer : Normalizer {
  std::string prefix;
  void apply(std::string& s) const override {
    if (!s.empty()) s = prefix + s;
  }
};

struct ReplaceNormalizer : Normalizer {
  std::unique_ptr<Regex> pattern;
  std::string content;
  void apply(std::string& s) const override {
    std::string out;
    std::size_t last = 0;
    pattern->for_each_match(s, [&](std::size_t b, std::size_t e) {
      out.append(s, last, b - last);
      out += content;
      last = e;
    });
    if (last == 0 && out.empty()) return;
    out.append(s, last, std::string::npos);
    s = std::move(out);
  }
};

struct SequenceNormalizer : Normalizer {
  std::vector<std::unique_ptr<Normalizer>> steps;
  void apply(std::string& s) const override {
    for (const auto& n : steps) n->apply(s);
  }
};

std::unique_ptr<Normalizer> make_normalizer(const json& j, const std::string& where) {
  std::string type = type_of(j, where);
  if (type == "NFC" || type == "NFD" || type == "NFKC" || type == "NFKD")
    return std::make_unique<UnicodeNormalizer>(type, where);
  if (type == "Lowercase") return std::make_unique<LowercaseNormalizer>();
  if (type == "Prepend") {
    auto n = std::make_unique<PrependNormalizer>();
    n->prefix = str_or(j, "prepend", "");
    return n;
  }
  if (type == "Replace") {
    auto n = std::make_unique<ReplaceNormalizer>();
    n->pattern = pattern_regex(j.value("pattern", json()), where + ".pattern");
    n->content = str_or(j, "content", "");
    return n;
  }
  if (type == "Sequence") {
    auto n = std::make_unique<SequenceNormalizer>();
    const json& list = j.value("normalizers", json::array());
    for (std::size_t i = 0; i < list.size(); ++i)
      n->steps.push_back(make_normalizer(list[i], fmt::format("{}.normalizers[{}]", where, i)));
    return n;
  }
  throw InputError(fmt::format("{}: normalizer type \"{}\" is not supported (supported: NFC, NFD, NFKC, NFKD, "
                               "Lowercase, Prepend, Replace, Sequence)",
                               where, type));
}

// ---- Pre-tokenizers: split a normalized segment into words ----

struct PreTokenizer {
  virtual ~PreTokenizer() = default;
  // at_start: the first piece begins the whole input text (Metaspace prepend_scheme "first").
  virtual void apply(std::vector<std::string>& pieces, bool at_start) const = 0;
};

enum class SplitBehavior { Isolated, Removed, MergedWithPrevious, MergedWithNext, Contiguous };

// Splits every piece at the matches of a regex (a match is a delimiter unless `invert`).
struct SplitPreTokenizer : PreTokenizer {
  std::unique_ptr<Regex> regex;
  SplitBehavior behavior = SplitBehavior::Isolated;
  bool invert = false;

  void split_one(const std::string& s, std::vector<std::string>& out) const {
    struct Part {
      std::size_t b, e;
      bool delim;
    };
    std::vector<Part> parts;
    std::size_t last = 0;
    regex->for_each_match(s, [&](std::size_t b, std::size_t e) {
      if (b > last) parts.push_back({last, b, invert});
      parts.push_back({b, e, !invert});
      last = e;
    });
    if (last < s.size()) parts.push_back({last, s.size(), invert});
    // The folds of Hugging Face's split: a run of delimiters stays one piece in MergedWithNext.
    const std::size_t first = out.size();
    bool prev_delim = false;
    for (const auto& p : parts) {
      std::string_view text(s.data() + p.b, p.e - p.b);
      bool have = out.size() > first;
      switch (behavior) {
        case SplitBehavior::Isolated:
          out.emplace_back(text);
          break;
        case SplitBehavior::Removed:
          if (!p.delim) out.emplace_back(text);
          break;
        case SplitBehavior::MergedWithPrevious:
          if (p.delim && !prev_delim && have) out.back() += text;
          else out.emplace_back(text);
          break;
        case SplitBehavior::MergedWithNext:
          if ((p.delim && !prev_delim) || !have) out.emplace_back(text);
          else out.back() += text;
          break;
        case SplitBehavior::Contiguous:
          if (p.delim == prev_delim && have) out.back() += text;
          else out.emplace_back(text);
          break;
      }
      prev_delim = p.delim;
    }
  }

  void apply(std::vector<std::string>& pieces, bool) const override {
    std::vector<std::string> out;
    out.reserve(pieces.size() * 4);
    for (const auto& p : pieces) split_one(p, out);
    pieces = std::move(out);
  }
};

constexpr const char* kGpt2Pattern = R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

struct ByteLevelPreTokenizer : PreTokenizer {
  bool add_prefix_space = true;
  std::unique_ptr<SplitPreTokenizer> split;  // GPT-2 regex when use_regex
  void apply(std::vector<std::string>& pieces, bool at_start) const override {
    if (add_prefix_space)
      for (auto& p : pieces)
        if (p.empty() || p[0] != ' ') p.insert(p.begin(), ' ');
    if (split) split->apply(pieces, at_start);
  }
};

struct MetaspacePreTokenizer : PreTokenizer {
  std::string replacement = "\u2581";
  std::string prepend_scheme = "always";  // always | first | never
  bool split = true;
  void apply(std::vector<std::string>& pieces, bool at_start) const override {
    std::vector<std::string> out;
    for (std::size_t i = 0; i < pieces.size(); ++i) {
      std::string s;
      for (char c : pieces[i]) {
        if (c == ' ') s += replacement;
        else s += c;
      }
      bool prepend = prepend_scheme == "always" || (prepend_scheme == "first" && at_start && i == 0);
      if (prepend && s.compare(0, replacement.size(), replacement) != 0) s = replacement + s;
      if (!split) {
        out.push_back(std::move(s));
        continue;
      }
      // A piece starts at each run of replacement characters (MergedWithNext).
      std::size_t start = 0;
      bool prev_rep = false;
      for (std::size_t pos = 0; pos < s.size();) {
        bool rep = s.compare(pos, replacement.size(), replacement) == 0;
        if (rep && !prev_rep && pos > start) {
          out.push_back(s.substr(start, pos - start));
          start = pos;
        }
        prev_rep = rep;
        pos += rep ? replacement.size() : 1;
      }
      if (start < s.size()) out.push_back(s.substr(start));
    }
    pieces = std::move(out);
  }
};

struct SequencePreTokenizer : PreTokenizer {
  std::vector<std::unique_ptr<PreTokenizer>> steps;
  void apply(std::vector<std::string>& pieces, bool at_start) const override {
    for (const auto& s : steps) s->apply(pieces, at_start);
  }
};

SplitBehavior split_behavior(const std::string& name, const std::string& where) {
  if (name == "Isolated") return SplitBehavior::Isolated;
  if (name == "Removed") return SplitBehavior::Removed;
  if (name == "MergedWithPrevious") return SplitBehavior::MergedWithPrevious;
  if (name == "MergedWithNext") return SplitBehavior::MergedWithNext;
  if (name == "Contiguous") return SplitBehavior::Contiguous;
  throw InputError(fmt::format("{}: split behavior \"{}\" is unknown (Isolated, Removed, MergedWithPrevious, "
                               "MergedWithNext, Contiguous)",
                               where, name));
}

std::unique_ptr<SplitPreTokenizer> make_split(const std::string& pattern, SplitBehavior b, bool invert,
                                              const std::string& where) {
  auto s = std::make_unique<SplitPreTokenizer>();
  s->regex = std::make_unique<Regex>(pattern, Regex::Encoding::Utf8, where);
  s->behavior = b;
  s->invert = invert;
  return s;
}

std::unique_ptr<PreTokenizer> make_pre_tokenizer(const json& j, const std::string& where, bool& byte_level) {
  std::string type = type_of(j, where);
  if (type == "Split") {
    auto s = std::make_unique<SplitPreTokenizer>();
    s->regex = pattern_regex(j.value("pattern", json()), where + ".pattern");
    s->behavior = split_behavior(str_or(j, "behavior", "Isolated"), where);
    s->invert = bool_or(j, "invert", false);
    return s;
  }
  if (type == "ByteLevel") {
    byte_level = true;
    auto b = std::make_unique<ByteLevelPreTokenizer>();
    b->add_prefix_space = bool_or(j, "add_prefix_space", true);
    if (bool_or(j, "use_regex", true)) b->split = make_split(kGpt2Pattern, SplitBehavior::Isolated, false, where);
    return b;
  }
  if (type == "Metaspace") {
    auto m = std::make_unique<MetaspacePreTokenizer>();
    m->replacement = str_or(j, "replacement", "\u2581");
    if (j.contains("prepend_scheme")) m->prepend_scheme = str_or(j, "prepend_scheme", "always");
    else m->prepend_scheme = bool_or(j, "add_prefix_space", true) ? "always" : "never";
    if (m->prepend_scheme != "always" && m->prepend_scheme != "first" && m->prepend_scheme != "never")
      throw InputError(where + ": prepend_scheme must be always, first or never, not " + m->prepend_scheme);
    m->split = bool_or(j, "split", true);
    return m;
  }
  if (type == "Digits") {
    bool individual = bool_or(j, "individual_digits", false);
    return make_split(R"(\p{N})", individual ? SplitBehavior::Isolated : SplitBehavior::Contiguous, false, where);
  }
  if (type == "Whitespace") return make_split(R"(\w+|[^\w\s]+)", SplitBehavior::Removed, true, where);
  if (type == "WhitespaceSplit") return make_split(R"(\s+)", SplitBehavior::Removed, false, where);
  if (type == "Sequence") {
    auto s = std::make_unique<SequencePreTokenizer>();
    const json& list = j.value("pretokenizers", json::array());
    for (std::size_t i = 0; i < list.size(); ++i)
      s->steps.push_back(make_pre_tokenizer(list[i], fmt::format("{}.pretokenizers[{}]", where, i), byte_level));
    return s;
  }
  throw InputError(fmt::format("{}: pre-tokenizer type \"{}\" is not supported (supported: Split, ByteLevel, "
                               "Metaspace, Digits, Whitespace, WhitespaceSplit, Sequence)",
                               where, type));
}

// ---- Added tokens ----

struct AddedToken {
  std::string content;
  int id = 0;
  bool special = false, lstrip = false, rstrip = false, single_word = false;
};

bool is_word_char(char32_t c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c >= 0x80;
}

bool is_space_byte(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }

// A stretch of the input: an added token (id >= 0) or text for the model (id < 0).
struct Segment {
  std::size_t begin, end;
  int id;
};

// Finds added tokens leftmost-longest, as Hugging Face's AhoCorasick (LeftmostLongest) does.
class AddedTokenMatcher {
 public:
  void add(AddedToken t) {
    if (t.content.empty()) return;
    first_byte_[static_cast<unsigned char>(t.content[0])] = true;
    tokens_.push_back(std::move(t));
    std::stable_sort(tokens_.begin(), tokens_.end(),
                     [](const AddedToken& a, const AddedToken& b) { return a.content.size() > b.content.size(); });
  }
  bool empty() const { return tokens_.empty(); }

  std::vector<Segment> split(std::string_view text) const {
    std::vector<Segment> out;
    std::size_t start = 0;  // start of the pending model text
    std::size_t i = 0;
    while (i < text.size()) {
      if (!first_byte_[static_cast<unsigned char>(text[i])]) {
        ++i;
        continue;
      }
      const AddedToken* hit = nullptr;
      for (const auto& t : tokens_) {
        if (text.compare(i, t.content.size(), t.content) != 0) continue;
        if (t.single_word) {
          std::size_t e = i + t.content.size();
          bool left_ok = i == 0 || !is_word_char(prev_char(text, i));
          bool right_ok = e >= text.size() || !is_word_char(utf8_at(text, e));
          if (!left_ok || !right_ok) continue;
        }
        hit = &t;
        break;
      }
      if (!hit) {
        ++i;
        continue;
      }
      std::size_t b = i, e = i + hit->content.size();
      if (hit->lstrip)
        while (b > start && is_space_byte(text[b - 1])) --b;
      if (hit->rstrip)
        while (e < text.size() && is_space_byte(text[e])) ++e;
      if (b > start) out.push_back({start, b, -1});
      out.push_back({b, e, hit->id});
      start = i = e;
    }
    if (start < text.size()) out.push_back({start, text.size(), -1});
    return out;
  }

 private:
  static char32_t prev_char(std::string_view s, std::size_t i) {
    std::size_t k = i - 1;
    while (k > 0 && (static_cast<unsigned char>(s[k]) & 0xC0) == 0x80) --k;
    return utf8_at(s, k);
  }
  std::vector<AddedToken> tokens_;  // longest first
  std::array<bool, 256> first_byte_{};
};

// ---- The BPE model with a per-word cache ----

struct MergeRule {
  int rank;
  int id;
};

std::uint64_t pair_key(int a, int b) {
  return (static_cast<std::uint64_t>(static_cast<std::uint32_t>(a)) << 32) | static_cast<std::uint32_t>(b);
}

class WordCache {
 public:
  bool get(const std::string& word, std::vector<int>& out) const {
    auto& sh = shard(word);
    std::lock_guard lock(sh.m);
    auto it = sh.map.find(word);
    if (it == sh.map.end()) return false;
    out.insert(out.end(), it->second.begin(), it->second.end());
    return true;
  }
  void put(const std::string& word, const int* ids, std::size_t n) const {
    auto& sh = shard(word);
    std::lock_guard lock(sh.m);
    if (sh.map.size() >= kMaxPerShard) sh.map.clear();
    sh.map.emplace(word, std::vector<int>(ids, ids + n));
  }

 private:
  static constexpr std::size_t kShards = 16;
  static constexpr std::size_t kMaxPerShard = 1 << 14;
  struct Shard {
    std::mutex m;
    std::unordered_map<std::string, std::vector<int>> map;
  };
  Shard& shard(const std::string& w) const { return shards_[std::hash<std::string>{}(w) % kShards]; }
  mutable std::array<Shard, kShards> shards_;
};

struct Bpe {
  bool byte_level = false;
  bool ignore_merges = false;
  bool byte_fallback = false;
  bool fuse_unk = false;
  std::optional<int> unk;
  std::unordered_map<std::string, int> vocab;  // byte-level: keys are the raw bytes
  std::unordered_map<std::uint64_t, MergeRule> merges;
  std::array<int, 256> byte_id{};      // byte-level: the token of each single byte, -1 if none
  std::array<int, 256> fallback_id{};  // byte_fallback: <0xNN>, -1 if none
  WordCache cache;

  void encode_word(const std::string& word, std::vector<int>& out) const {
    if (word.empty()) return;
    if (ignore_merges) {
      auto it = vocab.find(word);
      if (it != vocab.end()) {
        out.push_back(it->second);
        return;
      }
    }
    bool cacheable = word.size() <= 64;
    if (cacheable && cache.get(word, out)) return;
    std::size_t before = out.size();
    merge_word(word, out);
    if (cacheable) cache.put(word, out.data() + before, out.size() - before);
  }

 private:
  struct Symbol {
    int id;
    int prev;
    int next;
  };
  struct Candidate {
    int rank;
    int pos;
    int left_id;
    int right_id;
    bool operator>(const Candidate& o) const { return rank != o.rank ? rank > o.rank : pos > o.pos; }
  };

  void initial_symbols(const std::string& word, std::vector<Symbol>& syms) const {
    auto push = [&](int id) { syms.push_back({id, static_cast<int>(syms.size()) - 1, static_cast<int>(syms.size()) + 1}); };
    bool last_unk = false;
    for (std::size_t i = 0; i < word.size();) {
      std::size_t n = byte_level ? 1 : std::min(utf8_len(static_cast<unsigned char>(word[i])), word.size() - i);
      int id = -1;
      if (byte_level) {
        id = byte_id[static_cast<unsigned char>(word[i])];
      } else {
        auto it = vocab.find(word.substr(i, n));
        if (it != vocab.end()) id = it->second;
      }
      if (id >= 0) {
        push(id);
        last_unk = false;
      } else if (byte_fallback && std::all_of(word.begin() + static_cast<std::ptrdiff_t>(i),
                                              word.begin() + static_cast<std::ptrdiff_t>(i + n), [&](char c) {
                                                return fallback_id[static_cast<unsigned char>(c)] >= 0;
                                              })) {
        for (std::size_t k = i; k < i + n; ++k) push(fallback_id[static_cast<unsigned char>(word[k])]);
        last_unk = false;
      } else if (unk) {
        if (!(fuse_unk && last_unk)) push(*unk);
        last_unk = true;
      }
      i += n;
    }
    if (!syms.empty()) syms.back().next = -1;
  }

  void merge_word(const std::string& word, std::vector<int>& out) const {
    std::vector<Symbol> syms;
    syms.reserve(word.size());
    initial_symbols(word, syms);
    std::priority_queue<Candidate, std::vector<Candidate>, std::greater<>> heap;
    auto consider = [&](int pos) {
      int next = syms[pos].next;
      if (next < 0) return;
      auto it = merges.find(pair_key(syms[pos].id, syms[next].id));
      if (it != merges.end()) heap.push({it->second.rank, pos, syms[pos].id, syms[next].id});
    };
    for (int i = 0; i + 1 < static_cast<int>(syms.size()); ++i) consider(i);
    while (!heap.empty()) {
      Candidate c = heap.top();
      heap.pop();
      Symbol& left = syms[c.pos];
      if (left.id != c.left_id || left.next < 0) continue;
      Symbol& right = syms[left.next];
      if (right.id != c.right_id) continue;
      auto it = merges.find(pair_key(left.id, right.id));
      if (it == merges.end() || it->second.rank != c.rank) continue;
      left.id = it->second.id;
      int removed = left.next;
      left.next = right.next;
      if (right.next >= 0) syms[right.next].prev = c.pos;
      syms[removed].id = -1;
      if (left.prev >= 0) consider(left.prev);
      consider(c.pos);
    }
    for (int i = syms.empty() ? -1 : 0; i >= 0; i = syms[i].next) out.push_back(syms[i].id);
  }
};

// ---- The whole tokenizer.json pipeline ----

class JsonBackend : public Tokenizer::Backend {
 public:
  std::vector<int> encode(const std::string& text) const override {
    std::vector<int> out;
    out.reserve(text.size() / 3 + 4);
    std::vector<std::string> pieces;
    auto model_text = [&](std::string_view part, bool at_start) {
      pieces.clear();
      pieces.emplace_back(part);
      if (normalizer_) normalizer_->apply(pieces[0]);
      if (pre_) pre_->apply(pieces, at_start);
      for (const auto& p : pieces) bpe_.encode_word(p, out);
    };
    if (added_.empty()) {
      model_text(text, true);
      return out;
    }
    for (const auto& seg : added_.split(text)) {
      if (seg.id >= 0) out.push_back(seg.id);
      else model_text(std::string_view(text).substr(seg.begin, seg.end - seg.begin), seg.begin == 0);
    }
    return out;
  }

  std::string decode_bytes(const std::vector<int>& ids, bool skip_special) const override {
    std::string out;
    int to_strip = strip_leading_;  // decoders strip leading spaces at the start of each run of model tokens
    for (int id : ids) {
      const auto i = static_cast<std::size_t>(id);
      if (is_added_[i]) {
        to_strip = strip_leading_;
        if (!(skip_special && special_[i])) out += pieces_[i];
        continue;
      }
      std::string_view p = pieces_[i];
      for (; to_strip > 0 && !p.empty() && p[0] == ' '; --to_strip) p.remove_prefix(1);
      if (!p.empty()) to_strip = 0;
      out += p;
    }
    return out;
  }

  int vocab_size() const override { return static_cast<int>(pieces_.size()); }

  std::optional<int> token_to_id(const std::string& token) const override {
    if (auto it = added_by_content_.find(token); it != added_by_content_.end()) return it->second;
    std::string key = token;
    if (bpe_.byte_level) {
      auto raw = byte_alphabet().decode(token);
      if (!raw) return std::nullopt;
      key = *raw;
    }
    if (auto it = bpe_.vocab.find(key); it != bpe_.vocab.end()) return it->second;
    return std::nullopt;
  }
  bool is_special(int id) const override { return special_[static_cast<std::size_t>(id)]; }
  bool is_byte_token(int id) const override { return byte_token_[static_cast<std::size_t>(id)]; }
  std::string kind() const override {
    return bpe_.byte_level ? "byte-level BPE (tokenizer.json)" : "SentencePiece-style BPE (tokenizer.json)";
  }
  std::optional<std::string> template_first_token() const override { return template_first_; }

  void load(const std::filesystem::path& file);

 private:
  void load_model(const json& m, const std::string& where);
  void load_decoder(const json& d, const std::string& where);

  std::unique_ptr<Normalizer> normalizer_;
  std::unique_ptr<PreTokenizer> pre_;
  Bpe bpe_;
  AddedTokenMatcher added_;
  std::unordered_map<std::string, int> added_by_content_;
  std::vector<std::string> pieces_;  // per id: the bytes it decodes to
  std::vector<bool> is_added_, special_, byte_token_;
  int strip_leading_ = 0;  // spaces stripped at the start of each run of model tokens
  std::vector<std::pair<std::string, std::string>> decoder_replace_;
  bool decoder_byte_fallback_ = false;
  std::optional<std::string> template_first_;
};

std::optional<int> parse_byte_token(const std::string& t) {
  if (t.size() != 6 || t.compare(0, 3, "<0x") != 0 || t[5] != '>') return std::nullopt;
  auto hex = [](char c) { return c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1; };
  int hi = hex(t[3]), lo = hex(t[4]);
  if (hi < 0 || lo < 0) return std::nullopt;
  return hi * 16 + lo;
}

void JsonBackend::load_decoder(const json& d, const std::string& where) {
  if (d.is_null()) return;
  std::string type = type_of(d, where);
  if (type == "ByteLevel" || type == "Fuse") return;
  if (type == "ByteFallback") {
    decoder_byte_fallback_ = true;
    return;
  }
  if (type == "Metaspace") {
    std::string rep = str_or(d, "replacement", "\u2581");
    decoder_replace_.push_back({rep, " "});
    std::string scheme = d.contains("prepend_scheme") ? str_or(d, "prepend_scheme", "always")
                                                      : (bool_or(d, "add_prefix_space", true) ? "always" : "never");
    if (scheme != "never") strip_leading_ = 1;
    return;
  }
  if (type == "Replace") {
    const json& p = d.value("pattern", json());
    if (!p.is_object() || !p.contains("String") || !p["String"].is_string())
      throw InputError(where + ": only Replace decoders with a {\"String\": ...} pattern are supported");
    decoder_replace_.push_back({p["String"].get<std::string>(), str_or(d, "content", "")});
    return;
  }
  if (type == "Strip") {
    if (str_or(d, "content", " ") != " " || d.value("stop", 0) != 0)
      throw InputError(where + ": only Strip decoders removing leading spaces (content \" \", stop 0) are supported");
    strip_leading_ = d.value("start", 0);
    return;
  }
  if (type == "Sequence") {
    const json& list = d.value("decoders", json::array());
    for (std::size_t i = 0; i < list.size(); ++i) load_decoder(list[i], fmt::format("{}.decoders[{}]", where, i));
    return;
  }
  throw InputError(fmt::format("{}: decoder type \"{}\" is not supported (supported: ByteLevel, Metaspace, Replace, "
                               "ByteFallback, Fuse, Strip, Sequence)",
                               where, type));
}

void JsonBackend::load_model(const json& m, const std::string& where) {
  std::string type = m.contains("type") ? type_of(m, where) : (m.contains("merges") ? "BPE" : "");
  if (type != "BPE")
    throw InputError(fmt::format("{}: model type \"{}\" is not supported (supported: BPE; for Unigram models "
                                 "put the SentencePiece tokenizer.model in the directory instead)",
                                 where, type));
  for (const char* affix : {"continuing_subword_prefix", "end_of_word_suffix"})
    if (!str_or(m, affix, "").empty())
      throw InputError(fmt::format("{}: BPE {} is not supported", where, affix));
  if (!m.contains("vocab") || !m["vocab"].is_object())
    throw InputError(where + ": \"vocab\" must be an object {token: id}");
  bpe_.ignore_merges = bool_or(m, "ignore_merges", false);
  bpe_.byte_fallback = bool_or(m, "byte_fallback", false);
  bpe_.fuse_unk = bool_or(m, "fuse_unk", false);
  const auto& alphabet = byte_alphabet();
  auto raw = [&](const std::string& token) -> std::string {
    if (!bpe_.byte_level) return token;
    auto r = alphabet.decode(token);
    return r ? *r : token;
  };
  std::vector<std::pair<std::string, int>> entries;
  entries.reserve(m["vocab"].size());
  int max_id = -1;
  for (const auto& [token, idj] : m["vocab"].items()) {
    if (!idj.is_number_integer() || idj.get<long long>() < 0 || idj.get<long long>() > (1 << 28))
      throw InputError(fmt::format("{}: vocab[\"{}\"] must be a non-negative integer id", where, token));
    int id = idj.get<int>();
    max_id = std::max(max_id, id);
    entries.emplace_back(token, id);
  }
  pieces_.assign(static_cast<std::size_t>(max_id + 1), std::string());
  byte_token_.assign(pieces_.size(), false);
  bpe_.vocab.reserve(entries.size());
  bpe_.byte_id.fill(-1);
  bpe_.fallback_id.fill(-1);
  for (auto& [token, id] : entries) {
    std::string key = raw(token);
    if (auto b = bpe_.byte_level ? std::nullopt : parse_byte_token(token)) {
      bpe_.fallback_id[static_cast<std::size_t>(*b)] = id;
      byte_token_[static_cast<std::size_t>(id)] = true;
    }
    if (bpe_.byte_level && key.size() == 1) bpe_.byte_id[static_cast<unsigned char>(key[0])] = id;
    pieces_[static_cast<std::size_t>(id)] = key;
    bpe_.vocab[std::move(key)] = id;
  }
  if (m.contains("unk_token") && m["unk_token"].is_string()) {
    auto it = bpe_.vocab.find(raw(m["unk_token"].get<std::string>()));
    if (it == bpe_.vocab.end())
      throw InputError(fmt::format("{}: unk_token \"{}\" is not in the vocab", where, m["unk_token"].get<std::string>()));
    bpe_.unk = it->second;
  }
  static const json no_merges = json::array();
  const json& merges = m.contains("merges") ? m["merges"] : no_merges;
  if (!merges.is_array()) throw InputError(where + ": \"merges\" must be a list");
  bpe_.merges.reserve(merges.size());
  for (std::size_t r = 0; r < merges.size(); ++r) {
    const json& mj = merges[r];
    std::string a, b;
    if (mj.is_string()) {
      const std::string& s = mj.get_ref<const std::string&>();
      auto sp = s.find(' ');
      if (sp == std::string::npos || s.find(' ', sp + 1) != std::string::npos)
        throw InputError(fmt::format("{}: merges[{}] \"{}\" must be two tokens separated by one space", where, r, s));
      a = s.substr(0, sp);
      b = s.substr(sp + 1);
    } else if (mj.is_array() && mj.size() == 2 && mj[0].is_string() && mj[1].is_string()) {
      a = mj[0].get<std::string>();
      b = mj[1].get<std::string>();
    } else {
      throw InputError(fmt::format("{}: merges[{}] must be \"a b\" or [\"a\", \"b\"]", where, r));
    }
    std::string ra = raw(a), rb = raw(b);
    auto ia = bpe_.vocab.find(ra), ib = bpe_.vocab.find(rb), ic = bpe_.vocab.find(ra + rb);
    if (ia == bpe_.vocab.end() || ib == bpe_.vocab.end() || ic == bpe_.vocab.end())
      throw InputError(fmt::format("{}: merges[{}] (\"{}\", \"{}\") uses a token that is not in the vocab", where, r,
                                   a, b));
    bpe_.merges[pair_key(ia->second, ib->second)] = MergeRule{static_cast<int>(r), ic->second};
  }
}

void JsonBackend::load(const std::filesystem::path& file) {
  const std::string f = file.string();
  std::ifstream in(file, std::ios::binary);
  if (!in) throw InputError(f + ": cannot read the file");
  json j;
  try {
    j = json::parse(in);
  } catch (const json::exception& e) {
    throw InputError(f + ": not valid JSON: " + e.what());
  }
  if (!j.is_object() || !j.contains("model") || !j["model"].is_object())
    throw InputError(f + ": no \"model\" object; is this a Hugging Face tokenizer.json?");
  try {
    if (j.contains("normalizer") && !j["normalizer"].is_null())
      normalizer_ = make_normalizer(j["normalizer"], f + ": normalizer");
    bool byte_level = false;
    if (j.contains("pre_tokenizer") && !j["pre_tokenizer"].is_null())
      pre_ = make_pre_tokenizer(j["pre_tokenizer"], f + ": pre_tokenizer", byte_level);
    if (j.contains("decoder") && j["decoder"].is_object() && str_or(j["decoder"], "type", "") == "ByteLevel")
      byte_level = true;
    bpe_.byte_level = byte_level;
    load_model(j["model"], f + ": model");
    if (j.contains("decoder")) load_decoder(j["decoder"], f + ": decoder");

    const json& added = j.value("added_tokens", json::array());
    std::vector<AddedToken> tokens;
    for (std::size_t i = 0; i < added.size(); ++i) {
      const json& a = added[i];
      if (!a.is_object() || !a.contains("id") || !a["id"].is_number_integer() || !a.contains("content") ||
          !a["content"].is_string() || a["id"].get<long long>() < 0 || a["id"].get<long long>() > (1 << 28))
        throw InputError(fmt::format("{}: added_tokens[{}] needs an integer \"id\" and a string \"content\"", f, i));
      AddedToken t;
      t.id = a["id"].get<int>();
      t.content = a["content"].get<std::string>();
      t.special = bool_or(a, "special", false);
      t.lstrip = bool_or(a, "lstrip", false);
      t.rstrip = bool_or(a, "rstrip", false);
      t.single_word = bool_or(a, "single_word", false);
      tokens.push_back(std::move(t));
    }
    std::size_t n = pieces_.size();
    for (const auto& t : tokens) n = std::max(n, static_cast<std::size_t>(t.id) + 1);
    pieces_.resize(n);
    byte_token_.resize(n, false);
    is_added_.assign(n, false);
    special_.assign(n, false);
    // Model tokens decode through the decoder's Replace / ByteFallback steps, added tokens as written.
    for (std::size_t id = 0; id < pieces_.size(); ++id) {
      if (bpe_.byte_level) continue;
      std::string& p = pieces_[id];
      if (decoder_byte_fallback_ && byte_token_[id]) {
        p = std::string(1, static_cast<char>(*parse_byte_token(p)));
        continue;
      }
      byte_token_[id] = false;
      for (const auto& [from, to] : decoder_replace_) {
        for (std::size_t pos = p.find(from); !from.empty() && pos != std::string::npos; pos = p.find(from, pos + to.size()))
          p.replace(pos, from.size(), to);
      }
    }
    for (auto& t : tokens) {
      auto id = static_cast<std::size_t>(t.id);
      pieces_[id] = t.content;
      is_added_[id] = true;
      special_[id] = t.special;
      byte_token_[id] = false;
      added_by_content_[t.content] = t.id;
      added_.add(std::move(t));
    }
    const json& post = j.value("post_processor", json());
    std::vector<const json*> procs;
    if (post.is_object() && str_or(post, "type", "") == "Sequence" && post.contains("processors") &&
        post["processors"].is_array())
      for (const auto& p : post["processors"]) procs.push_back(&p);
    else if (post.is_object())
      procs.push_back(&post);
    for (const json* p : procs) {
      if (str_or(*p, "type", "") != "TemplateProcessing") continue;
      const json& single = p->value("single", json::array());
      if (!single.empty() && single[0].contains("SpecialToken"))
        template_first_ = str_or(single[0]["SpecialToken"], "id", "");
    }
  } catch (const json::exception& e) {
    throw InputError(f + ": unexpected structure: " + e.what());
  }
}

}  // namespace

std::unique_ptr<Tokenizer::Backend> load_tokenizer_json(const std::filesystem::path& file) {
  auto b = std::make_unique<JsonBackend>();
  b->load(file);
  return b;
}

}  // namespace r1
