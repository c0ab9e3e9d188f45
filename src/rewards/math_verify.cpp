#include "r1/rewards/math_verify.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <map>
#include <set>
#include <vector>

#include "r1/core/strings.h"
#include "r1/rewards/expression.h"

namespace r1 {

namespace {

bool is_alpha(char c) { return std::isalpha(static_cast<unsigned char>(c)) != 0; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_space(char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; }

void replace_all(std::string& s, std::string_view from, std::string_view to) {
  std::size_t pos = 0;
  while ((pos = s.find(from, pos)) != std::string::npos) {
    s.replace(pos, from.size(), to);
    pos += to.size();
  }
}

// Removes the LaTeX command `name` (e.g. "\\left") wherever it is not the prefix of a longer command.
void remove_command(std::string& s, std::string_view name) {
  std::size_t pos = 0;
  while ((pos = s.find(name, pos)) != std::string::npos) {
    std::size_t end = pos + name.size();
    if (end < s.size() && is_alpha(s[end])) {
      pos = end;
      continue;
    }
    s.erase(pos, name.size());
  }
}

// Index of the '}' closing the '{' at `open`, or npos.
std::size_t matching_brace(std::string_view s, std::size_t open) {
  int depth = 0;
  for (std::size_t i = open; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 1 < s.size() && (s[i + 1] == '{' || s[i + 1] == '}')) {
      ++i;
      continue;
    }
    if (s[i] == '{') ++depth;
    if (s[i] == '}' && --depth == 0) return i;
  }
  return std::string::npos;
}

// The content of \boxed / \fbox at `pos` (which points at the backslash), if well formed.
std::optional<std::string> boxed_at(std::string_view text, std::size_t pos, std::size_t cmd_len) {
  std::size_t i = pos + cmd_len;
  if (i < text.size() && text[i] == '{') {
    std::size_t close = matching_brace(text, i);
    if (close == std::string::npos) return std::nullopt;
    return std::string(text.substr(i + 1, close - i - 1));
  }
  if (i < text.size() && text[i] == ' ') {  // "\boxed 5$": up to the closing dollar
    std::size_t end = text.find_first_of("$\n", i);
    return trim(text.substr(i, end == std::string::npos ? std::string::npos : end - i));
  }
  return std::nullopt;
}

// Text-like commands whose argument is kept as plain text (or dropped when it is a unit).
constexpr std::array<std::string_view, 10> kTextCommands = {
    "\\text", "\\textbf", "\\textit", "\\textrm", "\\textnormal", "\\mathrm", "\\mathbf", "\\mathit", "\\mbox",
    "\\operatorname"};

bool is_word(std::string_view s) {
  std::string t = trim(s);
  if (t.empty()) return false;
  return std::all_of(t.begin(), t.end(), [](char c) { return is_alpha(c) || c == ' ' || c == '.'; });
}

// \text{...} -> its content, except a unit after a number ("5\text{ cm}^2" -> "5").
std::string unwrap_text(std::string s) {
  for (std::string_view cmd : kTextCommands) {
    std::size_t pos = 0;
    while ((pos = s.find(cmd, pos)) != std::string::npos) {
      std::size_t open = pos + cmd.size();
      if (open < s.size() && is_alpha(s[open])) {
        pos = open;
        continue;
      }
      while (open < s.size() && s[open] == ' ') ++open;
      if (open >= s.size() || s[open] != '{') {
        pos = open;
        continue;
      }
      std::size_t close = matching_brace(s, open);
      if (close == std::string::npos) break;
      std::string content = s.substr(open + 1, close - open - 1);
      std::string before = trim(std::string_view(s).substr(0, pos));
      std::string after = trim(std::string_view(s).substr(close + 1));
      bool unit = !before.empty() && (is_digit(before.back()) || before.back() == '}') && is_word(content) &&
                  (after.empty() || after[0] == '^');
      std::size_t end = close + 1;
      if (unit) {
        while (end < s.size() && s[end] == ' ') ++end;
        if (end < s.size() && s[end] == '^') {
          ++end;
          if (end < s.size() && s[end] == '{') {
            std::size_t c = matching_brace(s, end);
            end = c == std::string::npos ? s.size() : c + 1;
          } else if (end < s.size()) {
            ++end;
          }
        }
        content.clear();
      }
      s.replace(pos, end - pos, content);
      pos += content.size();
    }
  }
  return s;
}

// "5 cm" -> "5", "18 dollars" -> "18": a number followed by plain words.
std::string strip_plain_units(const std::string& s) {
  std::size_t i = 0;
  while (i < s.size() && (is_digit(s[i]) || s[i] == '.' || s[i] == ',' || s[i] == '/' || s[i] == '-')) ++i;
  if (i == 0 || i >= s.size() || s[i] != ' ') return s;
  if (!std::any_of(s.begin(), s.begin() + static_cast<std::ptrdiff_t>(i), is_digit)) return s;
  std::string rest = trim(std::string_view(s).substr(i));
  std::size_t letters = std::count_if(rest.begin(), rest.end(), is_alpha);
  if (letters < 2 || !is_word(rest)) return s;
  return s.substr(0, i);
}

// \frac12 -> \frac{1}{2}, \frac1b -> \frac{1}{b}; \sqrt2 -> \sqrt{2}.
std::string brace_arguments(const std::string& s, std::string_view cmd, int args) {
  std::string out;
  std::size_t i = 0;
  while (i < s.size()) {
    std::size_t pos = s.find(cmd, i);
    if (pos == std::string::npos) {
      out += s.substr(i);
      break;
    }
    std::size_t j = pos + cmd.size();
    out += s.substr(i, j - i);
    if (j < s.size() && is_alpha(s[j])) {  // a longer command
      i = j;
      continue;
    }
    for (int a = 0; a < args && j < s.size(); ++a) {
      if (s[j] == '{') {
        std::size_t c = matching_brace(s, j);
        if (c == std::string::npos) break;
        out += s.substr(j, c + 1 - j);
        j = c + 1;
      } else if (s[j] == '[' && cmd == "\\sqrt") {  // \sqrt[3]{x}: keep the index, brace the radicand
        std::size_t c = s.find(']', j);
        if (c == std::string::npos) break;
        out += s.substr(j, c + 1 - j);
        j = c + 1;
        --a;
      } else if (s[j] != '\\') {
        out += '{';
        out += s[j];
        out += '}';
        ++j;
      } else {
        break;
      }
    }
    i = j;
  }
  return out;
}

bool is_thousands_number(const std::string& s) {
  std::size_t i = s.size() && s[0] == '-' ? 1 : 0;
  std::size_t digits = 0;
  while (i < s.size() && is_digit(s[i])) ++i, ++digits;
  if (digits == 0 || digits > 3) return false;
  bool groups = false;
  while (i < s.size() && s[i] == ',') {
    for (int k = 1; k <= 3; ++k)
      if (i + k >= s.size() || !is_digit(s[i + k])) return false;
    i += 4;
    groups = true;
  }
  if (i < s.size() && s[i] == '.') {
    ++i;
    while (i < s.size() && is_digit(s[i])) ++i;
  }
  return groups && i == s.size();
}

// "x=5" -> "5", "\theta=\pi" -> "\pi", "x\in[1,2]" -> "[1,2]": a short variable name before = or \in.
std::string strip_variable_prefix(const std::string& s) {
  for (std::string_view sep : {"=", "\\in"}) {
    std::size_t pos = s.find(sep);
    if (pos == std::string::npos || pos == 0 || pos > 8) continue;
    if (s.find(sep, pos + sep.size()) != std::string::npos) continue;
    std::string lhs = s.substr(0, pos);
    bool variable = is_alpha(lhs[0]) || lhs[0] == '\\';
    for (char c : lhs) variable = variable && (is_alpha(c) || c == '\\' || c == '_' || c == '{' || c == '}' || is_digit(c));
    if (variable && sep == "\\in" && pos + 3 < s.size() && is_alpha(s[pos + 3])) variable = false;
    if (variable) return s.substr(pos + sep.size());
  }
  return s;
}

struct Structure {
  std::string open, close;         // "(" ")", "[" ")", "\\{" "\\}", "" "" for a bare list, or a matrix env
  std::vector<std::string> items;  // top-level elements
};

std::vector<std::string> split_top_level(std::string_view s, std::string_view sep) {
  std::vector<std::string> out;
  int depth = 0;
  std::size_t start = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '\\' && i + 1 < s.size() && (s[i + 1] == '{' || s[i + 1] == '}')) {
      depth += s[i + 1] == '{' ? 1 : -1;
      ++i;
      continue;
    }
    if (c == '(' || c == '[' || c == '{') ++depth;
    if (c == ')' || c == ']' || c == '}') --depth;
    if (depth == 0 && s.substr(i, sep.size()) == sep) {
      out.emplace_back(s.substr(start, i - start));
      start = i + sep.size();
      i = start - 1;
    }
  }
  out.emplace_back(s.substr(start));
  return out;
}

// Whether the bracket at 0 closes exactly at the end ("(1,2)" yes, "(1)+(2)" no); \{ \} count as brackets.
bool wraps_whole(std::string_view s) {
  int depth = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '\\' && i + 1 < s.size() && (s[i + 1] == '{' || s[i + 1] == '}')) c = s[++i];
    if (c == '(' || c == '[' || c == '{') {
      ++depth;
    } else if ((c == ')' || c == ']' || c == '}') && --depth == 0) {
      return i + 1 == s.size();
    }
  }
  return false;
}

std::optional<Structure> structure(const std::string& s) {
  Structure st;
  if (s.rfind("\\begin{", 0) == 0) {  // matrices: cells row by row, rows marked by an item "\\\\"
    std::size_t close = s.find('}');
    std::string env = s.substr(7, close - 7);
    std::string end = "\\end{" + env + "}";
    if (s.size() < close + 1 + end.size() || s.compare(s.size() - end.size(), end.size(), end) != 0)
      return std::nullopt;
    std::string body = s.substr(close + 1, s.size() - end.size() - close - 1);
    st.open = env;
    for (const auto& row : split_top_level(body, "\\\\")) {
      if (trim(row).empty()) continue;
      for (const auto& cell : split_top_level(row, "&")) st.items.push_back(cell);
      st.items.push_back("\\\\");
    }
    return st;
  }
  std::string inner = s;
  if (s.size() >= 4 && s.rfind("\\{", 0) == 0 && s.compare(s.size() - 2, 2, "\\}") == 0 && wraps_whole(s)) {
    st.open = "\\{";
    st.close = "\\}";
    inner = s.substr(2, s.size() - 4);
  } else if (s.size() >= 2 && (s[0] == '(' || s[0] == '[') && (s.back() == ')' || s.back() == ']') &&
             wraps_whole(s)) {
    st.open = s.substr(0, 1);
    st.close = s.substr(s.size() - 1);
    inner = s.substr(1, s.size() - 2);
  }
  st.items = split_top_level(inner, ",");
  if (st.items.size() < 2) return std::nullopt;
  return st;
}

// Letters that stand for variables (outside \commands); nullopt when a run of three or more letters
// shows the answer is a word, not an expression.
std::optional<std::set<char>> variables(const std::string& s) {
  std::set<char> out;
  std::size_t run = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\') {
      ++i;
      while (i < s.size() && is_alpha(s[i])) ++i;
      --i;
      run = 0;
      continue;
    }
    if (is_alpha(s[i])) {
      if (++run >= 3) return std::nullopt;
      out.insert(s[i]);
    } else {
      run = 0;
    }
  }
  return out;
}

bool close_enough(double a, double b) {
  return std::abs(a - b) <= 1e-6 * std::max({1.0, std::abs(a), std::abs(b)});
}

// A number, mixed number ("2\frac{1}{2}") or numeric expression.
std::optional<double> numeric_value(const std::string& s) {
  std::size_t i = s.size() && s[0] == '-' ? 1 : 0;
  std::size_t digits = i;
  while (digits < s.size() && is_digit(s[digits])) ++digits;
  if (digits > i && s.compare(digits, 6, "\\frac{") == 0) {
    auto whole = evaluate_latex(s.substr(i, digits - i));
    auto frac = evaluate_latex(s.substr(digits));
    bool simple = std::all_of(s.begin() + static_cast<std::ptrdiff_t>(digits), s.end(),
                              [](char c) { return is_digit(c) || c == '{' || c == '}' || is_alpha(c) || c == '\\'; });
    if (whole && frac && simple && *frac < 1) return (i ? -1 : 1) * (*whole + *frac);
  }
  return evaluate_latex(s);
}

bool equivalent(const std::string& a, const std::string& b, int depth);

bool items_equivalent(const std::vector<std::string>& a, const std::vector<std::string>& b, bool ordered, int depth) {
  if (a.size() != b.size()) return false;
  if (ordered) {
    for (std::size_t i = 0; i < a.size(); ++i)
      if (!equivalent(a[i], b[i], depth + 1)) return false;
    return true;
  }
  std::vector<bool> used(b.size(), false);
  for (const auto& x : a) {
    bool found = false;
    for (std::size_t j = 0; j < b.size() && !found; ++j) {
      if (!used[j] && equivalent(x, b[j], depth + 1)) used[j] = found = true;
    }
    if (!found) return false;
  }
  return true;
}

bool equivalent(const std::string& a, const std::string& b, int depth) {
  if (a == b) return true;
  if (depth > 4 || a.empty() || b.empty()) return false;
  auto va = numeric_value(a);
  auto vb = numeric_value(b);
  if (va && vb) return close_enough(*va, *vb);
  if (va || vb) {
    if (a.find('=') == std::string::npos && b.find('=') == std::string::npos) return false;
  }
  auto ua = split_top_level(a, "\\cup");
  auto ub = split_top_level(b, "\\cup");
  if (ua.size() > 1 || ub.size() > 1) return items_equivalent(ua, ub, false, depth);
  auto sa = structure(a);
  auto sb = structure(b);
  if (sa && sb) {
    if (sa->open != sb->open || sa->close != sb->close) return false;
    bool ordered = !(sa->open == "\\{" || sa->open.empty());
    return items_equivalent(sa->items, sb->items, ordered, depth);
  }
  if (sa || sb) return false;
  auto ea = split_top_level(a, "=");
  auto eb = split_top_level(b, "=");
  if (ea.size() == 2 && eb.size() == 2) return ea[0] == eb[0] && equivalent(ea[1], eb[1], depth + 1);
  auto xa = variables(a);
  auto xb = variables(b);
  if (!xa || !xb || xa->empty() || *xa != *xb || xa->size() > 4) return false;
  for (int point = 0; point < 3; ++point) {
    std::map<char, double> vars;
    int k = 0;
    for (char c : *xa) vars[c] = 0.37 + 0.61 * point + 0.29 * ++k;
    auto fa = evaluate_latex(a, vars);
    auto fb = evaluate_latex(b, vars);
    if (!fa || !fb || !close_enough(*fa, *fb)) return false;
  }
  return true;
}

}  // namespace

std::optional<std::string> last_boxed(std::string_view text) {
  std::size_t end = text.size();
  while (true) {
    std::size_t b = text.rfind("\\boxed", end);
    std::size_t f = text.rfind("\\fbox", end);
    std::size_t pos;
    std::size_t len;
    if (b == std::string_view::npos && f == std::string_view::npos) return std::nullopt;
    if (f == std::string_view::npos || (b != std::string_view::npos && b > f)) {
      pos = b;
      len = 6;
    } else {
      pos = f;
      len = 5;
    }
    if (auto content = boxed_at(text, pos, len)) return content;
    if (pos == 0) return std::nullopt;
    end = pos - 1;
  }
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

std::optional<std::string> extract_math_answer(std::string_view completion) {
  if (auto tag = answer_tag(completion)) {
    if (auto boxed = last_boxed(*tag)) return boxed;
    return trim(*tag);
  }
  return last_boxed(completion);
}

std::string normalize_math_answer(std::string_view answer) {
  std::string s(answer);
  replace_all(s, "\n", " ");
  replace_all(s, "\\\\", "\x01");  // a matrix row break, kept apart from "\ " and "\,"
  for (auto [from, to] : std::initializer_list<std::pair<std::string_view, std::string_view>>{
           {"π", "\\pi"}, {"√", "\\sqrt"}, {"−", "-"}, {"×", "\\times"}, {"·", "\\cdot"}, {"∞", "\\infty"},
           {"≤", "\\le"}, {"≥", "\\ge"}, {"°", ""}, {"\\dfrac", "\\frac"}, {"\\tfrac", "\\frac"},
           {"\\cfrac", "\\frac"}, {"^{\\circ}", ""}, {"^\\circ", ""}, {"\\%", ""}, {"%", ""}, {"\\$", ""},
           {"$", ""}, {"\\(", ""}, {"\\)", ""}, {"\\[", ""}, {"\\]", ""}, {"\\!", ""}, {"\\,", ""},
           {"\\;", ""}, {"\\:", ""}, {"\\ ", " "}, {"~", " "}, {"{,}", ","}, {"\\leqslant", "\\le"},
           {"\\geqslant", "\\ge"}, {"\\leq", "\\le"}, {"\\geq", "\\ge"}}) {
    replace_all(s, from, to);
  }
  for (std::string_view cmd : {"\\left", "\\right", "\\displaystyle", "\\quad", "\\qquad", "\\bigl", "\\bigr",
                               "\\Bigl", "\\Bigr", "\\big", "\\Big", "\\circ", "\\degree"}) {
    remove_command(s, cmd);
  }
  s = unwrap_text(s);
  s = strip_plain_units(trim(s));
  s.erase(std::remove_if(s.begin(), s.end(), is_space), s.end());
  replace_all(s, "\x01", "\\\\");
  s = brace_arguments(s, "\\frac", 2);
  s = brace_arguments(s, "\\sqrt", 1);
  while (!s.empty() && (s.back() == '.' || s.back() == ',')) s.pop_back();
  s = strip_variable_prefix(s);
  while (s.size() >= 2 && s.front() == '{' && matching_brace(s, 0) == s.size() - 1) s = s.substr(1, s.size() - 2);
  if (is_thousands_number(s)) s.erase(std::remove(s.begin(), s.end(), ','), s.end());
  if (s.rfind(".", 0) == 0) s = "0" + s;
  if (s.rfind("-.", 0) == 0) s = "-0" + s.substr(1);
  if (s.size() == 3 && s[0] == '(' && s[2] == ')' && std::isupper(static_cast<unsigned char>(s[1]))) s = s.substr(1, 1);
  return s;
}

bool math_answers_equal(std::string_view predicted, std::string_view reference) {
  std::string ref(reference);
  if (auto boxed = last_boxed(reference)) ref = *boxed;
  std::string a = normalize_math_answer(predicted);
  std::string b = normalize_math_answer(ref);
  if (a.empty() || b.empty()) return false;
  return equivalent(a, b, 0);
}

}  // namespace r1
