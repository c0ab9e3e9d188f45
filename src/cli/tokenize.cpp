#include <fstream>
#include <iostream>
#include <memory>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "r1/cli/commands.h"
#include "r1/core/error.h"
#include "r1/core/hub.h"
#include "r1/core/output_file.h"
#include "r1/tokenizer/tokenizer.h"

namespace r1::cli {

namespace {

using json = nlohmann::json;

struct TokenizeOptions {
  std::string tokenizer;
  std::string text;
  std::string input;
  bool decode = false;
  bool add_special_tokens = false;
  bool skip_special_tokens = false;
};

void print(OutputFile& out, const std::string& text, const std::vector<int>& ids) {
  nlohmann::ordered_json line = {{"text", text}, {"ids", ids}};
  out.write(line.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n");
}

// A --decode input line: a JSON array of ids or an object with "ids".
std::vector<int> parse_ids(const std::string& line, const std::string& where) {
  json j;
  try {
    j = json::parse(line);
  } catch (const json::exception& e) {
    throw InputError(where + ": not JSON (expected [ids...] or {\"ids\": [...]}): " + e.what());
  }
  if (j.is_object() && j.contains("ids")) j = j["ids"];
  if (!j.is_array()) throw InputError(where + ": expected a JSON array of token ids or an object with \"ids\"");
  std::vector<int> ids;
  for (const auto& v : j) {
    if (!v.is_number_integer()) throw InputError(where + ": token ids must be integers, got " + v.dump());
    const bool in_range = v.is_number_unsigned() ? v.get<uint64_t>() <= static_cast<uint64_t>(INT32_MAX)
                                                 : v.get<int64_t>() >= 0;
    if (!in_range) throw InputError(where + ": token id " + v.dump() + " is out of range (ids are 0 .. vocab size - 1)");
    ids.push_back(v.get<int>());
  }
  return ids;
}

int run_tokenize(const TokenizeOptions& o) {
  auto tok = Tokenizer::load(resolve_model_dir(o.tokenizer));
  if (!o.input.empty() && std::filesystem::is_directory(o.input))
    throw InputError("--input " + o.input + ": is a directory; give a text file (one input per line)");
  OutputFile out = OutputFile::standard_output();
  auto handle = [&](const std::string& line, const std::string& where) {
    if (o.decode) {
      std::vector<int> ids = parse_ids(line, where);
      try {
        print(out, tok->decode(ids, o.skip_special_tokens), ids);
      } catch (const InputError& e) {
        throw InputError(where + ": " + e.what());
      }
    } else {
      print(out, line, tok->encode(line, o.add_special_tokens));
    }
  };
  if (!o.input.empty()) {
    std::ifstream in(o.input, std::ios::binary);
    if (!in) throw InputError("--input " + o.input + ": cannot read the file");
    std::string line;
    for (std::size_t n = 1; std::getline(in, line); ++n) {
      if (o.decode && line.find_first_not_of(" \t\r") == std::string::npos) continue;
      handle(line, fmt::format("{}:{}", o.input, n));
    }
  } else {
    handle(o.text, "--text");
  }
  return kExitOk;
}

}  // namespace

void add_tokenize_command(CLI::App& app, Action& action) {
  auto* sub = app.add_subcommand(
      "tokenize", "Encode text to token ids (one JSON object {\"text\", \"ids\"} per input line), or decode with --decode");
  auto o = std::make_shared<TokenizeOptions>();
  sub->add_option("--tokenizer", o->tokenizer, "Directory holding tokenizer.json or tokenizer.model")->required();
  auto* text = sub->add_option("--text", o->text, "Text to encode (with --decode: a JSON array of ids)");
  auto* input = sub->add_option("--input", o->input, "File to encode line by line (with --decode: one JSON array "
                                                     "of ids or object with \"ids\" per line)");
  text->excludes(input);
  input->excludes(text);
  sub->add_flag("--decode", o->decode, "Decode ids to text instead of encoding");
  sub->add_flag("--add-special-tokens", o->add_special_tokens, "Prepend the bos token when the tokenizer asks for it");
  sub->add_flag("--skip-special-tokens", o->skip_special_tokens, "With --decode: leave special tokens out");
  sub->callback([&action, o, text, input] {
    if (text->count() == 0 && input->count() == 0) throw CLI::ValidationError("tokenize", "give --text or --input");
    action = [o] { return run_tokenize(*o); };
  });
}

}  // namespace r1::cli
