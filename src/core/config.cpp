// The config's field list and everything driven by it: key listing, YAML parsing with file:line
// errors, --set, value rules, emitting and the run-defining lines. Over 600 lines on purpose: every
// part is a visitor over the same private field list; split, the list would have to move to a header.
#include "r1/core/config.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <fstream>
#include <set>
#include <sstream>
#include <string_view>

#include "r1/core/error.h"
#include "r1/core/text_distance.h"

namespace r1 {

// Which runs a setting defines (what resume compares): a section names the commands whose results it
// alters; a field inherits its section's, or is kFree (logging, checkpointing, device, memory
// batching: may change on resume).
constexpr unsigned kFree = 0, kDefinesGrpo = 1, kDefinesSft = 2, kDefinesAll = kDefinesGrpo | kDefinesSft;

// Which rewards read a reward-specific field: one bit per RewardKind. A key set on a reward that
// does not read it is refused, and the emitter prints a reward's keys only where they are set.
using RewardMask = unsigned;
constexpr RewardMask kAllRewards = ~0u;
constexpr RewardMask read_by(std::initializer_list<RewardKind> kinds) {
  RewardMask m = 0;
  for (RewardKind k : kinds) m |= 1u << static_cast<unsigned>(k);
  return m;
}

// Every field of every section, once. The same lists drive parsing, printing, the key listing and
// the run-defining lines, so a new field is one line here plus its struct member.
template <class V>
void visit(V& v, ModelConfig& c) {
  v("path", c.path);
  v("dtype", c.dtype);
  v("device", c.device, kFree);
}

template <class V>
void visit(V& v, DataConfig& c) {
  v("train", c.train);
  v("prompt_field", c.prompt_field);
  v("answer_field", c.answer_field);
  v("template", c.template_);
  v("shuffle", c.shuffle);
}

template <class V>
void visit(V& v, RolloutConfig& c) {
  v("group_size", c.group_size);
  v("max_new_tokens", c.max_new_tokens);
  v("temperature", c.temperature);
  v("top_p", c.top_p);
  v("top_k", c.top_k);
  v("min_p", c.min_p);
  v("repetition_penalty", c.repetition_penalty);
  v("stop", c.stop);
  v("batch_size", c.batch_size, kFree);
}

template <class V>
void visit(V& v, RewardConfig& c) {
  using K = RewardKind;
  v("name", c.name);
  v("weight", c.weight);
  v("mode", c.mode, kDefinesAll, read_by({K::Format, K::Gsm8k, K::Cosine}));
  v("pattern", c.pattern, kDefinesAll, read_by({K::Regex}));
  v("command", c.command, kDefinesAll, read_by({K::Command}));
  v("timeout_s", c.timeout_s, kDefinesAll, read_by({K::Command}));
  v("default_score", c.default_score, kDefinesAll, read_by({K::Command}));
  v("on_error", c.on_error, kDefinesAll, read_by({K::Command}));
  v("format_score", c.format_score, kDefinesAll, read_by({K::Countdown}));
  v("buffer", c.buffer, kDefinesAll, read_by({K::Overlong}));
  v("penalty", c.penalty, kDefinesAll, read_by({K::Overlong}));
  v("max_len", c.max_len, kDefinesAll, read_by({K::Overlong, K::Cosine}));
  v("min_value_wrong", c.min_value_wrong, kDefinesAll, read_by({K::Cosine}));
  v("max_value_wrong", c.max_value_wrong, kDefinesAll, read_by({K::Cosine}));
  v("min_value_correct", c.min_value_correct, kDefinesAll, read_by({K::Cosine}));
  v("max_value_correct", c.max_value_correct, kDefinesAll, read_by({K::Cosine}));
  v("ngram", c.ngram, kDefinesAll, read_by({K::Repetition}));
  v("max_penalty", c.max_penalty, kDefinesAll, read_by({K::Repetition}));
}

template <class V>
void visit(V& v, GrpoConfig& c) {
  v("loss_type", c.loss_type);
  v("epsilon", c.epsilon);
  v("epsilon_high", c.epsilon_high);
  v("beta", c.beta);
  v("kl_estimator", c.kl_estimator);
  v("num_iterations", c.num_iterations);
  v("scale_rewards", c.scale_rewards);
  v("mask_truncated_completions", c.mask_truncated_completions);
  v("dynamic_sampling", c.dynamic_sampling);
  v("max_refill_rounds", c.max_refill_rounds);
  v("importance_sampling_level", c.importance_sampling_level);
  v("sapo_temperature_pos", c.sapo_temperature_pos);
  v("sapo_temperature_neg", c.sapo_temperature_neg);
  v("clip_ratio_c", c.clip_ratio_c);
  v("delta", c.delta);
  v("advantage", c.advantage);
  v("top_entropy_quantile", c.top_entropy_quantile);
  v("entropy_coef", c.entropy_coef);
  v("reward_aggregation", c.reward_aggregation);
  v("rollout_correction", c.rollout_correction);
  v("rollout_correction_cap", c.rollout_correction_cap);
  v("ref_sync_every", c.ref_sync_every);
  v("ref_mixup_alpha", c.ref_mixup_alpha);
}

template <class V>
void visit(V& v, OptimConfig& c) {
  v("lr", c.lr);
  v("weight_decay", c.weight_decay);
  v("betas", c.betas);
  v("eps", c.eps);
  v("warmup_steps", c.warmup_steps);
  v("schedule", c.schedule);
  v("max_grad_norm", c.max_grad_norm);
}

template <class V>
void visit(V& v, TrainConfig& c) {
  v("steps", c.steps, kFree);
  v("prompts_per_step", c.prompts_per_step);
  v("micro_batch_size", c.micro_batch_size, kFree);
  v("gradient_checkpointing", c.gradient_checkpointing, kFree);
  v("seed", c.seed);
  v("output_dir", c.output_dir, kFree);
  v("checkpoint_every", c.checkpoint_every, kFree);
  v("keep_last", c.keep_last, kFree);
  v("log_samples_every", c.log_samples_every, kFree);
  v("threads", c.threads, kFree);
}

template <class V>
void visit(V& v, LoraConfig& c) {
  v("r", c.r);
  v("alpha", c.alpha);
  v("dropout", c.dropout);
  v("target_modules", c.target_modules);
  v("use_rslora", c.use_rslora);
  v("adapter_path", c.adapter_path);
  v("save_merged", c.save_merged, kFree);
}

template <class V>
void visit(V& v, DistConfig& c) {
  v("backend", c.backend);
  v("timeout_s", c.timeout_s);
  v("shard_optimizer", c.shard_optimizer);
}

template <class V>
void visit(V& v, EvalConfig& c) {
  v("data", c.data);
  v("task", c.task);
  v("every", c.every);
  v("num_samples", c.num_samples);
  v("max_problems", c.max_problems);
}

template <class V>
void visit(V& v, SftConfig& c) {
  v("data", c.data);
  v("text_field", c.text_field);
  v("prompt_field", c.prompt_field);
  v("completion_field", c.completion_field);
  v("completion_only_loss", c.completion_only_loss);
  v("add_eos", c.add_eos);
  v("init", c.init);
  v("epochs", c.epochs);
  v("batch_size", c.batch_size);
  v("micro_batch_size", c.micro_batch_size, kFree);
  v("max_length", c.max_length);
  v("lr", c.lr);
  v("weight_decay", c.weight_decay);
  v("warmup_steps", c.warmup_steps);
  v("schedule", c.schedule);
  v("seed", c.seed);
  v("output_dir", c.output_dir, kFree);
  v("save_every", c.save_every, kFree);
  v("keep_last", c.keep_last, kFree);
  v("log_every", c.log_every, kFree);
}

template <class V>
void visit(V& v, Config& c) {
  v("model", c.model, kDefinesAll);
  v("data", c.data, kDefinesGrpo);
  v("rollout", c.rollout, kDefinesGrpo);
  v("rewards", c.rewards, kDefinesGrpo);
  v("grpo", c.grpo, kDefinesGrpo);
  v("optim", c.optim, kDefinesAll);  // sft takes betas, eps and max_grad_norm from here
  v("train", c.train, kDefinesGrpo);
  v("eval", c.eval, kFree);
  v("sft", c.sft, kDefinesSft);
  v("lora", c.lora, kDefinesGrpo);
  v("dist", c.dist, kFree);
}

namespace {

// ---- key listing ------------------------------------------------------------

struct KeyLister {
  std::string prefix;
  std::vector<std::string>* out;
  template <class T>
  void operator()(const char* key, T& ref, unsigned = kDefinesAll, RewardMask = kAllRewards) {
    if constexpr (std::is_class_v<T> && !std::is_same_v<T, std::string> &&
                  !std::is_same_v<T, std::vector<std::string>> &&
                  !std::is_same_v<T, std::vector<double>> &&
                  !std::is_same_v<T, std::vector<RewardConfig>>) {
      KeyLister sub{prefix + key + ".", out};
      visit(sub, ref);
    } else if constexpr (std::is_same_v<T, std::vector<RewardConfig>>) {
      RewardConfig r;
      KeyLister sub{prefix + key + "[].", out};
      visit(sub, r);
    } else {
      out->push_back(prefix + key);
    }
  }
};

// ---- parsing ------------------------------------------------------------------

// Collects problems, each prefixed with where it came from.
struct Reporter {
  const ConfigSource* source;
  std::vector<std::pair<std::string, std::string>> overrides;  // key path, raw "k=v"
  std::vector<std::string> problems;

  std::string origin(const std::string& path, const YAML::Mark& mark) const {
    for (const auto& [key, raw] : overrides) {
      if (path == key || path.rfind(key + ".", 0) == 0 || path.rfind(key + "[", 0) == 0) {
        return "--set " + raw;
      }
    }
    std::string file = source->file.empty() ? "<defaults>" : source->file.string();
    if (mark.is_null()) return file;
    return fmt::format("{}:{}:{}", file, mark.line + 1, mark.column + 1);
  }
  void add(const std::string& path, const YAML::Mark& mark, const std::string& msg) {
    problems.push_back(fmt::format("{}: {}: {}", origin(path, mark), path, msg));
  }
};

std::string describe(const YAML::Node& n) {
  if (n.IsNull()) return "nothing";
  if (n.IsSequence()) return "a list";
  if (n.IsMap()) return "a section (map)";
  return "'" + n.Scalar() + "'";
}

bool parse_value(const YAML::Node& n, std::string& out) {
  if (!n.IsScalar()) return false;
  out = n.Scalar();
  return true;
}

bool parse_value(const YAML::Node& n, int& out) {
  if (!n.IsScalar()) return false;
  const std::string& s = n.Scalar();
  long long v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || ptr != s.data() + s.size()) return false;
  if (v < INT32_MIN || v > INT32_MAX) return false;
  out = static_cast<int>(v);
  return true;
}

bool parse_value(const YAML::Node& n, double& out) {
  if (!n.IsScalar()) return false;
  const std::string& s = n.Scalar();
  if (s.empty()) return false;
  char* end = nullptr;
  double v = std::strtod(s.c_str(), &end);
  if (end != s.c_str() + s.size() || !std::isfinite(v)) return false;
  out = v;
  return true;
}

bool parse_value(const YAML::Node& n, bool& out) {
  if (!n.IsScalar()) return false;
  std::string s = n.Scalar();
  std::transform(s.begin(), s.end(), s.begin(), ::tolower);
  if (s == "true" || s == "yes" || s == "on") {
    out = true;
  } else if (s == "false" || s == "no" || s == "off") {
    out = false;
  } else {
    return false;
  }
  return true;
}

template <class E>
  requires std::is_enum_v<E>
bool parse_value(const YAML::Node& n, E& out) {
  if (!n.IsScalar()) return false;
  auto v = parse_option<E>(n.Scalar());
  if (v) out = *v;
  return v.has_value();
}

template <class T>
std::string type_name() {
  if constexpr (std::is_enum_v<T>) return "one of " + option_list<T>(", ");
  if constexpr (std::is_same_v<T, std::string>) return "a string";
  if constexpr (std::is_same_v<T, int>) return "an integer";
  if constexpr (std::is_same_v<T, double>) return "a number";
  if constexpr (std::is_same_v<T, bool>) return "true or false";
  return "a value";
}

struct Parser {
  Reporter* rep;
  YAML::Node node;  // the map being read
  std::string prefix;
  std::vector<std::string> known;

  template <class T>
  void operator()(const char* key, T& ref, unsigned = kDefinesAll, RewardMask = kAllRewards) {
    known.emplace_back(key);
    const YAML::Node n = node[key];
    if (!n) return;
    std::string path = prefix + key;
    if constexpr (std::is_same_v<T, std::vector<std::string>>) {
      parse_list(n, path, ref);
    } else if constexpr (std::is_same_v<T, std::vector<double>>) {
      parse_list(n, path, ref);
    } else if constexpr (std::is_same_v<T, std::vector<RewardConfig>>) {
      parse_rewards(n, path, ref);
    } else if constexpr (std::is_class_v<T> && !std::is_same_v<T, std::string>) {
      if (n.IsNull()) return;  // an empty section keeps its defaults
      if (!n.IsMap()) {
        rep->add(path, n.Mark(), "expected a section (map of keys), got " + describe(n));
        return;
      }
      Parser sub{rep, n, path + ".", {}};
      visit(sub, ref);
      sub.finish();
    } else if constexpr (std::is_enum_v<T>) {
      if (parse_value(n, ref)) return;
      rep->add(path, n.Mark(),
               n.IsScalar() ? unknown_option_message<T>(n.Scalar())
                            : fmt::format("expected {}, got {}", type_name<T>(), describe(n)));
    } else {
      if (!parse_value(n, ref)) {
        rep->add(path, n.Mark(), fmt::format("expected {}, got {}", type_name<T>(), describe(n)));
      }
    }
  }

  template <class T>
  void parse_list(const YAML::Node& n, const std::string& path, std::vector<T>& out) {
    std::vector<T> items;
    if (n.IsScalar() && std::is_same_v<T, std::string>) {  // a single string is a list of one
      T v{};
      parse_value(n, v);
      out = {v};
      return;
    }
    if (!n.IsSequence()) {
      rep->add(path, n.Mark(), fmt::format("expected a list of {}s, got {}",
                                           std::is_same_v<T, double> ? "number" : "string",
                                           describe(n)));
      return;
    }
    for (std::size_t i = 0; i < n.size(); ++i) {
      T v{};
      if (!parse_value(n[i], v)) {
        rep->add(fmt::format("{}[{}]", path, i), n[i].Mark(),
                 fmt::format("expected {}, got {}", type_name<T>(), describe(n[i])));
        return;
      }
      items.push_back(v);
    }
    out = items;
  }

  void parse_rewards(const YAML::Node& n, const std::string& path, std::vector<RewardConfig>& out) {
    if (!n.IsSequence()) {
      rep->add(path, n.Mark(),
               "expected a list of {name, weight} entries, e.g. [{name: format, weight: 1.0}], got " +
                   describe(n));
      return;
    }
    std::vector<RewardConfig> items;
    for (std::size_t i = 0; i < n.size(); ++i) {
      std::string ipath = fmt::format("{}[{}]", path, i);
      RewardConfig r;
      if (n[i].IsScalar()) {  // "- math" is shorthand for {name: math}
        if (!parse_value(n[i], r.name))
          rep->add(ipath + ".name", n[i].Mark(), unknown_option_message<RewardKind>(n[i].Scalar()));
      } else if (n[i].IsMap()) {
        Parser sub{rep, n[i], ipath + ".", {}};
        visit(sub, r);
        sub.finish();
        if (!n[i]["name"]) rep->add(ipath + ".name", n[i].Mark(), "missing; every reward needs a name");
      } else {
        rep->add(ipath, n[i].Mark(), "expected {name: NAME, weight: W}, got " + describe(n[i]));
        continue;
      }
      items.push_back(r);
    }
    out = items;
  }

  // Reports keys present in the node that no field claimed.
  void finish() {
    std::map<std::string, YAML::Mark> first_seen;
    for (auto it = node.begin(); it != node.end(); ++it) {
      std::string key = it->first.Scalar();
      auto [pos, inserted] = first_seen.emplace(key, it->first.Mark());
      if (!inserted) {
        rep->add(prefix + key, it->first.Mark(),
                 fmt::format("duplicate key (first at line {}); merge the two", pos->second.line + 1));
        continue;
      }
      if (std::find(known.begin(), known.end(), key) != known.end()) continue;
      std::string path = prefix + key;
      std::string hint = closest(key, known);
      if (hint.empty()) {
        // Maybe the key belongs to another section: train.lr -> optim.lr.
        for (const auto& full : config_keys()) {
          auto dot = full.rfind('.');
          if (full.substr(dot + 1) == key) {
            hint = full;  // the first section that has it: optim.lr before sft.lr
            break;
          }
        }
      } else {
        hint = prefix + hint;
      }
      rep->add(path, it->first.Mark(),
               "unknown key" + (hint.empty() ? std::string("; valid keys here: ") + join(known)
                                             : "; did you mean '" + hint + "'?"));
    }
  }

  static std::string join(const std::vector<std::string>& v) {
    std::string s;
    for (const auto& k : v) s += (s.empty() ? "" : ", ") + k;
    return s;
  }
};

// ---- printing -----------------------------------------------------------------

std::string format_double(double d) { return fmt::format("{}", d); }

// A reward field's value as printed, to tell a set key from its default.
template <class T>
std::string scalar_text(const T& ref) {
  if constexpr (std::is_same_v<T, std::string>) return ref;
  else if constexpr (std::is_enum_v<T>) return std::string(option_name(ref));
  else if constexpr (std::is_same_v<T, double>) return format_double(ref);
  else if constexpr (std::is_same_v<T, bool>) return ref ? "true" : "false";
  else return std::to_string(ref);
}

// The default RewardConfig's values as printed, in visit order.
const std::vector<std::string>& reward_default_texts() {
  static const std::vector<std::string> texts = [] {
    std::vector<std::string> out;
    RewardConfig d;
    auto collect = [&](const char*, auto& ref, unsigned = kDefinesAll, RewardMask = kAllRewards) {
      out.push_back(scalar_text(ref));
    };
    visit(collect, d);
    return out;
  }();
  return texts;
}

struct Emitter {
  YAML::Emitter* out;
  unsigned runs = kDefinesAll;  // emit only settings that define these runs (all: the whole config)
  bool only_defining = false;
  bool reward_entry = false;    // inside a reward: name and weight always, other keys only when set
  std::size_t field = 0;        // reward_entry: the field's position in visit order

  template <class T>
  void operator()(const char* key, T& ref, unsigned defines = kDefinesAll, RewardMask = kAllRewards) {
    if (only_defining && (defines & runs) == 0) return;
    const bool always = std::string_view(key) == "name" || std::string_view(key) == "weight";
    if constexpr (std::is_same_v<T, std::string> || std::is_enum_v<T> || std::is_arithmetic_v<T>) {
      if (reward_entry && !always && scalar_text(ref) == reward_default_texts()[field++]) return;
      if (reward_entry && always) ++field;
    }
    *out << YAML::Key << key << YAML::Value;
    if constexpr (std::is_same_v<T, std::string>) {
      *out << YAML::DoubleQuoted << ref;
    } else if constexpr (std::is_enum_v<T>) {
      if (reward_entry && always) *out << option_name(ref);  // {name: math, ...}
      else *out << YAML::DoubleQuoted << option_name(ref);
    } else if constexpr (std::is_same_v<T, double>) {
      *out << format_double(ref);
    } else if constexpr (std::is_same_v<T, int> || std::is_same_v<T, bool>) {
      *out << ref;
    } else if constexpr (std::is_same_v<T, std::vector<std::string>>) {
      *out << YAML::Flow << YAML::BeginSeq;
      for (const auto& s : ref) *out << YAML::DoubleQuoted << s;
      *out << YAML::EndSeq;
    } else if constexpr (std::is_same_v<T, std::vector<double>>) {
      *out << YAML::Flow << YAML::BeginSeq;
      for (double d : ref) *out << format_double(d);
      *out << YAML::EndSeq;
    } else if constexpr (std::is_same_v<T, std::vector<RewardConfig>>) {
      *out << YAML::BeginSeq;
      for (auto& r : ref) {
        *out << YAML::Flow << YAML::BeginMap;
        Emitter entry{out, runs & defines, only_defining, /*reward_entry=*/true};
        visit(entry, r);
        *out << YAML::EndMap;
      }
      *out << YAML::EndSeq;
    } else {
      *out << YAML::BeginMap;
      Emitter sub{out, runs & defines, only_defining};
      visit(sub, ref);
      *out << YAML::EndMap;
    }
  }
};

// ---- --set --------------------------------------------------------------------

// Applies "a.b.c=value" to the YAML tree; returns the key path or reports a problem.
std::optional<std::string> apply_override(YAML::Node& root, const std::string& raw, Reporter& rep) {
  auto eq = raw.find('=');
  if (eq == std::string::npos || eq == 0) {
    rep.problems.push_back("--set " + raw + ": expected KEY=VALUE, e.g. --set optim.lr=1e-6");
    return std::nullopt;
  }
  std::string key = raw.substr(0, eq);
  std::string value = raw.substr(eq + 1);
  std::vector<std::string> parts;
  std::stringstream ss(key);
  for (std::string p; std::getline(ss, p, '.');) parts.push_back(p);
  if (std::any_of(parts.begin(), parts.end(), [](const auto& p) { return p.empty(); })) {
    rep.problems.push_back("--set " + raw + ": malformed key path '" + key + "'");
    return std::nullopt;
  }
  YAML::Node parsed;
  try {
    parsed = YAML::Load(value);
  } catch (const YAML::Exception& e) {
    rep.problems.push_back("--set " + raw + ": value is not valid YAML: " + e.msg);
    return std::nullopt;
  }
  if (!root.IsMap()) root = YAML::Node(YAML::NodeType::Map);
  YAML::Node cur = root;
  for (std::size_t i = 0; i + 1 < parts.size(); ++i) {
    YAML::Node next;
    bool index = !parts[i].empty() && std::all_of(parts[i].begin(), parts[i].end(), ::isdigit);
    if (cur.IsSequence() && index) {
      std::size_t k = 0;
      const auto [end, ec] = std::from_chars(parts[i].data(), parts[i].data() + parts[i].size(), k);
      if (ec != std::errc() || end != parts[i].data() + parts[i].size() || k >= cur.size()) {
        rep.problems.push_back(fmt::format("--set {}: index {} is past the end of the list ({} entries)",
                                           raw, parts[i], cur.size()));
        return std::nullopt;
      }
      next.reset(cur[k]);
    } else if (cur.IsMap() || cur.IsNull()) {
      if (cur.IsNull()) cur = YAML::Node(YAML::NodeType::Map);
      next.reset(cur[parts[i]]);
      if (!next.IsDefined() || next.IsNull()) {
        cur[parts[i]] = YAML::Node(YAML::NodeType::Map);
        next.reset(cur[parts[i]]);
      }
    } else {
      rep.problems.push_back("--set " + raw + ": '" + parts[i] + "' is not a section");
      return std::nullopt;
    }
    cur.reset(next);
  }
  const std::string& last = parts.back();
  if (cur.IsSequence()) {
    rep.problems.push_back("--set " + raw + ": cannot set a list entry by key; use an index, e.g. rewards.0.weight=2");
    return std::nullopt;
  }
  if (!cur.IsMap() && !cur.IsNull()) {
    rep.problems.push_back("--set " + raw + ": the parent of '" + last + "' is not a section");
    return std::nullopt;
  }
  cur[last] = parsed;
  // Sequence indices in the key become "[i]" in error paths: rewards.0.weight -> rewards[0].weight.
  std::string path;
  for (const auto& p : parts) {
    bool index = std::all_of(p.begin(), p.end(), ::isdigit);
    path += index ? "[" + p + "]" : (path.empty() ? "" : ".") + p;
  }
  return path;
}

// ---- value rules ----------------------------------------------------------------

struct Rules {
  Reporter* rep;
  const YAML::Node* root;

  // Finds where the user wrote "a.b[2].c" in the YAML tree (null mark if nowhere).
  YAML::Mark mark_of(const std::string& path) const {
    std::vector<std::string> tokens;
    std::string token;
    for (char ch : path + ".") {
      if (ch == '.' || ch == '[' || ch == ']') {
        if (!token.empty()) tokens.push_back(token);
        token.clear();
      } else {
        token += ch;
      }
    }
    YAML::Mark mark = YAML::Mark::null_mark();
    try {
      std::vector<YAML::Node> chain{*root};
      for (const auto& t : tokens) {
        const YAML::Node& cur = chain.back();
        bool index = std::all_of(t.begin(), t.end(), ::isdigit);
        std::optional<YAML::Node> next;
        std::size_t k = 0;
        const bool small = index && std::from_chars(t.data(), t.data() + t.size(), k).ec == std::errc();
        if (cur.IsSequence() && small && k < cur.size()) {
          next.emplace(cur[k]);
        } else if (cur.IsMap() && cur[t]) {
          next.emplace(cur[t]);
        } else {
          break;
        }
        mark = next->Mark();
        chain.push_back(*next);
      }
    } catch (const YAML::Exception&) {
      return mark;
    }
    return mark;
  }

  void fail(const std::string& path, const std::string& msg) { rep->add(path, mark_of(path), msg); }

  void check(bool ok, const std::string& path, const std::string& msg) {
    if (!ok) fail(path, msg);
  }

  // A string option whose meaning depends on another key (a reward's mode).
  template <class E>
  void choice(const std::string& value, const std::string& path) {
    if (!parse_option<E>(value)) fail(path, unknown_option_message<E>(value));
  }
};

bool valid_device(const std::string& d) {
  if (d == "auto" || d == "cpu" || d == "cuda") return true;
  if (d.rfind("cuda:", 0) != 0 || d.size() == 5) return false;
  return std::all_of(d.begin() + 5, d.end(), ::isdigit);
}

void check_values(const Config& c, ConfigUse use, Rules& r) {
  r.check(!(c.model.dtype == Dtype::Float16 && c.model.device == "cpu"), "model.dtype",
          "float16 does not run on the CPU (libtorch has no float16 matrix multiply there); use float32 or bfloat16");
  r.check(valid_device(c.model.device), "model.device",
          "unknown device '" + c.model.device + "'; use auto, cpu, cuda or cuda:N");

  const bool named = parse_option<TemplateName>(c.data.template_).has_value();
  r.check(named || c.data.template_.find("{prompt}") != std::string::npos ||
              c.data.template_.find("{question}") != std::string::npos,
          "data.template",
          "'" + c.data.template_ + "' is neither one of " + option_list<TemplateName>(", ") +
              " nor a string containing {prompt}");
  r.check(!c.data.prompt_field.empty(), "data.prompt_field", "must not be empty");
  r.check(!c.data.answer_field.empty(), "data.answer_field", "must not be empty");

  const auto& ro = c.rollout;
  r.check(ro.group_size >= 2, "rollout.group_size",
          fmt::format("is {}; GRPO compares completions within a group, so it needs at least 2", ro.group_size));
  r.check(ro.max_new_tokens >= 1, "rollout.max_new_tokens", fmt::format("is {}; must be >= 1", ro.max_new_tokens));
  r.check(ro.temperature >= 0, "rollout.temperature", fmt::format("is {}; must be >= 0 (0 = greedy)", ro.temperature));
  r.check(ro.top_p > 0 && ro.top_p <= 1, "rollout.top_p", fmt::format("is {}; must be in (0, 1]", ro.top_p));
  r.check(ro.top_k >= 0, "rollout.top_k", fmt::format("is {}; must be >= 0 (0 = off)", ro.top_k));
  r.check(ro.min_p >= 0 && ro.min_p < 1, "rollout.min_p", fmt::format("is {}; must be in [0, 1)", ro.min_p));
  r.check(ro.repetition_penalty > 0, "rollout.repetition_penalty",
          fmt::format("is {}; must be > 0 (1 = off)", ro.repetition_penalty));
  r.check(ro.batch_size >= ro.group_size, "rollout.batch_size",
          fmt::format("is {} but rollout.group_size is {}; a prompt's group is decoded together, so "
                      "batch_size must be >= group_size",
                      ro.batch_size, ro.group_size));
  for (std::size_t i = 0; i < ro.stop.size(); ++i) {
    r.check(!ro.stop[i].empty(), fmt::format("rollout.stop[{}]", i), "empty stop string");
  }

  r.check(!c.rewards.empty(), "rewards", "no rewards configured; add e.g. [{name: format}, {name: math}]");
  for (std::size_t i = 0; i < c.rewards.size(); ++i) {
    const auto& rw = c.rewards[i];
    std::string p = fmt::format("rewards[{}]", i);
    if (rw.name == RewardKind::Regex) r.check(!rw.pattern.empty(), p + ".pattern", "the regex reward needs a pattern");
    if (rw.name == RewardKind::Command) {
      r.check(!rw.command.empty(), p + ".command", "the command reward needs a program, e.g. command: python3 verify.py");
      r.check(rw.timeout_s > 0, p + ".timeout_s", "must be > 0");
    }
    if (rw.name == RewardKind::Format && !rw.mode.empty()) r.choice<FormatMode>(rw.mode, p + ".mode");
    if (rw.name == RewardKind::Gsm8k && !rw.mode.empty()) r.choice<Gsm8kMode>(rw.mode, p + ".mode");
    if (rw.name == RewardKind::Cosine && !rw.mode.empty()) r.choice<EvalTask>(rw.mode, p + ".mode");
    const int limit = rw.max_len > 0 ? rw.max_len : ro.max_new_tokens;
    if (rw.name == RewardKind::Overlong) {
      r.check(rw.buffer >= 1 && rw.buffer <= limit, p + ".buffer",
              fmt::format("is {}; the overlong reward needs the tokens before the limit ({}) where its penalty "
                          "ramps up, from 1 to {} (DAPO: 4096 of 20480)",
                          rw.buffer, limit, limit));
      r.check(rw.penalty >= 0, p + ".penalty", fmt::format("is {}; must be >= 0 (the score at the limit is -penalty)", rw.penalty));
    }
    if (rw.name == RewardKind::Overlong || rw.name == RewardKind::Cosine)
      r.check(rw.max_len >= 0, p + ".max_len", fmt::format("is {}; must be >= 0 (0 = rollout.max_new_tokens)", rw.max_len));
    if (rw.name == RewardKind::Repetition) {
      r.check(rw.ngram >= 1, p + ".ngram", fmt::format("is {}; must be >= 1 (words per n-gram)", rw.ngram));
      r.check(rw.max_penalty <= 0, p + ".max_penalty",
              fmt::format("is {}; must be <= 0 (the score of an all-repeating completion)", rw.max_penalty));
    }
    // A reward-specific key set on a reward that does not read it is a mistake (a key under the wrong
    // entry): which rewards read each key is the field's tag in visit(RewardConfig).
    RewardConfig entry = rw;
    std::size_t field = 0;
    auto check_read = [&](const char* key, auto& ref, unsigned = kDefinesAll, RewardMask readers = kAllRewards) {
      const bool set = scalar_text(ref) != reward_default_texts()[field++];
      if (!set || (readers & read_by({rw.name})) != 0) return;
      std::string names;
      for (const auto& info : option_table(RewardKind{}))
        if (readers & read_by({info.value})) names += (names.empty() ? "" : ", ") + std::string(info.name);
      r.fail(p + "." + key, fmt::format("the {} reward does not read {}; only {} do(es)", option_name(rw.name), key, names));
    };
    visit(check_read, entry);
  }

  const auto& g = c.grpo;
  r.check(g.epsilon > 0 && g.epsilon < 1, "grpo.epsilon", fmt::format("is {}; must be in (0, 1)", g.epsilon));
  r.check(g.epsilon_high > 0, "grpo.epsilon_high", fmt::format("is {}; must be > 0", g.epsilon_high));
  r.check(g.beta >= 0, "grpo.beta", fmt::format("is {}; must be >= 0 (0 = no KL term)", g.beta));
  r.check(g.num_iterations >= 1, "grpo.num_iterations", fmt::format("is {}; must be >= 1", g.num_iterations));
  r.check(g.max_refill_rounds >= 0, "grpo.max_refill_rounds", "must be >= 0");
  r.check(g.sapo_temperature_pos > 0, "grpo.sapo_temperature_pos", fmt::format("is {}; must be > 0", g.sapo_temperature_pos));
  r.check(g.sapo_temperature_neg > 0, "grpo.sapo_temperature_neg", fmt::format("is {}; must be > 0", g.sapo_temperature_neg));
  r.check(g.clip_ratio_c == 0 || g.clip_ratio_c > 1, "grpo.clip_ratio_c",
          fmt::format("is {}; must be > 1 (the dual clip's bound, verl uses 3.0) or 0 = off", g.clip_ratio_c));
  r.check(g.delta == 0 || g.delta > 1 + g.epsilon_high, "grpo.delta",
          fmt::format("is {}; must be > 1 + epsilon_high = {} (INTELLECT-2 uses 4) or 0 = off", g.delta,
                      1 + g.epsilon_high));
  r.check(g.top_entropy_quantile > 0 && g.top_entropy_quantile <= 1, "grpo.top_entropy_quantile",
          fmt::format("is {}; must be in (0, 1] (1 = every token; the 80/20 paper uses 0.2)", g.top_entropy_quantile));
  r.check(g.advantage != AdvantageEstimator::ReinforcePP || g.scale_rewards == ScaleRewards::Batch,
          "grpo.scale_rewards",
          "grpo.advantage reinforce_pp whitens the advantages over the batch: set grpo.scale_rewards: batch");
  r.check(g.reward_aggregation == RewardAggregation::SumThenNormalize ||
              (g.advantage == AdvantageEstimator::Grpo && g.scale_rewards == ScaleRewards::Group),
          "grpo.reward_aggregation",
          "normalize_then_sum normalises each reward within its group and whitens the sum over the batch (GDPO): it "
          "takes the place of grpo.advantage and grpo.scale_rewards; leave them at grpo and group");
  r.check(g.ref_sync_every >= 0, "grpo.ref_sync_every", fmt::format("is {}; must be >= 0 (0 = never)", g.ref_sync_every));
  if (g.ref_sync_every > 0) {
    r.check(g.beta > 0, "grpo.ref_sync_every",
            "refreshes the KL reference, but grpo.beta is 0 (no reference model); set grpo.beta > 0 or remove it");
    r.check(c.lora.r == 0, "grpo.ref_sync_every",
            "with LoRA the reference is the base model (adapters off), which cannot be refreshed; remove it or lora.r");
    r.check(g.ref_mixup_alpha > 0 && g.ref_mixup_alpha <= 1, "grpo.ref_mixup_alpha",
            fmt::format("is {}; must be in (0, 1] (1 = copy the policy; TRL's default is 0.6)", g.ref_mixup_alpha));
  } else {
    r.check(g.ref_mixup_alpha == GrpoConfig{}.ref_mixup_alpha, "grpo.ref_mixup_alpha",
            "is set but grpo.ref_sync_every is 0 (no refresh); set grpo.ref_sync_every (steps) too");
  }
  if (g.rollout_correction != RolloutCorrection::None) {
    r.check(g.rollout_correction_cap > 1, "grpo.rollout_correction_cap",
            fmt::format("is {}; must be > 1 (tis caps the weight there; mis keeps ratios in [1/cap, cap]; verl "
                        "uses 2.0)", g.rollout_correction_cap));
  } else {
    r.check(g.rollout_correction_cap == GrpoConfig{}.rollout_correction_cap, "grpo.rollout_correction_cap",
            "is set but grpo.rollout_correction is none; set grpo.rollout_correction: tis or mis too");
  }
  const bool clip_family = g.loss_type != LossType::Cispo && g.loss_type != LossType::Sapo;
  r.check(clip_family || (g.clip_ratio_c == 0 && g.delta == 0), "grpo.loss_type",
          "cispo and sapo have no clipped surrogate: grpo.clip_ratio_c and grpo.delta apply to grpo, bnpo, dr_grpo "
          "and dapo only");

  const auto& o = c.optim;
  r.check(o.lr >= 0, "optim.lr", fmt::format("is {}; the learning rate must be >= 0", o.lr));
  r.check(o.weight_decay >= 0, "optim.weight_decay", fmt::format("is {}; must be >= 0", o.weight_decay));
  r.check(o.betas.size() == 2, "optim.betas", fmt::format("has {} values; AdamW needs two, e.g. [0.9, 0.99]", o.betas.size()));
  for (std::size_t i = 0; i < o.betas.size(); ++i) {
    r.check(o.betas[i] >= 0 && o.betas[i] < 1, fmt::format("optim.betas[{}]", i),
            fmt::format("is {}; must be in [0, 1)", o.betas[i]));
  }
  r.check(o.eps > 0, "optim.eps", "must be > 0");
  r.check(o.warmup_steps >= 0, "optim.warmup_steps", "must be >= 0");
  r.check(o.max_grad_norm >= 0, "optim.max_grad_norm", "must be >= 0 (0 = no clipping)");

  const auto& t = c.train;
  r.check(t.steps >= 1, "train.steps", fmt::format("is {}; must be >= 1", t.steps));
  r.check(t.prompts_per_step >= 1, "train.prompts_per_step", fmt::format("is {}; must be >= 1", t.prompts_per_step));
  r.check(t.micro_batch_size >= 1, "train.micro_batch_size", fmt::format("is {}; must be >= 1", t.micro_batch_size));
  r.check(t.checkpoint_every >= 0, "train.checkpoint_every", "must be >= 0 (0 = only at the end)");
  r.check(t.keep_last >= 0, "train.keep_last", "must be >= 0 (0 = keep all)");
  r.check(t.log_samples_every >= 0, "train.log_samples_every", "must be >= 0 (0 = never)");
  r.check(t.threads >= 0, "train.threads", "must be >= 0 (0 = all cores)");
  r.check(!t.output_dir.empty(), "train.output_dir", "must not be empty");

  const auto& e = c.eval;
  r.check(e.every >= 0, "eval.every", "must be >= 0 (0 = off)");
  r.check(e.num_samples >= 1, "eval.num_samples", "must be >= 1");
  r.check(e.max_problems >= 0, "eval.max_problems", "must be >= 0 (0 = all)");
  r.check(e.every == 0 || !e.data.empty(), "eval.data", "eval.every > 0 needs eval.data (a JSONL file)");

  const auto& l = c.lora;
  r.check(l.r >= 0, "lora.r", fmt::format("is {}; must be >= 0 (0 = off, train the whole model)", l.r));
  if (l.r > 0) {
    r.check(l.alpha > 0, "lora.alpha", fmt::format("is {}; must be > 0", l.alpha));
    r.check(l.dropout >= 0 && l.dropout < 1, "lora.dropout", fmt::format("is {}; must be in [0, 1)", l.dropout));
    r.check(!l.target_modules.empty(), "lora.target_modules",
            "is empty; name the linear modules to adapt (q_proj, ..., or all-linear)");
    r.check(l.adapter_path.empty() || std::filesystem::is_directory(l.adapter_path), "lora.adapter_path",
            fmt::format("'{}' is not a directory; it should hold adapter_config.json and adapter_model.safetensors",
                        l.adapter_path));
  } else {
    const LoraConfig off;
    const bool other_keys = l.alpha != off.alpha || l.dropout != off.dropout || l.use_rslora ||
                            !l.adapter_path.empty() || l.save_merged || l.target_modules != off.target_modules;
    r.check(!other_keys, "lora.r",
            "is 0 (LoRA off) but other lora keys are set; set lora.r > 0 (e.g. 16) to train adapters, or remove them");
  }
  r.check(c.dist.timeout_s >= 1, "dist.timeout_s", fmt::format("is {}; must be >= 1 (seconds)", c.dist.timeout_s));

  const auto& s = c.sft;
  r.check(!s.text_field.empty(), "sft.text_field", "must not be empty");
  r.check(!s.prompt_field.empty(), "sft.prompt_field", "must not be empty");
  r.check(!s.completion_field.empty(), "sft.completion_field", "must not be empty");
  r.check(s.epochs >= 1, "sft.epochs", fmt::format("is {}; must be >= 1", s.epochs));
  r.check(s.batch_size >= 1, "sft.batch_size", fmt::format("is {}; must be >= 1", s.batch_size));
  r.check(s.micro_batch_size >= 1, "sft.micro_batch_size", fmt::format("is {}; must be >= 1", s.micro_batch_size));
  r.check(s.max_length >= 2, "sft.max_length", fmt::format("is {}; must be >= 2", s.max_length));
  r.check(s.lr >= 0, "sft.lr", fmt::format("is {}; the learning rate must be >= 0", s.lr));
  r.check(s.weight_decay >= 0, "sft.weight_decay", "must be >= 0");
  r.check(s.warmup_steps >= 0, "sft.warmup_steps", "must be >= 0");
  r.check(s.save_every >= 0, "sft.save_every", "must be >= 0 (0 = only at the end)");
  r.check(s.keep_last >= 0, "sft.keep_last", "must be >= 0 (0 = keep all)");
  r.check(s.log_every >= 1, "sft.log_every", "must be >= 1");
  r.check(!s.output_dir.empty(), "sft.output_dir", "must not be empty");

  if (use == ConfigUse::Sft) {
    r.check(c.lora.r == 0, "lora.r",
            "r1train sft trains the whole model; LoRA adapters are trained by r1train train (set lora.r: 0 for sft)");
    if (c.model.path.empty()) {
      r.fail("model.path", "missing; set the Hugging Face model directory (with sft.init: random, only its "
                           "config.json and tokenizer are read)");
    } else if (!std::filesystem::is_directory(c.model.path)) {
      r.fail("model.path", "'" + c.model.path + "' is not a directory; it should hold config.json and a tokenizer");
    }
    if (s.data.empty()) {
      r.fail("sft.data", "missing; set the training corpus (sft.data: FILE.jsonl or --set sft.data=FILE)");
    } else if (!std::filesystem::is_regular_file(s.data)) {
      r.fail("sft.data", "file '" + s.data + "' does not exist");
    }
  }

  if (use == ConfigUse::Train) {
    if (c.model.path.empty()) {
      r.fail("model.path", "missing; set the Hugging Face model directory (model.path: DIR or --set model.path=DIR)");
    } else if (!std::filesystem::is_directory(c.model.path)) {
      r.fail("model.path", "'" + c.model.path + "' is not a directory; it should hold config.json and *.safetensors");
    }
    if (c.data.train.empty()) {
      r.fail("data.train", "missing; set the training prompts (data.train: FILE.jsonl or --set data.train=FILE)");
    } else if (!std::filesystem::is_regular_file(c.data.train)) {
      r.fail("data.train", "file '" + c.data.train + "' does not exist");
    }
    if (e.every > 0 && !e.data.empty() && !std::filesystem::is_regular_file(e.data)) {
      r.fail("eval.data", "file '" + e.data + "' does not exist");
    }
  }
}

// Relative paths in a config file are relative to the file's directory only
// when they do not exist relative to the working directory.
void resolve_path(std::string& p, const std::filesystem::path& base) {
  if (p.empty() || std::filesystem::path(p).is_absolute() || std::filesystem::exists(p)) return;
  auto candidate = base / p;
  if (std::filesystem::exists(candidate)) p = candidate.lexically_normal().string();
}

}  // namespace

namespace {

// (key path, value text) of every field: config_values.
struct ValueLister {
  std::string prefix;
  std::vector<std::pair<std::string, std::string>>* out;
  template <class T>
  void operator()(const char* key, T& ref, unsigned = kDefinesAll, RewardMask = kAllRewards) {
    const std::string path = prefix + key;
    if constexpr (std::is_same_v<T, std::vector<RewardConfig>>) {
      for (std::size_t i = 0; i < ref.size(); ++i) {
        ValueLister sub{fmt::format("{}[{}].", path, i), out};
        visit(sub, ref[i]);
      }
    } else if constexpr (std::is_same_v<T, std::vector<std::string>> || std::is_same_v<T, std::vector<double>>) {
      out->emplace_back(path, fmt::format("[{}]", fmt::join(ref, ", ")));
    } else if constexpr (std::is_class_v<T> && !std::is_same_v<T, std::string>) {
      ValueLister sub{path + ".", out};
      visit(sub, ref);
    } else {
      out->emplace_back(path, scalar_text(ref));
    }
  }
};

}  // namespace

std::vector<std::pair<std::string, std::string>> config_values(const Config& config) {
  Config c = config;
  std::vector<std::pair<std::string, std::string>> out;
  ValueLister lister{"", &out};
  visit(lister, c);
  return out;
}

std::vector<std::string> config_keys() {
  static const std::vector<std::string> keys = [] {
    std::vector<std::string> out;
    Config c;
    KeyLister lister{"", &out};
    visit(lister, c);
    return out;
  }();
  return keys;
}

std::vector<std::string> check_config(const ConfigSource& source, Config& out, ConfigUse use) {
  Reporter rep{&source, {}, {}};
  YAML::Node root;
  if (!source.file.empty()) {
    std::ifstream in(source.file);
    if (!in) {
      return {fmt::format("{}: cannot read config file: {}", source.file.string(),
                          std::filesystem::exists(source.file) ? "permission denied or not a file"
                                                               : "no such file")};
    }
    if (std::filesystem::is_directory(source.file)) {
      return {source.file.string() + ": is a directory, expected a YAML file"};
    }
    try {
      const auto documents = YAML::LoadAll(in);
      if (documents.size() > 1) {
        return {fmt::format("{}: holds {} YAML documents (separated by ---); a config is one document: merge them "
                            "or split them into files",
                            source.file.string(), documents.size())};
      }
      if (!documents.empty()) root = documents.front();
    } catch (const YAML::ParserException& e) {
      return {fmt::format("{}:{}:{}: malformed YAML: {}", source.file.string(), e.mark.line + 1,
                          e.mark.column + 1, e.msg)};
    } catch (const YAML::Exception& e) {
      return {fmt::format("{}: malformed YAML: {}", source.file.string(), e.msg)};
    }
    if (!root.IsNull() && !root.IsMap()) {
      return {source.file.string() + ": expected a YAML map of sections (model:, data:, ...), got " +
              describe(root)};
    }
  }
  for (const auto& raw : source.overrides) {
    if (auto path = apply_override(root, raw, rep)) rep.overrides.emplace_back(*path, raw);
  }
  if (!rep.problems.empty()) return rep.problems;

  Config c;
  if (root.IsMap()) {
    Parser top{&rep, root, "", {}};
    visit(top, c);
    top.finish();
  }
  if (!rep.problems.empty()) return rep.problems;

  if (!source.file.empty()) {
    auto base = source.file.parent_path();
    resolve_path(c.model.path, base);
    resolve_path(c.data.train, base);
    resolve_path(c.eval.data, base);
    resolve_path(c.sft.data, base);
  }
  Rules rules{&rep, &root};
  check_values(c, use, rules);
  out = c;
  return rep.problems;
}

Config load_config(const ConfigSource& source, ConfigUse use) {
  Config c;
  auto problems = check_config(source, c, use);
  if (!problems.empty()) {
    std::string msg = problems.size() == 1 ? "invalid configuration:" : fmt::format("invalid configuration ({} problems):", problems.size());
    for (const auto& p : problems) msg += "\n  " + p;
    throw InputError(msg);
  }
  return c;
}

namespace {

std::string emit(const Config& config, unsigned runs, bool only_defining) {
  Config c = config;
  YAML::Emitter out;
  out << YAML::BeginMap;
  Emitter e{&out, runs, only_defining};
  visit(e, c);
  out << YAML::EndMap;
  return std::string(out.c_str()) + "\n";
}

// YAML as one "section.key: value" line per setting (list items flattened).
std::vector<std::string> yaml_lines(const std::string& yaml) {
  std::vector<std::string> lines;
  std::istringstream in(yaml);
  std::string section;
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line[0] != ' ' && line.back() == ':') {
      section = line.substr(0, line.size() - 1);
      continue;
    }
    auto first = line.find_first_not_of(" -");
    lines.push_back(section + "." + (first == std::string::npos ? line : line.substr(first)));
  }
  return lines;
}

}  // namespace

std::string to_yaml(const Config& config) { return emit(config, kDefinesAll, false); }

std::vector<std::string> run_defining_lines(const Config& config, ConfigUse use) {
  return yaml_lines(emit(config, use == ConfigUse::Sft ? kDefinesSft : kDefinesGrpo, true));
}

}  // namespace r1
