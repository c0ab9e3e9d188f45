// Reference token ids from @huggingface/tokenizers (the JS port of Hugging Face tokenizers),
// for the C++ tests and scripts/bench_tokenizer.sh to compare against.
//
//   node tests/tokenizer_reference.mjs encode TOKENIZER_DIR TEXT_FILE
//     prints {"lines": [[ids of line 1], ...], "whole": [ids of the whole file]}
//   node tests/tokenizer_reference.mjs decode TOKENIZER_DIR IDS_JSON_FILE
//     IDS_JSON_FILE holds [[ids], ...]; prints ["text", ...]
//   node tests/tokenizer_reference.mjs bench TOKENIZER_DIR TEXT_FILE
//     encodes every line; prints {"bytes": N, "seconds": S, "tokens": T} (encode time only)
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Tokenizer } from "@huggingface/tokenizers";

const [mode, dir, file] = process.argv.slice(2);
if (!mode || !dir || !file) {
  console.error("usage: node tokenizer_reference.mjs encode|decode|bench TOKENIZER_DIR FILE");
  process.exit(2);
}
const readJson = (p) => JSON.parse(readFileSync(p, "utf8"));
let config = {};
try {
  config = readJson(join(dir, "tokenizer_config.json"));
} catch {}
const tokenizer = new Tokenizer(readJson(join(dir, "tokenizer.json")), config);
const encode = (text) => tokenizer.encode(text, { add_special_tokens: false }).ids;

if (mode === "decode") {
  const texts = readJson(file).map((ids) =>
    ids.length === 0 ? "" : tokenizer.decode(ids, { skip_special_tokens: false, clean_up_tokenization_spaces: false }),
  );
  process.stdout.write(JSON.stringify(texts) + "\n");
} else {
  const whole = readFileSync(file, "utf8");
  const lines = whole.split("\n");
  if (lines.length > 0 && lines[lines.length - 1] === "") lines.pop();
  if (mode === "bench") {
    const start = process.hrtime.bigint();
    let tokens = 0;
    for (const line of lines) tokens += encode(line).length;
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    process.stdout.write(JSON.stringify({ bytes: Buffer.byteLength(whole), seconds, tokens }) + "\n");
  } else {
    process.stdout.write(JSON.stringify({ lines: lines.map(encode), whole: encode(whole) }) + "\n");
  }
}
