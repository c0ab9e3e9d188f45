// Tokenizer loading (model + special-token config files), SentencePiece backend, streaming decode, writer.
#include "r1/tokenizer/tokenizer.h"

#include <fstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "r1/core/error.h"
#include "r1/tokenizer/sentencepiece.h"
#include "backend.h"

namespace r1 {

namespace {

using json = nlohmann::json;

// Length of the valid UTF-8 sequence at s[i], or 0 when the bytes there are not one
// (overlong forms, surrogates and code points past U+10FFFF are invalid).
std::size_t valid_utf8_at(std::string_view s, std::size_t i) {
  auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char c = b(i);
  if (c < 0x80) return 1;
  std::size_t n = 0;
  unsigned char lo = 0x80, hi = 0xBF;
  if (c >= 0xC2 && c <= 0xDF) n = 2;
  else if (c == 0xE0) n = 3, lo = 0xA0;
  else if (c == 0xED) n = 3, hi = 0x9F;
  else if (c >= 0xE1 && c <= 0xEF) n = 3;
  else if (c == 0xF0) n = 4, lo = 0x90;
  else if (c == 0xF4) n = 4, hi = 0x8F;
  else if (c >= 0xF1 && c <= 0xF3) n = 4;
  else return 0;
  if (i + n > s.size()) return 0;
  if (b(i + 1) < lo || b(i + 1) > hi) return 0;
  for (std::size_t k = 2; k < n; ++k)
    if (b(i + k) < 0x80 || b(i + k) > 0xBF) return 0;
  return n;
}

// Length of s without a trailing incomplete (but so far valid) UTF-8 sequence.
std::size_t complete_utf8_prefix(std::string_view s) {
  std::size_t start = s.size();
  for (std::size_t k = 0; k < 3 && start > 0; ++k) {
    --start;
    auto c = static_cast<unsigned char>(s[start]);
    if ((c & 0xC0) != 0x80) {
      std::size_t need = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
      std::size_t have = s.size() - start;
      if (c >= 0xC2 && c <= 0xF4 && have < need) {
        // Only hold back what could still become a valid character.
        std::string padded(s.substr(start));
        while (padded.size() < need) padded += static_cast<char>(c == 0xE0 && padded.size() == 1 ? 0xA0
                                                                 : c == 0xF0 && padded.size() == 1 ? 0x90
                                                                                                     : 0x80);
        if (valid_utf8_at(padded, 0) == need) return start;
      }
      return s.size();
    }
  }
  return s.size();
}

std::optional<json> read_json(const std::filesystem::path& file, std::vector<std::filesystem::path>& loaded) {
  if (!std::filesystem::exists(file)) return std::nullopt;
  std::ifstream in(file, std::ios::binary);
  if (!in) throw InputError(file.string() + ": cannot read the file");
  try {
    json j = json::parse(in);
    loaded.push_back(file);
    return j;
  } catch (const json::exception& e) {
    throw InputError(file.string() + ": not valid JSON: " + e.what());
  }
}

// A token named in tokenizer_config.json / special_tokens_map.json: "text", {"content": "text"} or null.
std::optional<std::string> token_text(const json& cfg, const char* key) {
  if (!cfg.contains(key)) return std::nullopt;
  const json& v = cfg[key];
  if (v.is_string()) return v.get<std::string>();
  if (v.is_object() && v.contains("content") && v["content"].is_string()) return v["content"].get<std::string>();
  return std::nullopt;
}

// A token id or a list of them (null: none); InputError naming `what` (file and key) otherwise.
std::vector<int> id_list(const json& v, const std::string& what) {
  std::vector<int> out;
  if (v.is_null()) return out;
  auto one = [&](const json& x) {
    if (!x.is_number_integer() || x.get<int64_t>() < 0 || x.get<int64_t>() > INT32_MAX)
      throw InputError(fmt::format("{}: expected a token id (a non-negative integer) or a list of them, got {}", what,
                                   x.dump()));
    out.push_back(x.get<int>());
  };
  if (v.is_array()) {
    for (const auto& x : v) one(x);
  } else {
    one(v);
  }
  return out;
}

class SentencePieceBackend : public Tokenizer::Backend {
 public:
  explicit SentencePieceBackend(const std::filesystem::path& file) : sp_(file) {
    // Whether the model adds a dummy "▁" prefix that decoding strips: decode one "▁x" piece alone.
    for (int id = 0; id < sp_.vocab_size(); ++id) {
      std::string p = sp_.id_to_piece(id);
      if (p.size() > kSpace.size() && p.compare(0, kSpace.size(), kSpace) == 0 && !sp_.is_control(id)) {
        strip_first_space_ = sp_.decode({id}).compare(0, 1, " ") != 0;
        break;
      }
    }
  }
  std::vector<int> encode(const std::string& text) const override { return sp_.encode(text); }
  // Piece by piece as SentencePiece decodes (control pieces vanish, "▁" is a space, the unknown
  // piece is " ⁇ ", the dummy prefix space goes), except that byte pieces stay raw bytes, so that
  // a character split over several byte pieces is whole again once its last byte arrives.
  std::string decode_bytes(const std::vector<int>& ids, bool) const override {
    std::string out;
    bool first = true;
    for (int id : ids) {
      if (sp_.is_control(id)) continue;
      std::string p = sp_.id_to_piece(id);
      if (sp_.is_byte(id) && p.size() == 6) {
        out += static_cast<char>(std::stoi(p.substr(3, 2), nullptr, 16));
        first = false;
        continue;
      }
      if (id == sp_.unk_id()) p = " \xE2\x81\x87 ";
      std::string text;
      for (std::size_t pos = 0; pos < p.size();) {
        if (p.compare(pos, kSpace.size(), kSpace) == 0) {
          text += ' ';
          pos += kSpace.size();
        } else {
          text += p[pos++];
        }
      }
      if (first && strip_first_space_ && !text.empty() && text[0] == ' ') text.erase(0, 1);
      first = first && text.empty();
      out += text;
    }
    return out;
  }
  int vocab_size() const override { return sp_.vocab_size(); }
  std::optional<int> token_to_id(const std::string& token) const override {
    int id = sp_.piece_to_id(token);
    if (id == sp_.unk_id() && sp_.id_to_piece(id) != token) return std::nullopt;
    return id;
  }
  bool is_special(int id) const override { return sp_.is_control(id); }
  bool is_byte_token(int id) const override { return sp_.is_byte(id); }
  std::string kind() const override { return "SentencePiece (tokenizer.model)"; }
  std::optional<int> model_bos() const override { return positive(sp_.bos_id()); }
  std::optional<int> model_eos() const override { return positive(sp_.eos_id()); }
  std::optional<int> model_pad() const override { return positive(sp_.pad_id()); }

 private:
  static std::optional<int> positive(int id) { return id >= 0 ? std::optional<int>(id) : std::nullopt; }
  static inline const std::string kSpace = "\xE2\x96\x81";  // U+2581, SentencePiece's space
  SentencePiece sp_;
  bool strip_first_space_ = true;
};

}  // namespace

std::unique_ptr<Tokenizer::Backend> load_sentencepiece_model(const std::filesystem::path& file) {
  return std::make_unique<SentencePieceBackend>(file);
}

// Reads the model file and the special-token config files of a tokenizer directory.
struct TokenizerLoader {
  static std::shared_ptr<Tokenizer> load(const std::filesystem::path& dir) {
    if (!std::filesystem::is_directory(dir))
      throw InputError(dir.string() + ": not a directory; --tokenizer / model.path must name a directory holding "
                                      "tokenizer.json or tokenizer.model");
    auto json_file = dir / "tokenizer.json", model_file = dir / "tokenizer.model";
    std::unique_ptr<Tokenizer::Backend> backend;
    std::vector<std::filesystem::path> files;
    if (std::filesystem::exists(json_file)) {
      try {
        backend = load_tokenizer_json(json_file);
        files.push_back(json_file);
      } catch (const InputError& e) {
        if (!std::filesystem::exists(model_file)) throw;
        spdlog::warn("{}; using {} instead", e.what(), model_file.string());
      }
    }
    if (!backend && std::filesystem::exists(model_file)) {
      backend = load_sentencepiece_model(model_file);
      files.push_back(model_file);
    }
    if (!backend)
      throw InputError(dir.string() + ": no tokenizer.json or tokenizer.model; copy the tokenizer files of the "
                                      "model into this directory");
    auto tok = std::make_shared<Tokenizer>(std::move(backend));
    tok->files_ = files;
    configure_special_tokens(*tok, dir);
    return tok;
  }

  static void configure_special_tokens(Tokenizer& tok, const std::filesystem::path& dir) {
    auto& files = tok.files_;
    json cfg = read_json(dir / "tokenizer_config.json", files).value_or(json::object());
    json map = read_json(dir / "special_tokens_map.json", files).value_or(json::object());
    json gen = read_json(dir / "generation_config.json", files).value_or(json::object());
    for (const auto* j : {&cfg, &map, &gen})
      if (!j->is_object()) throw InputError(dir.string() + ": a tokenizer config file is not a JSON object");

    auto lookup = [&](const char* key) -> std::optional<int> {
      auto text = token_text(cfg, key);
      const char* file = "tokenizer_config.json";
      if (!text) text = token_text(map, key), file = "special_tokens_map.json";
      if (!text) return std::nullopt;
      auto id = tok.token_to_id(*text);
      if (!id)
        throw InputError(fmt::format("{}: {} \"{}\" is not a token of the tokenizer", (dir / file).string(), key,
                                     *text));
      return id;
    };
    auto in_range = [&](std::vector<int> ids, const char* key) {
      for (int id : ids)
        if (id < 0 || id >= tok.vocab_size())
          throw InputError(fmt::format("{}: {} {} is outside the vocabulary (size {})",
                                       (dir / "generation_config.json").string(), key, id, tok.vocab_size()));
      return ids;
    };

    tok.bos_ = lookup("bos_token");
    if (!tok.bos_) {
      auto g = in_range(id_list(gen.value("bos_token_id", json()), (dir / "generation_config.json").string() + ": bos_token_id"), "bos_token_id");
      tok.bos_ = g.empty() ? tok.backend_->model_bos() : std::optional<int>(g[0]);
    }
    if (auto e = lookup("eos_token")) tok.eos_.push_back(*e);
    for (int id : in_range(id_list(gen.value("eos_token_id", json()), (dir / "generation_config.json").string() + ": eos_token_id"), "eos_token_id"))
      if (std::find(tok.eos_.begin(), tok.eos_.end(), id) == tok.eos_.end()) tok.eos_.push_back(id);
    if (tok.eos_.empty())
      if (auto e = tok.backend_->model_eos()) tok.eos_.push_back(*e);
    tok.pad_ = lookup("pad_token");
    if (!tok.pad_) {
      auto g = in_range(id_list(gen.value("pad_token_id", json()), (dir / "generation_config.json").string() + ": pad_token_id"), "pad_token_id");
      tok.pad_ = g.empty() ? tok.backend_->model_pad() : std::optional<int>(g[0]);
    }

    if (cfg.contains("add_bos_token") && cfg["add_bos_token"].is_boolean()) {
      tok.add_bos_ = cfg["add_bos_token"].get<bool>();
    } else if (auto first = tok.backend_->template_first_token()) {
      tok.add_bos_ = tok.bos_ && tok.token_to_id(*first) == tok.bos_;
    } else {
      tok.add_bos_ = tok.backend_->kind().rfind("SentencePiece (", 0) == 0 && tok.bos_.has_value();
    }
    if (tok.add_bos_ && !tok.bos_)
      throw InputError((dir / "tokenizer_config.json").string() + ": add_bos_token is true but no bos_token is set");
  }
};

std::shared_ptr<Tokenizer> Tokenizer::load(const std::filesystem::path& dir) { return TokenizerLoader::load(dir); }

Tokenizer::Tokenizer(std::unique_ptr<Backend> backend) : backend_(std::move(backend)) {}
Tokenizer::~Tokenizer() = default;

std::vector<int> Tokenizer::encode(const std::string& text, bool add_special_tokens) const {
  std::vector<int> ids;
  if (add_special_tokens && add_bos_ && bos_) ids.push_back(*bos_);
  std::size_t i = 0;
  for (std::size_t n; i < text.size() && (n = valid_utf8_at(text, i)) > 0;) i += n;
  std::vector<int> body = backend_->encode(i == text.size() ? text : make_valid_utf8(text));
  if (ids.empty()) return body;
  ids.insert(ids.end(), body.begin(), body.end());
  return ids;
}

std::string Tokenizer::decode_bytes(const std::vector<int>& ids, bool skip_special_tokens) const {
  int n = vocab_size();
  for (std::size_t i = 0; i < ids.size(); ++i)
    if (ids[i] < 0 || ids[i] >= n)
      throw InputError(fmt::format("token id {} at position {} is outside the vocabulary [0, {})", ids[i], i, n));
  return backend_->decode_bytes(ids, skip_special_tokens);
}

std::string Tokenizer::decode(const std::vector<int>& ids, bool skip_special_tokens) const {
  return make_valid_utf8(decode_bytes(ids, skip_special_tokens));
}

int Tokenizer::vocab_size() const { return backend_->vocab_size(); }
std::optional<int> Tokenizer::bos_id() const { return bos_; }
std::vector<int> Tokenizer::eos_ids() const { return eos_; }
std::optional<int> Tokenizer::pad_id() const { return pad_; }
int Tokenizer::padding_id() const { return pad_.value_or(eos_ids().empty() ? 0 : eos_ids().front()); }
bool Tokenizer::add_bos_token() const { return add_bos_; }
bool Tokenizer::is_special(int id) const { return id >= 0 && id < vocab_size() && backend_->is_special(id); }
bool Tokenizer::is_byte_token(int id) const { return id >= 0 && id < vocab_size() && backend_->is_byte_token(id); }
std::optional<int> Tokenizer::token_to_id(const std::string& token) const { return backend_->token_to_id(token); }
std::string Tokenizer::kind() const { return backend_->kind(); }
std::vector<std::filesystem::path> Tokenizer::files() const { return files_; }

std::string make_valid_utf8(const std::string& text) {
  std::size_t i = 0;
  while (i < text.size()) {
    std::size_t n = valid_utf8_at(text, i);
    if (n == 0) break;
    i += n;
  }
  if (i == text.size()) return text;
  std::string out(text, 0, i);
  while (i < text.size()) {
    std::size_t n = valid_utf8_at(text, i);
    if (n == 0) {
      out += "\xEF\xBF\xBD";
      ++i;
    } else {
      out.append(text, i, n);
      i += n;
    }
  }
  return out;
}

StreamDecoder::StreamDecoder(const Tokenizer& tokenizer, bool skip_special_tokens)
    : tok_(tokenizer), skip_special_(skip_special_tokens) {}

// The window is decoded as a whole so that decoders which look at the start of a run
// (SentencePiece's leading-space strip) see the same context as a full decode.
std::string StreamDecoder::push(int id) {
  window_.push_back(id);
  std::string text = tok_.decode_bytes(window_, skip_special_);
  std::size_t complete = complete_utf8_prefix(text);
  // SentencePiece decodes an unfinished byte sequence to U+FFFD: wait for the next few bytes.
  const std::string fffd = "\xEF\xBF\xBD";
  int pending_bytes = 0;
  for (auto it = window_.rbegin(); it != window_.rend() && tok_.is_byte_token(*it); ++it) ++pending_bytes;
  if (pending_bytes > 0 && pending_bytes < 4 && text.size() >= fffd.size() &&
      text.compare(text.size() - fffd.size(), fffd.size(), fffd) == 0)
    complete = std::min(complete, text.size() - fffd.size());
  std::string out;
  if (complete > emitted_) {
    out = make_valid_utf8(text.substr(emitted_, complete - emitted_));
    emitted_ = complete;
  }
  if (emitted_ == text.size() && window_.size() > 1) {
    // Keep the last token as context, once it decodes to something: decoders strip a leading
    // space only until the first non-empty piece, so from there on the window decodes as the whole.
    std::string last = tok_.decode_bytes({window_.back()}, skip_special_);
    if (!last.empty()) {
      window_.erase(window_.begin(), window_.end() - 1);
      emitted_ = last.size();
    }
  }
  return out;
}

std::string StreamDecoder::flush() {
  std::string text = window_.empty() ? std::string() : tok_.decode_bytes(window_, skip_special_);
  std::string out = emitted_ < text.size() ? make_valid_utf8(text.substr(emitted_)) : std::string();
  window_.clear();
  emitted_ = 0;
  return out;
}

void write_byte_level_tokenizer(const std::filesystem::path& dir, const std::vector<std::string>& special_tokens,
                                const std::vector<std::pair<std::string, std::string>>& merges) {
  // GPT-2's byte alphabet: printable bytes stand for themselves, the rest map to U+0100 onwards.
  std::array<std::string, 256> alphabet;
  int extra = 0;
  for (int b = 0; b < 256; ++b) {
    bool printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174);
    auto cp = static_cast<char32_t>(printable ? b : 256 + extra++);
    std::string s;
    if (cp < 0x80) {
      s += static_cast<char>(cp);
    } else {
      s += static_cast<char>(0xC0 | (cp >> 6));
      s += static_cast<char>(0x80 | (cp & 0x3F));
    }
    alphabet[static_cast<std::size_t>(b)] = s;
  }
  auto to_alphabet = [&](const std::string& raw) {
    std::string s;
    for (char c : raw) s += alphabet[static_cast<unsigned char>(c)];
    return s;
  };
  json vocab = json::object();
  std::vector<std::string> by_id;
  auto add = [&](const std::string& token) {
    if (vocab.contains(token)) return;
    vocab[token] = by_id.size();
    by_id.push_back(token);
  };
  for (const auto& a : alphabet) add(a);
  json merge_list = json::array();
  for (std::size_t i = 0; i < merges.size(); ++i) {
    std::string a = to_alphabet(merges[i].first), b = to_alphabet(merges[i].second);
    if (!vocab.contains(a) || !vocab.contains(b))
      throw InputError(fmt::format("write_byte_level_tokenizer: merge {} (\"{}\", \"{}\") uses a token that no "
                                   "earlier merge or byte produces",
                                   i, merges[i].first, merges[i].second));
    add(a + b);
    merge_list.push_back(json::array({a, b}));
  }
  json added = json::array();
  int next_id = static_cast<int>(by_id.size());
  for (const auto& s : special_tokens)
    added.push_back({{"id", next_id++}, {"content", s}, {"single_word", false}, {"lstrip", false},
                     {"rstrip", false}, {"normalized", false}, {"special", true}});
  json byte_level = {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true}, {"use_regex", true}};
  json tokenizer = {{"version", "1.0"},
                    {"truncation", nullptr},
                    {"padding", nullptr},
                    {"added_tokens", added},
                    {"normalizer", nullptr},
                    {"pre_tokenizer", byte_level},
                    {"post_processor", byte_level},
                    {"decoder", byte_level},
                    {"model",
                     {{"type", "BPE"},
                      {"dropout", nullptr},
                      {"unk_token", nullptr},
                      {"continuing_subword_prefix", nullptr},
                      {"end_of_word_suffix", nullptr},
                      {"fuse_unk", false},
                      {"byte_fallback", false},
                      {"ignore_merges", false},
                      {"vocab", vocab},
                      {"merges", merge_list}}}};
  json config = {{"tokenizer_class", "PreTrainedTokenizerFast"}, {"add_bos_token", false},
                 {"clean_up_tokenization_spaces", false}, {"model_max_length", 1 << 20}};
  const char* roles[] = {"bos_token", "eos_token", "pad_token"};
  for (std::size_t i = 0; i < special_tokens.size() && i < 3; ++i) config[roles[i]] = special_tokens[i];
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  for (const auto& [name, content] : {std::pair{"tokenizer.json", &tokenizer}, std::pair{"tokenizer_config.json", &config}}) {
    std::ofstream out(dir / name, std::ios::binary);
    out << content->dump(2) << "\n";
    if (!out) throw std::runtime_error((dir / name).string() + ": cannot write the file");
  }
}

}  // namespace r1
