#include "r1/rewards/math_verify.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <vector>

#include "r1/core/strings.h"

namespace r1 {

namespace {

bool is_alpha(char c) { return std::isalpha(static_cast<unsigned char>(c)) != 0; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_alnum(char c) { return is_alpha(c) || is_digit(c); }
bool is_space(char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; }

struct Box {
  std::size_t begin = 0, end = 0;  // the command's backslash; one past its closing brace
  std::string content;
};

// The \boxed / \fbox at `pos` (its backslash), if well formed.
std::optional<Box> box_at(std::string_view text, std::size_t pos, std::size_t cmd_len) {
  std::size_t i = pos + cmd_len;
  while (i < text.size() && text[i] == ' ' && i + 1 < text.size() && text[i + 1] == '{') ++i;
  if (i < text.size() && text[i] == '{') {
    std::size_t close = matching_brace(text, i);
    if (close == std::string::npos) return std::nullopt;
    return Box{pos, close + 1, std::string(text.substr(i + 1, close - i - 1))};
  }
  if (i < text.size() && text[i] == ' ') {  // "\boxed 5$": up to the closing dollar
    std::size_t end = text.find_first_of("$\n", i);
    if (end == std::string::npos) end = text.size();
    return Box{pos, end, trim(text.substr(i, end - i))};
  }
  return std::nullopt;
}

// The last well-formed box that ends at or before `limit`.
std::optional<Box> last_box_before(std::string_view text, std::size_t limit) {
  std::size_t from = limit;
  while (from > 0) {
    std::size_t b = text.rfind("\\boxed", from - 1);
    std::size_t f = text.rfind("\\fbox", from - 1);
    if (b == std::string_view::npos && f == std::string_view::npos) return std::nullopt;
    bool boxed = f == std::string_view::npos || (b != std::string_view::npos && b > f);
    std::size_t pos = boxed ? b : f;
    auto box = box_at(text, pos, boxed ? 6 : 5);
    if (box && box->end <= limit) return box;
    from = pos;
  }
  return std::nullopt;
}

bool mentions_separator(std::string_view gap) {
  for (std::string_view w : {"and", "or", ",", ";"})
    if (gap.find(w) != std::string_view::npos) return true;
  return false;
}

// "**21**" -> "21", "`x`" -> "x": markdown emphasis around an answer.
std::string strip_markdown(std::string_view s) {
  std::string t = trim(s);
  for (std::string_view mark : {"**", "__", "`"}) {
    while (t.size() >= 2 * mark.size() && t.compare(0, mark.size(), mark) == 0 &&
           t.compare(t.size() - mark.size(), mark.size(), mark) == 0) {
      t = trim(std::string_view(t).substr(mark.size(), t.size() - 2 * mark.size()));
    }
  }
  return t;
}

// Whether `s` reads as a math answer rather than prose: no word of three or more letters outside
// LaTeX commands, \text{...} and the words "and" / "or".
bool looks_like_math(std::string_view s) {
  if (trim(s).empty()) return false;
  for (std::size_t i = 0; i < s.size();) {
    if (s[i] == '\\') {  // a command, and a \text{...} argument with it
      std::size_t j = i + 1;
      while (j < s.size() && is_alpha(s[j])) ++j;
      std::string_view name = s.substr(i + 1, j - i - 1);
      if ((name.rfind("text", 0) == 0 || name == "mathrm" || name == "mbox" || name == "operatorname" ||
           name == "begin" || name == "end") &&
          j < s.size() && s[j] == '{') {
        std::size_t close = matching_brace(s, j);
        if (close != std::string::npos) j = close + 1;
      }
      i = std::max(j, i + 1);
      continue;
    }
    if (s[i] == '_' && i + 1 < s.size() && s[i + 1] == '{') {  // a subscript names, "S_{MBCN}"
      std::size_t close = matching_brace(s, i + 1);
      i = close == std::string::npos ? i + 1 : close + 1;
      continue;
    }
    if (!is_alpha(s[i])) {
      ++i;
      continue;
    }
    std::size_t j = i;
    while (j < s.size() && is_alpha(s[j])) ++j;
    std::string word(s.substr(i, j - i));
    for (char& c : word) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (word.size() >= 3 && word != "and" && word != "sin" && word != "cos" && word != "tan" && word != "log" &&
        word != "sqrt" && word != "exp")
      return false;
    i = j;
  }
  return true;
}

struct Env {
  std::size_t end = 0;
  std::string content;
};

// Math environments: $$...$$, $...$ (one line), \(...\), \[...\], in order of their ends.
std::vector<Env> math_envs(std::string_view text) {
  std::vector<Env> out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\\' && i + 1 < text.size() && (text[i + 1] == '(' || text[i + 1] == '[')) {
      std::string_view close = text[i + 1] == '(' ? "\\)" : "\\]";
      std::size_t c = text.find(close, i + 2);
      if (c == std::string_view::npos) continue;
      out.push_back({c + 2, std::string(text.substr(i + 2, c - i - 2))});
      i = c + 1;
      continue;
    }
    if (text[i] == '\\') {
      ++i;  // "\$" is a dollar sign, not a delimiter
      continue;
    }
    if (text[i] != '$') continue;
    if (i + 1 < text.size() && text[i + 1] == '$') {
      std::size_t c = text.find("$$", i + 2);
      if (c == std::string_view::npos) break;
      out.push_back({c + 2, std::string(text.substr(i + 2, c - i - 2))});
      i = c + 1;
      continue;
    }
    if (i > 0 && is_digit(text[i - 1])) continue;  // "5$" is money
    std::size_t c = i + 1;
    while (c < text.size() && text[c] != '$' && text[c] != '\n') c += text[c] == '\\' ? 2 : 1;
    if (c >= text.size() || text[c] != '$') continue;
    std::string content(text.substr(i + 1, c - i - 1));
    if (!trim(content).empty()) out.push_back({c + 1, content});
    i = c;
  }
  return out;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// The answer that follows an anchor at `pos`: a math environment, or the rest of the sentence.
std::optional<std::string> value_after(std::string_view text, std::size_t pos) {
  while (pos < text.size() && (is_space(text[pos]) || text[pos] == ':' || text[pos] == '*')) ++pos;
  std::string_view rest = text.substr(pos);
  auto envs = math_envs(rest);
  std::size_t line_end = rest.find('\n');
  std::string_view sentence = rest.substr(0, line_end);
  for (std::size_t dot = sentence.find(". "); dot != std::string_view::npos; dot = sentence.find(". ", dot + 1)) {
    if (dot > 0 && !is_digit(sentence[dot - 1])) {
      sentence = sentence.substr(0, dot);
      break;
    }
  }
  if (!envs.empty() && rest.find_first_of("$\\") < sentence.size()) return trim(envs.front().content);
  std::string value = strip_markdown(sentence);
  for (std::string_view tail : {"I hope it is correct", "I hope"}) {
    std::size_t t = value.find(tail);
    if (t != std::string::npos) value = trim(std::string_view(value).substr(0, t));
  }
  while (!value.empty() && value.back() == '.') value.pop_back();
  if (auto boxes = joined_boxes(value)) return boxes;
  if (looks_like_math(value)) return trim(value);
  return last_standalone_number(value);
}

// The answer in prose: boxes, the whole text when it is math, an anchored answer, the last math
// environment, the last standalone number.
std::optional<std::string> prose_answer(std::string_view text) {
  if (auto boxes = joined_boxes(text)) return boxes;
  std::string whole = strip_markdown(text);
  if (looks_like_math(whole)) return trim(whole);
  std::string low = lower(text);
  std::size_t fa = low.rfind("final answer");
  if (fa != std::string::npos) {
    std::size_t is = low.find(" is", fa);
    std::size_t colon = fa + 12 < low.size() && low[fa + 12] == ':' ? fa + 13 : std::string::npos;
    std::size_t at = is != std::string::npos && is - fa <= 112 ? is + 3 : colon;
    if (at != std::string::npos) {
      if (auto v = value_after(text, at)) return v;
    }
  }
  for (std::string_view anchor : {"answer is", "answer:"}) {
    std::size_t a = low.rfind(anchor);
    if (a == std::string::npos) continue;
    if (auto v = value_after(text, a + anchor.size())) return v;
  }
  auto envs = math_envs(text);
  if (!envs.empty()) return trim(envs.back().content);
  return last_standalone_number(text);
}

// Commands whose brace argument may be a whole answer number ("\boxed{18}", "\text{18}").
bool wraps_answer(std::string_view text, std::size_t open) {
  std::size_t b = open;
  while (b > 0 && is_alpha(text[b - 1])) --b;
  if (b == 0 || text[b - 1] != '\\') return false;
  std::string_view name = text.substr(b, open - b);
  return name == "boxed" || name == "fbox" || name.rfind("text", 0) == 0 || name == "mathrm" || name == "mathbf";
}

bool is_operator(char c) { return c == '+' || c == '-' || c == '*' || c == '/' || c == '^'; }

}  // namespace

std::optional<std::string> last_boxed(std::string_view text) {
  auto box = last_box_before(text, text.size());
  if (!box) return std::nullopt;
  return box->content;
}

std::optional<std::string> joined_boxes(std::string_view text) {
  auto last = last_box_before(text, text.size());
  if (!last) return std::nullopt;
  std::vector<std::string> contents = {last->content};
  std::size_t start = last->begin;
  while (auto prev = last_box_before(text, start)) {
    std::string_view gap = text.substr(prev->end, start - prev->end);
    bool near = gap.size() < 10 || (gap.size() < 70 && prev->content != contents.back() && mentions_separator(gap));
    if (!near) break;
    contents.push_back(prev->content);
    start = prev->begin;
  }
  std::reverse(contents.begin(), contents.end());
  std::string out;
  for (std::size_t i = 0; i < contents.size(); ++i) out += (i ? "," : "") + contents[i];
  return out;
}

std::optional<std::string> answer_tag(std::string_view text) {
  std::size_t open = text.rfind("<answer>");
  while (open != std::string_view::npos) {
    std::size_t close = text.find("</answer>", open);
    if (close != std::string_view::npos) return std::string(text.substr(open + 8, close - open - 8));
    if (open == 0) break;
    open = text.rfind("<answer>", open - 1);
  }
  return std::nullopt;
}

std::optional<std::string> last_standalone_number(std::string_view text) {
  std::optional<std::string> found;
  for (std::size_t i = 0; i < text.size();) {
    if (!is_digit(text[i]) || (i > 0 && (is_digit(text[i - 1]) || text[i - 1] == '.'))) {
      ++i;
      continue;
    }
    std::size_t b = i, e = i;
    while (e < text.size() && is_digit(text[e])) ++e;
    while (e + 3 < text.size() + 0 && text[e] == ',' && is_digit(text[e + 1]) && is_digit(text[e + 2]) &&
           is_digit(text[e + 3]) && (e + 4 >= text.size() || !is_digit(text[e + 4])))
      e += 4;
    if (e + 1 < text.size() && text[e] == '.' && is_digit(text[e + 1])) {
      ++e;
      while (e < text.size() && is_digit(text[e])) ++e;
    } else if (e + 1 < text.size() && text[e] == '/' && is_digit(text[e + 1]) && (b == 0 || text[b - 1] != '/')) {
      ++e;  // a plain fraction, "2/3"
      while (e < text.size() && is_digit(text[e])) ++e;
    }
    i = e;
    // A sign directly attached: "-3" (but "5-3" subtracts).
    std::size_t s = b;
    if (s > 0 && text[s - 1] == '-' && (s == 1 || (!is_alnum(text[s - 2]) && text[s - 2] != ')' && text[s - 2] != '}')))
      --s;
    char before = s > 0 ? text[s - 1] : ' ';
    if (before == '$' && s > 1 && text[s - 2] == '\\') before = ' ';  // "\$18"
    char after = e < text.size() ? text[e] : ' ';
    bool wrapped = before == '{' && after == '}' && wraps_answer(text, s - 1);
    if (!wrapped) {
      if (is_alnum(before) || before == '_' || before == '^' || before == '\\' || before == '{' || before == '.' ||
          before == '/')
        continue;
      if (is_alpha(after) || after == '_' || after == '^' || after == '\\' || after == '}' || after == '/' ||
          after == '{')
        continue;
    }
    // An operand of an operator is part of an expression, not the answer ("1 + 48").
    std::size_t p = s;
    while (p > 0 && is_space(text[p - 1])) --p;
    if (p < s && p > 0 && is_operator(text[p - 1])) continue;
    if (p == s && p > 0 && text[p - 1] != '-' && is_operator(text[p - 1])) continue;
    std::size_t q = e;
    while (q < text.size() && is_space(text[q])) ++q;
    if (q < text.size() && is_operator(text[q])) {
      bool sentence_dash = text[q] == '-' && q > e && q + 1 < text.size() && is_space(text[q + 1]) &&
                           !(q + 2 < text.size() && is_digit(text[q + 2]));
      if (!sentence_dash) continue;
    }
    std::string n;
    for (std::size_t k = s; k < e; ++k)
      if (text[k] != ',') n += text[k];
    found = n;
  }
  return found;
}

std::optional<std::string> extract_math_answer(std::string_view completion, MathExtract mode) {
  auto tag = answer_tag(completion);
  if (mode == MathExtract::Any) {
    auto answer = prose_answer(tag ? std::string_view(*tag) : completion);
    if (answer && !trim(*answer).empty()) return answer;
    return std::nullopt;
  }
  if (tag) {
    if (auto boxes = joined_boxes(*tag)) return boxes;
    return strip_markdown(*tag);
  }
  return joined_boxes(completion);
}

std::string math_reference(std::string_view reference) {
  if (auto boxes = joined_boxes(reference)) return *boxes;
  std::size_t hashes = reference.rfind("####");
  if (hashes != std::string_view::npos) {
    std::string after = trim(reference.substr(hashes + 4));
    if (!after.empty()) return after;
  }
  // A whole solution without a box: its answer as prose gives it ("The final answer is $28\%$.").
  if (!looks_like_math(reference)) {
    if (auto answer = prose_answer(reference)) return *answer;
  }
  return trim(reference);
}

MathCheck check_math_answer(std::string_view predicted, std::string_view reference, const MathCompareOptions& options) {
  return compare_math_answers(predicted, math_reference(reference), options);
}

bool math_answers_equal(std::string_view predicted, std::string_view reference) {
  return check_math_answer(predicted, reference).equal;
}

}  // namespace r1
