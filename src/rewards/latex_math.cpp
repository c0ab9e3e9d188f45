#include "r1/rewards/latex_math.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <complex>
#include <numbers>
#include <numeric>
#include <set>
#include <vector>

#include "r1/core/strings.h"

namespace r1 {

namespace {

using Complex = std::complex<double>;

bool is_alpha(char c) { return std::isalpha(static_cast<unsigned char>(c)) != 0; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_space(char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; }

// ---------------------------------------------------------------------------------------------
// Budget: every token read and every node evaluated spends one step.

struct Budget {
  long left;
  bool spent = false;
  bool spend(long n = 1) {
    left -= n;
    if (left < 0) spent = true;
    return !spent;
  }
};

struct BudgetExhausted {};

// ---------------------------------------------------------------------------------------------
// Text normalisation before tokenising.

void replace_all(std::string& s, std::string_view from, std::string_view to) {
  std::size_t pos = 0;
  while ((pos = s.find(from, pos)) != std::string::npos) {
    s.replace(pos, from.size(), to);
    pos += to.size();
  }
}

// Removes the command `name` wherever it is not the prefix of a longer command name.
void remove_command(std::string& s, std::string_view name, std::string_view with = "") {
  std::size_t pos = 0;
  while ((pos = s.find(name, pos)) != std::string::npos) {
    std::size_t end = pos + name.size();
    if (end < s.size() && is_alpha(s[end])) {
      pos = end;
      continue;
    }
    s.replace(pos, name.size(), with);
    pos += with.size();
  }
}


// \text{...}-like commands become their content, set apart by spaces.
constexpr std::array<std::string_view, 13> kTextCommands = {
    "\\text", "\\textbf", "\\textit", "\\textrm", "\\textnormal", "\\textsf", "\\mathrm", "\\mathbf",
    "\\mathit", "\\mathsf", "\\mbox", "\\operatorname", "\\textup"};

void unwrap_text_commands(std::string& s) {
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
      std::string content(1, ' ');
      content.append(s, open + 1, close - open - 1);
      content.push_back(' ');
      s.replace(pos, close + 1 - pos, content);
      pos += content.size();
    }
  }
}

std::string normalize(std::string_view answer) {
  std::string s(answer);
  // "\\frac" (a doubled backslash before a command name, as in over-escaped strings) is "\frac"
  // when the answer holds no matrix, whose rows end in "\\".
  if (s.find("matrix") == std::string::npos && s.find("array") == std::string::npos) {
    for (std::size_t pos = 0; (pos = s.find("\\\\", pos)) != std::string::npos;) {
      if (pos + 2 < s.size() && is_alpha(s[pos + 2])) s.erase(pos, 1);
      pos += 1;
    }
  }
  // "{,}" and "{ , }": a thousands separator.
  for (std::size_t pos = 0; (pos = s.find('{', pos)) != std::string::npos; ++pos) {
    std::size_t j = pos + 1;
    while (j < s.size() && s[j] == ' ') ++j;
    if (j >= s.size() || s[j] != ',') continue;
    ++j;
    while (j < s.size() && s[j] == ' ') ++j;
    if (j < s.size() && s[j] == '}') s.replace(pos, j + 1 - pos, ",");
  }
  replace_all(s, "\\qquad", " ");  // also when glued to what follows ("\quadx_2")
  replace_all(s, "\\quad", " ");
  replace_all(s, "\\\\", "\x01");  // a matrix row break, kept apart from "\ " and "\,"
  // "\!" and the spaces after it go ("32,\! 349" is 32349, as Math-Verify reads it).
  for (std::size_t pos = 0; (pos = s.find("\\!", pos)) != std::string::npos;) {
    std::size_t end = pos + 2;
    while (end < s.size() && s[end] == ' ') ++end;
    s.erase(pos, end - pos);
  }
  for (auto [from, to] : std::initializer_list<std::pair<std::string_view, std::string_view>>{
           {"\n", " "}, {"\t", " "}, {"π", "\\pi "}, {"√", "\\sqrt"}, {"−", "-"}, {"–", "-"},
           {"×", "\\times "}, {"·", "\\cdot "}, {"∞", "\\infty "}, {"≤", "\\le "}, {"≥", "\\ge "},
           {"≠", "\\ne "}, {"±", "\\pm "}, {"∪", "\\cup "}, {"∈", "\\in "}, {"°", " "}, {"^{\\circ}", " "},
           {"^\\circ", " "}, {"\\$", " "}, {"$", " "}, {"\\(", " "}, {"\\)", " "}, {"\\[", " "},
           {"\\]", " "}, {"\\,", " "}, {"\\;", " "}, {"\\:", " "}, {"\\ ", " "},
           {"~", " "}, {"\\lvert", "|"}, {"\\rvert", "|"}, {"\\vert", "|"}, {"\\mid", "|"},
           {"\\left.", ""}, {"\\right.", ""}, {"\\|", "|"}}) {
    replace_all(s, from, to);
  }
  for (auto [from, to] : std::initializer_list<std::pair<std::string_view, std::string_view>>{
           {"\\left", ""}, {"\\right", ""}, {"\\bigl", ""}, {"\\bigr", ""}, {"\\Bigl", ""}, {"\\Bigr", ""},
           {"\\biggl", ""}, {"\\biggr", ""}, {"\\big", ""}, {"\\Big", ""}, {"\\bigg", ""}, {"\\Bigg", ""},
           {"\\displaystyle", ""}, {"\\circ", " "}, {"\\degree", " "},
           {"\\dfrac", "\\frac"}, {"\\tfrac", "\\frac"}, {"\\cfrac", "\\frac"}, {"\\dbinom", "\\binom"},
           {"\\tbinom", "\\binom"}, {"\\leqslant", "\\le"}, {"\\geqslant", "\\ge"}, {"\\leq", "\\le"},
           {"\\geq", "\\ge"}, {"\\neq", "\\ne"}, {"\\lt", "<"}, {"\\gt", ">"}, {"\\boxed", ""}, {"\\fbox", ""},
           {"\\hbox", ""}, {"\\limits", ""}, {"\\varnothing", "\\emptyset"}, {"\\varepsilon", "\\epsilon"},
           {"\\vartheta", "\\theta"}, {"\\varphi", "\\phi"}, {"\\land", " and "}, {"\\lor", " or "},
           {"\\wedge", " and "}, {"\\vee", " or "}}) {
    remove_command(s, from, to);
  }
  unwrap_text_commands(s);
  replace_all(s, "\x01", "\\\\");
  std::string t = trim(s);
  while (!t.empty() && t.back() == '.') t.pop_back();  // "\frac{8}{21}." ends a sentence
  return t;
}

// ---------------------------------------------------------------------------------------------
// Tokens.

enum class Tok { End, Num, Letter, Cmd, Punct, Word, Begin, EndEnv, RowBreak, Sep };

struct Token {
  Tok kind = Tok::End;
  std::string text;
  bool space_before = false;
};

// Words that end a list item ("1 and 2", "3 or -3").
bool is_separator_word(std::string_view w) { return w == "and" || w == "or"; }

// Function names written without a backslash ("sin x", "log 2").
bool is_plain_function(std::string_view w) {
  static const std::set<std::string, std::less<>> names = {
      "sin", "cos", "tan", "sec", "csc", "cot", "arcsin", "arccos", "arctan", "sinh", "cosh", "tanh",
      "ln", "log", "exp", "sqrt", "gcd", "lcm", "max", "min", "abs", "pi", "floor", "ceil"};
  return names.count(w) > 0;
}

// Units dropped after a number ("5 cm", "10\text{ inches}^2", "18 dollars").
bool is_unit_word(std::string_view w) {
  static const std::set<std::string, std::less<>> units = {
      "cm", "mm", "km", "m", "in", "yd", "oz", "lb", "lbs", "kg", "g", "mg", "ml", "l", "ft", "feet", "foot", "inch", "inches", "yard", "yards",
      "mile", "miles", "meter", "meters", "metre", "metres", "centimeter", "centimeters", "kilometer",
      "kilometers", "millimeter", "millimeters", "gram", "grams", "kilogram", "kilograms", "pound", "pounds",
      "ounce", "ounces", "liter", "liters", "litre", "litres", "gallon", "gallons", "second", "seconds",
      "sec", "minute", "minutes", "min", "hour", "hours", "hr", "hrs", "day", "days", "week", "weeks",
      "month", "months", "year", "years", "dollar", "dollars", "cent", "cents", "degree", "degrees", "deg",
      "radian", "radians", "unit", "units", "square", "sq", "cubic", "mph", "kmh", "percent", "people",
      "students", "times", "ways", "points", "items", "pages", "books", "marbles", "apples", "cookies"};
  return units.count(w) > 0;
}

class Lexer {
 public:
  Lexer(std::string_view s, bool thousands) : s_(s), thousands_(thousands) {}

  // Tokens, or nullopt when a character is not math.
  std::optional<std::vector<Token>> run(Budget& budget) {
    std::vector<Token> out;
    bool space = false;
    while (pos_ < s_.size()) {
      if (!budget.spend()) throw BudgetExhausted{};
      char c = s_[pos_];
      if (is_space(c)) {
        ++pos_;
        space = true;
        continue;
      }
      Token t;
      t.space_before = space;
      space = false;
      if (is_digit(c) || (c == '.' && pos_ + 1 < s_.size() && is_digit(s_[pos_ + 1]))) {
        t.kind = Tok::Num;
        t.text = number();
      } else if (is_alpha(c)) {
        std::size_t start = pos_;
        while (pos_ < s_.size() && is_alpha(s_[pos_])) ++pos_;
        std::string word(s_.substr(start, pos_ - start));
        std::string lower = word;
        for (char& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
        if (word.size() == 1) {
          t.kind = Tok::Letter;
          t.text = word;
        } else if (is_separator_word(lower)) {
          t.kind = Tok::Sep;
          t.text = ",";
        } else if (is_plain_function(lower)) {
          t.kind = Tok::Cmd;
          t.text = lower;
        } else if (word.size() == 2 && !is_unit_word(lower)) {  // "xy", "AB": two variables
          t.kind = Tok::Letter;
          t.text = word.substr(0, 1);
          out.push_back(t);
          t.text = word.substr(1);
          t.space_before = false;
        } else {
          t.kind = Tok::Word;
          t.text = lower;
        }
      } else if (c == '\\') {
        ++pos_;
        if (pos_ >= s_.size()) return std::nullopt;
        char n = s_[pos_];
        if (n == '\\') {
          ++pos_;
          t.kind = Tok::RowBreak;
        } else if (n == '{' || n == '}' || n == '%' || n == '&' || n == '#' || n == '_') {
          ++pos_;
          t.kind = Tok::Punct;
          t.text = n == '{' ? "\\{" : n == '}' ? "\\}" : std::string(1, n);
        } else if (is_alpha(n)) {
          std::size_t start = pos_;
          while (pos_ < s_.size() && is_alpha(s_[pos_])) ++pos_;
          t.kind = Tok::Cmd;
          t.text = std::string(s_.substr(start, pos_ - start));
          if (t.text == "begin" || t.text == "end") {
            auto env = braced_name();
            if (!env) return std::nullopt;
            t.kind = t.text == "begin" ? Tok::Begin : Tok::EndEnv;
            t.text = *env;
            if (t.kind == Tok::Begin && t.text == "array") braced_name();  // the column spec
          }
        } else {
          return std::nullopt;
        }
      } else {
        if (c == '_' && pos_ + 1 < s_.size() && s_[pos_ + 1] == '{') {
          // "x_{12}", "S_{MBCN}", "\log_{10}": a plain subscript is one token.
          std::size_t close = matching_brace(s_, pos_ + 1);
          if (close != std::string::npos) {
            std::string_view body = s_.substr(pos_ + 2, close - pos_ - 2);
            bool digits = !body.empty() && std::all_of(body.begin(), body.end(), is_digit);
            bool letters = !body.empty() && std::all_of(body.begin(), body.end(), [](char ch) {
              return is_alpha(ch) || is_digit(ch);
            });
            if (letters) {
              out.push_back(Token{Tok::Punct, "_", t.space_before});
              out.push_back(Token{digits ? Tok::Num : Tok::Letter, std::string(body), false});
              pos_ = close + 1;
              continue;
            }
          }
        }
        static constexpr std::string_view kPunct = "+-*/^_()[]{},;=<>!|&':%";
        if (kPunct.find(c) == std::string_view::npos) return std::nullopt;
        ++pos_;
        t.kind = Tok::Punct;
        t.text = std::string(1, c);
        char n = pos_ < s_.size() ? s_[pos_] : '\0';
        if ((c == '<' || c == '>' || c == '!') && n == '=') {
          t.text += n;
          ++pos_;
        } else if (c == '=' && n == '<') {
          t.text = "<=";
          ++pos_;
        } else if (c == '=' && n == '>') {
          t.text = ">=";
          ++pos_;
        } else if (c == ';') {
          t.kind = Tok::Sep;
          t.text = ",";
        }
      }
      out.push_back(std::move(t));
    }
    return out;
  }

 private:
  std::optional<std::string> braced_name() {
    while (pos_ < s_.size() && s_[pos_] == ' ') ++pos_;
    if (pos_ >= s_.size() || s_[pos_] != '{') return std::nullopt;
    std::size_t close = matching_brace(s_, pos_);
    if (close == std::string::npos) return std::nullopt;
    std::string name(s_.substr(pos_ + 1, close - pos_ - 1));
    pos_ = close + 1;
    return trim(name);
  }

  // Digits, a decimal part, thousands groups (when allowed: "1,234,567", no spaces), and an
  // exponent ("1.5e-3"); the text returned has no separators.
  std::string number() {
    std::size_t start = pos_;
    while (pos_ < s_.size() && is_digit(s_[pos_])) ++pos_;
    std::string text(s_.substr(start, pos_ - start));
    if (thousands_ && !text.empty() && text.size() <= 3) {
      std::size_t p = pos_;
      std::string groups;
      while (p + 3 < s_.size() && (s_[p] == ',' || s_[p] == ' ') && is_digit(s_[p + 1]) && is_digit(s_[p + 2]) &&
             is_digit(s_[p + 3]) && (p + 4 >= s_.size() || !is_digit(s_[p + 4]))) {
        groups += s_.substr(p + 1, 3);
        p += 4;
      }
      if (!groups.empty()) {
        text += groups;
        pos_ = p;
      }
    }
    if (pos_ + 1 < s_.size() && s_[pos_] == '.' && is_digit(s_[pos_ + 1])) {
      std::size_t d = pos_++;
      while (pos_ < s_.size() && is_digit(s_[pos_])) ++pos_;
      text += s_.substr(d, pos_ - d);
    } else if (pos_ < s_.size() && s_[pos_] == '.' && !text.empty() &&
               (pos_ + 1 >= s_.size() || !is_alpha(s_[pos_ + 1]))) {
      ++pos_;  // "5." : a trailing period
    }
    if (pos_ + 1 < s_.size() && (s_[pos_] == 'e' || s_[pos_] == 'E')) {
      std::size_t e = pos_ + 1;
      if (e < s_.size() && (s_[e] == '-' || s_[e] == '+')) ++e;
      if (e < s_.size() && is_digit(s_[e])) {
        std::size_t from = pos_;
        pos_ = e;
        while (pos_ < s_.size() && is_digit(s_[pos_])) ++pos_;
        text += s_.substr(from, pos_ - from);
      }
    }
    return text;
  }

  std::string_view s_;
  bool thousands_;
  std::size_t pos_ = 0;
};

// ---------------------------------------------------------------------------------------------
// Expression tree.

enum class K {
  Num,       // num
  Sym,       // name: "x", "x_1", "alpha"
  Const,     // name: "pi", "e", "i", "inf"
  Add,       // kids summed
  Mul,       // kids multiplied
  Div,       // kids[0] / kids[1]
  Pow,       // kids[0] ^ kids[1]
  Neg,       // -kids[0]
  Func,      // name(kids...)
  Pct,       // kids[0] percent
  PlusMinus, // kids[0] ± kids[1] (kids[0] absent for a leading ±: one kid)
  Rel,       // kids[0] ops[0] kids[1] ops[1] kids[2] ...; ops: = < <= > >= != in
  Tuple,     // ordered
  Set,       // \{...\}
  List,      // a bare list: "1, 2", "1 or 2"
  Interval,  // kids[0], kids[1]; lo_open / hi_open
  Union,     // pieces
  Matrix,    // rows x cols, kids row-major
  Text,      // name: lower-case words
};

struct Node {
  K kind = K::Num;
  double num = 0;
  std::string name;
  std::vector<Node> kids;
  std::vector<std::string> ops;
  bool lo_open = false, hi_open = false;
  int cols = 0;
};

Node leaf(K kind, std::string name) {
  Node n;
  n.kind = kind;
  n.name = std::move(name);
  return n;
}
Node number(double v) {
  Node n;
  n.num = v;
  return n;
}
Node make(K kind, std::vector<Node> kids, std::string name = "") {
  Node n;
  n.kind = kind;
  n.kids = std::move(kids);
  n.name = std::move(name);
  return n;
}

bool is_value(const Node& n) {
  switch (n.kind) {
    case K::Num: case K::Sym: case K::Const: case K::Add: case K::Mul: case K::Div: case K::Pow:
    case K::Neg: case K::Func: case K::Pct: return true;
    default: return false;
  }
}

// ---------------------------------------------------------------------------------------------
// Parser. Grammar (highest level first):
//   list     := relation ((',' | ';' | and | or) relation)*
//   relation := union (relop union)*              relop: = < > <= >= \le \ge \ne \in \approx
//   union    := sum (\cup sum)*
//   sum      := ('+'|'-'|\pm)? product (('+'|'-'|\pm|\mp) product)*
//   product  := unary (('*'|'/'|\cdot|\times|\div|implicit) unary)*
//   unary    := '-' unary | power
//   power    := postfix ('^' exponent)*           (right-associative)
//   postfix  := primary ('!' | '%' | '_' sub)*
//   primary  := number | letter | constant | function arg | \frac A B | \sqrt[n] A | \binom A B
//             | ( list ) | [ list ] | (a, b] | { list } | \{ list \} | |sum| | \lfloor sum \rfloor
//             | \begin{pmatrix} rows \end{pmatrix}

const std::set<std::string, std::less<>>& greek() {
  static const std::set<std::string, std::less<>> g = {
      "alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota", "kappa", "lambda", "mu",
      "nu", "xi", "rho", "sigma", "tau", "upsilon", "phi", "chi", "psi", "omega", "Gamma", "Delta", "Theta",
      "Lambda", "Xi", "Sigma", "Upsilon", "Phi", "Psi", "Omega"};
  return g;
}

const std::set<std::string, std::less<>>& functions() {
  static const std::set<std::string, std::less<>> f = {
      "sin", "cos", "tan", "sec", "csc", "cot", "arcsin", "arccos", "arctan", "arcsec", "arccsc", "arccot",
      "sinh", "cosh", "tanh", "ln", "log", "exp", "gcd", "lcm", "max", "min", "abs", "floor", "ceil"};
  return f;
}

// A label rather than a value: symbols combined without numbers ("x", "AB", "f(x)", "|AB|", "(p, q)", "NO/BO").
bool only_symbols(const Node& n) {
  switch (n.kind) {
    case K::Sym: return true;
    case K::Mul: case K::Div: case K::Pow: case K::Func: case K::Tuple:
      return !n.kids.empty() && std::all_of(n.kids.begin(), n.kids.end(), only_symbols);
    default: return false;
  }
}

struct ParseError {};

class Parser {
 public:
  Parser(std::vector<Token> tokens, Budget& budget) : t_(std::move(tokens)), budget_(budget) {}

  std::optional<Node> parse() {
    try {
      Node n = list(0);
      if (peek().kind != Tok::End) return std::nullopt;
      return n;
    } catch (const ParseError&) {
      return std::nullopt;
    }
  }

 private:
  static constexpr int kMaxDepth = 120;

  const Token& peek(std::size_t ahead = 0) const {
    static const Token end;
    return i_ + ahead < t_.size() ? t_[i_ + ahead] : end;
  }
  Token next() {
    if (!budget_.spend()) throw BudgetExhausted{};
    if (i_ >= t_.size()) throw ParseError{};
    return t_[i_++];
  }
  bool at(Tok kind, std::string_view text) const { return peek().kind == kind && peek().text == text; }
  bool punct(std::string_view p) const { return at(Tok::Punct, p); }
  bool cmd(std::string_view c) const { return at(Tok::Cmd, c); }
  bool accept_punct(std::string_view p) {
    if (!punct(p)) return false;
    next();
    return true;
  }
  bool accept_cmd(std::string_view c) {
    if (!cmd(c)) return false;
    next();
    return true;
  }
  void expect_punct(std::string_view p) {
    if (!accept_punct(p)) throw ParseError{};
  }
  static void check_depth(int depth) {
    if (depth > kMaxDepth) throw BudgetExhausted{};
  }

  bool at_separator() const { return peek().kind == Tok::Sep || punct(","); }

  Node list(int depth) {
    check_depth(depth);
    std::vector<Node> items;
    items.push_back(relation(depth + 1));
    bool more = false;
    while (at_separator()) {
      next();
      more = true;
      if (at_separator()) continue;  // "1, and 2"
      items.push_back(relation(depth + 1));
    }
    if (!more) return std::move(items[0]);
    return make(K::List, std::move(items));
  }

  std::optional<std::string> relop() const {
    const Token& t = peek();
    if (t.kind == Tok::Punct && (t.text == "=" || t.text == "<" || t.text == ">" || t.text == "<=" ||
                                 t.text == ">=" || t.text == "!="))
      return t.text;
    if (t.kind != Tok::Cmd) return std::nullopt;
    if (t.text == "le") return "<=";
    if (t.text == "ge") return ">=";
    if (t.text == "ne") return "!=";
    if (t.text == "in") return "in";
    if (t.text == "approx" || t.text == "equiv") return "=";
    return std::nullopt;
  }

  Node relation(int depth) {
    check_depth(depth);
    if (relop() && (peek().text == "approx" || peek().text == "=")) next();  // "\approx 3.14", "= 5"
    Node first = union_(depth + 1);
    if (!relop()) return first;
    Node rel = make(K::Rel, {});
    rel.kids.push_back(std::move(first));
    while (auto op = relop()) {
      bool approx = peek().kind == Tok::Cmd && peek().text == "approx";
      next();
      Node side = union_(depth + 1);
      if (approx) {  // "x \approx 11" is 11, "\frac{70}{9} \approx 7.78" is 70/9
        if (only_symbols(rel.kids.back())) rel.kids.back() = std::move(side);
        continue;
      }
      rel.ops.push_back(*op);
      rel.kids.push_back(std::move(side));
    }
    if (rel.ops.empty()) return std::move(rel.kids[0]);
    return rel;
  }

  Node union_(int depth) {
    Node first = sum(depth + 1);
    if (!cmd("cup")) return first;
    Node u = make(K::Union, {});
    u.kids.push_back(std::move(first));
    while (accept_cmd("cup")) u.kids.push_back(sum(depth + 1));
    return u;
  }

  Node sum(int depth) {
    check_depth(depth);
    Node acc;
    bool have = false;
    if (accept_punct("+")) {
    } else if (accept_punct("-")) {
      acc = make(K::Neg, {product(depth + 1)});
      have = true;
    } else if (accept_cmd("pm") || accept_cmd("mp")) {
      acc = make(K::PlusMinus, {product(depth + 1)});
      have = true;
    }
    if (!have) acc = product(depth + 1);
    while (true) {
      if (accept_punct("+")) {
        acc = add(std::move(acc), product(depth + 1));
      } else if (accept_punct("-")) {
        acc = add(std::move(acc), make(K::Neg, {product(depth + 1)}));
      } else if (accept_cmd("pm") || accept_cmd("mp")) {
        acc = make(K::PlusMinus, {std::move(acc), product(depth + 1)});
      } else {
        break;
      }
    }
    return acc;
  }

  static Node add(Node a, Node b) {
    if (a.kind == K::Add) {
      a.kids.push_back(std::move(b));
      return a;
    }
    return make(K::Add, {std::move(a), std::move(b)});
  }

  // Whether the next token can start a factor multiplied without an operator ("2x", "3\pi", "x(x+1)").
  bool starts_implicit_factor(const Node& left) const {
    const Token& t = peek();
    switch (t.kind) {
      case Tok::Num: return left.kind != K::Num;  // "2 3" is not a product
      case Tok::Letter: return true;
      case Tok::Begin: return true;
      case Tok::Cmd:
        return t.text == "frac" || t.text == "sqrt" || t.text == "pi" || t.text == "binom" || t.text == "infty" ||
               t.text == "lfloor" || t.text == "lceil" || greek().count(t.text) || functions().count(t.text) ||
               t.text == "mathbb" || t.text == "exp";
      case Tok::Punct: return t.text == "(" || t.text == "{";
      default: return false;
    }
  }

  Node product(int depth) {
    check_depth(depth);
    Node acc = unary(depth + 1);
    while (true) {
      if (accept_punct("*") || accept_cmd("cdot") || accept_cmd("times") || accept_cmd("ast")) {
        acc = mul(std::move(acc), unary(depth + 1));
      } else if (accept_punct("/") || accept_punct(":") || accept_cmd("div")) {  // "7:32" is a ratio
        acc = make(K::Div, {std::move(acc), unary(depth + 1)});
      } else if (starts_implicit_factor(acc)) {
        // A mixed number: "2\frac{1}{2}" is 2 + 1/2 when the fraction is proper and all integers.
        if (acc.kind == K::Num && cmd("frac") && is_integer(acc.num)) {
          Node f = power(depth + 1);
          if (f.kind == K::Div && f.kids[0].kind == K::Num && f.kids[1].kind == K::Num &&
              is_integer(f.kids[0].num) && is_integer(f.kids[1].num) && f.kids[0].num < f.kids[1].num &&
              f.kids[0].num >= 0) {
            acc = make(K::Add, {std::move(acc), std::move(f)});
          } else {
            acc = mul(std::move(acc), std::move(f));
          }
          continue;
        }
        acc = mul(std::move(acc), power(depth + 1));
      } else {
        break;
      }
    }
    return acc;
  }

  static bool is_integer(double v) { return std::floor(v) == v; }

  static Node mul(Node a, Node b) {
    if (a.kind == K::Mul) {
      a.kids.push_back(std::move(b));
      return a;
    }
    return make(K::Mul, {std::move(a), std::move(b)});
  }

  Node unary(int depth) {
    check_depth(depth);
    if (accept_punct("-")) return make(K::Neg, {unary(depth + 1)});
    if (accept_punct("+")) return unary(depth + 1);
    return power(depth + 1);
  }

  // The argument of ^ or _: a {group}, or one token (a whole number, "2^10" = 1024 as latex2sympy reads it).
  Node script(int depth) {
    if (punct("{")) return primary(depth + 1);
    if (accept_punct("-")) return make(K::Neg, {script(depth + 1)});
    return primary(depth + 1);
  }

  Node power(int depth) {
    check_depth(depth);
    Node base = postfix(depth + 1);
    if (!accept_punct("^")) return base;
    Node exponent = script(depth + 1);
    // Right-associative: a^b^c = a^(b^c).
    if (punct("^")) {
      next();
      exponent = make(K::Pow, {std::move(exponent), script(depth + 1)});
    }
    Node p = make(K::Pow, {std::move(base), std::move(exponent)});
    while (accept_punct("!")) p = make(K::Func, {std::move(p)}, "factorial");
    return p;
  }

  Node postfix(int depth) {
    Node n = primary(depth + 1);
    while (true) {
      if (accept_punct("!")) {
        n = make(K::Func, {std::move(n)}, "factorial");
      } else if (accept_punct("%")) {
        n = make(K::Pct, {std::move(n)});
      } else if (punct("'")) {
        throw ParseError{};  // derivatives are not values
      } else {
        break;
      }
    }
    return n;
  }

  // A \frac or \sqrt argument: a {group} or a single character ("\frac12" is 1/2).
  Node argument(int depth) {
    if (punct("{")) {
      next();
      Node n = list(depth + 1);
      expect_punct("}");
      return n;
    }
    if (peek().kind == Tok::Num && peek().text.size() > 1) {
      Token& t = t_[i_];
      double d = t.text[0] - '0';
      if (!is_digit(t.text[0])) throw ParseError{};
      t.text.erase(0, 1);
      t.space_before = false;
      return number(d);
    }
    return primary(depth + 1);
  }

  std::string subscript_text(int depth) {
    if (peek().kind == Tok::Num || peek().kind == Tok::Letter) {
      return next().text;
    }
    if (accept_punct("{")) {
      std::string s;
      while (!punct("}")) {
        if (peek().kind == Tok::End) throw ParseError{};
        s += next().text;
      }
      next();
      (void)depth;
      return s;
    }
    throw ParseError{};
  }

  Node function(const std::string& name, int depth) {
    Node base;  // log_b
    bool has_base = false;
    if (name == "log" && accept_punct("_")) {
      base = script(depth + 1);
      has_base = true;
    }
    Node power_of;
    bool has_power = false;
    bool inverse = false;
    if (accept_punct("^")) {
      Node e = script(depth + 1);
      if (e.kind == K::Neg && e.kids[0].kind == K::Num && e.kids[0].num == 1) {
        inverse = true;
      } else {
        power_of = std::move(e);
        has_power = true;
      }
    }
    Node arg;
    if (punct("(")) {
      arg = primary(depth + 1);
    } else {
      // "\sin 2x": the argument is a product without + or - (another function ends it).
      arg = power(depth + 1);
      while (starts_implicit_factor(arg) && !(peek().kind == Tok::Cmd && functions().count(peek().text)))
        arg = mul(std::move(arg), power(depth + 1));
    }
    std::string fn = name;
    if (inverse) {
      if (name == "sin" || name == "cos" || name == "tan" || name == "sec" || name == "csc" || name == "cot")
        fn = "arc" + name;
      else
        throw ParseError{};
    }
    std::vector<Node> args;
    if (arg.kind == K::Tuple) {
      args = std::move(arg.kids);
    } else {
      args.push_back(std::move(arg));
    }
    if (has_base) args.push_back(std::move(base));
    Node f = make(K::Func, std::move(args), fn);
    if (has_power) f = make(K::Pow, {std::move(f), std::move(power_of)});
    return f;
  }

  // Rows of a matrix environment, up to \end{name}.
  Node matrix(const std::string& env, int depth) {
    Node m = make(K::Matrix, {});
    std::vector<Node> row;
    int cols = -1;
    auto finish_row = [&]() {
      if (row.empty()) return;
      if (cols >= 0 && static_cast<int>(row.size()) != cols) throw ParseError{};
      cols = static_cast<int>(row.size());
      for (auto& cell : row) m.kids.push_back(std::move(cell));
      row.clear();
    };
    while (true) {
      if (peek().kind == Tok::EndEnv) {
        if (next().text != env) throw ParseError{};
        break;
      }
      if (peek().kind == Tok::End) throw ParseError{};
      row.push_back(relation(depth + 1));
      if (accept_punct("&")) continue;
      if (peek().kind == Tok::RowBreak) {
        next();
        finish_row();
        while (peek().kind == Tok::Cmd && peek().text == "hline") next();
        continue;
      }
      if (peek().kind != Tok::EndEnv) throw ParseError{};
    }
    finish_row();
    if (cols <= 0) throw ParseError{};
    m.cols = cols;
    return m;
  }

  Node bracketed(const std::string& open, int depth) {
    if (open == "\\{") {
      if (accept_punct("\\}")) return make(K::Set, {});
      // Set-builder notation: "\{x \mid 3 < x \le 4\}" is the solution set of the condition.
      if (peek().kind == Tok::Letter && peek(1).kind == Tok::Punct && (peek(1).text == "|" || peek(1).text == ":")) {
        next();
        next();
        Node condition = relation(depth + 1);
        expect_punct("\\}");
        if (condition.kind != K::Rel) throw ParseError{};
        return condition;
      }
      Node inner = list(depth + 1);
      expect_punct("\\}");
      if (inner.kind == K::List) return make(K::Set, std::move(inner.kids));
      return make(K::Set, {std::move(inner)});
    }
    if (open == "{") {
      Node inner = list(depth + 1);
      expect_punct("}");
      return inner;
    }
    Node inner = list(depth + 1);
    std::string close;
    if (accept_punct(")")) {
      close = ")";
    } else if (accept_punct("]")) {
      close = "]";
    } else {
      throw ParseError{};
    }
    if (inner.kind != K::List) {
      if (open == "(" && close == ")") return inner;
      if (open == "[" && close == "]") return inner;
      throw ParseError{};
    }
    if (inner.kids.size() == 2 && !(open == "(" && close == ")")) {
      Node iv = make(K::Interval, std::move(inner.kids));
      iv.lo_open = open == "(";
      iv.hi_open = close == ")";
      return iv;
    }
    if (open == "(" && close == ")") return make(K::Tuple, std::move(inner.kids));
    if (open == "[" && close == "]") return make(K::Tuple, std::move(inner.kids));
    throw ParseError{};
  }

  Node primary(int depth) {
    check_depth(depth);
    Token t = next();
    switch (t.kind) {
      case Tok::Num: return number(std::strtod(t.text.c_str(), nullptr));
      case Tok::Letter: {  // case matters ("R" is not "r"), except for a lone letter (compare_math_answers)
        std::string name = t.text.substr(0, 1);
        if (punct("_")) {
          next();
          name += "_" + subscript_text(depth);
        } else if (name == "e" || name == "E") {
          return leaf(K::Const, "e");
        } else if (name == "i") {
          return leaf(K::Const, "i");
        }
        return leaf(K::Sym, name);
      }
      case Tok::Punct:
        if (t.text == "(" || t.text == "[" || t.text == "{" || t.text == "\\{") return bracketed(t.text, depth);
        if (t.text == "|") {
          Node inner = sum(depth + 1);
          expect_punct("|");
          return make(K::Func, {std::move(inner)}, "abs");
        }
        throw ParseError{};
      case Tok::Begin: {
        static const std::set<std::string, std::less<>> envs = {"pmatrix", "bmatrix", "matrix", "Bmatrix",
                                                                "smallmatrix", "array"};
        if (!envs.count(t.text)) throw ParseError{};
        return matrix(t.text, depth);
      }
      case Tok::Cmd: return command(t.text, depth);
      default: throw ParseError{};
    }
  }

  Node command(const std::string& c, int depth) {
    if (c == "frac") {
      Node num = argument(depth + 1);
      Node den = argument(depth + 1);
      return make(K::Div, {std::move(num), std::move(den)});
    }
    if (c == "sqrt") {
      Node index = number(2);
      if (accept_punct("[")) {
        index = sum(depth + 1);
        expect_punct("]");
      }
      Node radicand = argument(depth + 1);
      return make(K::Func, {std::move(radicand), std::move(index)}, "root");
    }
    if (c == "binom") {
      Node n = argument(depth + 1);
      Node k = argument(depth + 1);
      return make(K::Func, {std::move(n), std::move(k)}, "binom");
    }
    if (c == "pi") return leaf(K::Const, "pi");
    if (c == "infty" || c == "infin") return leaf(K::Const, "inf");
    if (c == "emptyset") return make(K::Set, {});
    if (c == "lfloor" || c == "lceil") {
      Node inner = sum(depth + 1);
      if (!accept_cmd(c == "lfloor" ? "rfloor" : "rceil")) throw ParseError{};
      return make(K::Func, {std::move(inner)}, c == "lfloor" ? "floor" : "ceil");
    }
    if (c == "mathbb") {
      expect_punct("{");
      Token r = next();
      expect_punct("}");
      if (r.text == "R") {
        Node iv = make(K::Interval, {make(K::Neg, {leaf(K::Const, "inf")}), leaf(K::Const, "inf")});
        iv.lo_open = iv.hi_open = true;
        return iv;
      }
      throw ParseError{};
    }
    if (c == "e" || c == "exponentiale") return leaf(K::Const, "e");
    if (greek().count(c)) {
      std::string name = c;
      if (accept_punct("_")) name += "_" + subscript_text(depth);
      return leaf(K::Sym, name);
    }
    if (functions().count(c)) return function(c, depth + 1);
    if (c == "sqrtfn") throw ParseError{};
    throw ParseError{};
  }

  std::vector<Token> t_;
  Budget& budget_;
  std::size_t i_ = 0;
};

// ---------------------------------------------------------------------------------------------
// Parsing an answer.

struct Parsed {
  std::optional<Node> node;
  std::string text;  // lower-case letters and digits: the comparison of word answers
  bool is_text = false;
};

// Drops words after a value ("5 cm", "10 \\text{ inches}^2", "18 dollars") and reports whether
// other words remain: a word answer such as "Monday" or "odd".
bool strip_units(std::vector<Token>& tokens) {
  std::vector<Token> out;
  bool words = false, after_unit = false;
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    const Token& t = tokens[i];
    if (t.kind == Tok::Word) {
      bool after_value = after_unit || (!out.empty() && (out.back().kind == Tok::Num || out.back().text == ")" ||
                                                         out.back().text == "}" || out.back().text == "%"));
      if (after_value) {
        after_unit = true;
        if (i + 1 < tokens.size() && tokens[i + 1].text == "^") {  // the unit's power: ^2 or ^{2}
          i += 2;
          if (i < tokens.size() && tokens[i].text == "{") {
            while (i < tokens.size() && tokens[i].text != "}") ++i;
          }
        }
        continue;
      }
      words = true;
    }
    after_unit = false;
    out.push_back(t);
  }
  tokens = std::move(out);
  return words;
}

std::string text_key(std::string_view s) {
  std::string out;
  for (char c : s)
    if (std::isalnum(static_cast<unsigned char>(c))) out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

Parsed parse_answer(std::string_view answer, bool thousands, Budget& budget) {
  Parsed p;
  std::string s = normalize(answer);
  p.text = text_key(s);
  auto tokens = Lexer(s, thousands).run(budget);
  if (!tokens) return p;
  if (strip_units(*tokens)) {
    p.is_text = true;
    return p;
  }
  if (tokens->empty()) return p;
  p.node = Parser(std::move(*tokens), budget).parse();
  return p;
}

// Whether the whole answer is one number written with thousands separators ("1,234,567").
bool is_thousands_number(std::string_view s) {
  std::string t = trim(s);
  std::size_t i = !t.empty() && t[0] == '-' ? 1 : 0;
  std::size_t digits = 0;
  while (i < t.size() && is_digit(t[i])) ++i, ++digits;
  if (digits == 0 || digits > 3) return false;
  bool groups = false;
  while (i < t.size() && (t[i] == ',' || t.compare(i, 3, "{,}") == 0)) {
    std::size_t g = i + (t[i] == ',' ? 1 : 3);
    for (int k = 0; k < 3; ++k)
      if (g + k >= t.size() || !is_digit(t[g + k])) return false;
    i = g + 3;
    groups = true;
  }
  if (i < t.size() && t[i] == '.') {
    ++i;
    while (i < t.size() && is_digit(t[i])) ++i;
  }
  return groups && i == t.size();
}

// ---------------------------------------------------------------------------------------------
// Evaluation.

struct Env {
  std::vector<std::pair<std::string, Complex>> values;
  bool percent_as_fraction = false;
};

const Complex kNaN(std::nan(""), 0);

bool finite(Complex z) { return std::isfinite(z.real()) && std::isfinite(z.imag()); }

double factorial(double n) {
  if (n < 0 || n != std::floor(n) || n > 170) return std::nan("");
  return std::tgamma(n + 1);
}

Complex eval(const Node& n, const Env& env, Budget& budget) {
  if (!budget.spend()) throw BudgetExhausted{};
  switch (n.kind) {
    case K::Num: return n.num;
    case K::Sym:
      for (const auto& [name, v] : env.values)
        if (name == n.name) return v;
      return kNaN;
    case K::Const:
      if (n.name == "pi") return std::numbers::pi;
      if (n.name == "e") return std::numbers::e;
      if (n.name == "i") return Complex(0, 1);
      return std::numeric_limits<double>::infinity();
    case K::Add: {
      Complex s = 0;
      for (const auto& k : n.kids) s += eval(k, env, budget);
      return s;
    }
    case K::Mul: {
      Complex p = 1;
      for (const auto& k : n.kids) p *= eval(k, env, budget);
      return p;
    }
    case K::Div: {
      Complex d = eval(n.kids[1], env, budget);
      if (d == Complex(0)) return kNaN;
      return eval(n.kids[0], env, budget) / d;
    }
    case K::Neg: return -eval(n.kids[0], env, budget);
    case K::Pct: {
      Complex v = eval(n.kids[0], env, budget);
      return env.percent_as_fraction ? v / 100.0 : v;
    }
    case K::Pow: {
      Complex b = eval(n.kids[0], env, budget);
      Complex e = eval(n.kids[1], env, budget);
      if (!finite(b) || !finite(e)) return kNaN;
      if (std::abs(e) > 1e4 && std::abs(b) > 1) return kNaN;  // overflow is not infinity
      if (b.imag() == 0 && e.imag() == 0) {
        double x = b.real(), y = e.real();
        if (x >= 0 || y == std::floor(y)) return std::pow(x, y);
        // A real odd root of a negative number: (-8)^(1/3) = -2.
        double inv = 1 / y;
        if (std::abs(inv - std::round(inv)) < 1e-9 && static_cast<long long>(std::round(inv)) % 2 != 0)
          return -std::pow(-x, y);
      }
      if (b == Complex(0)) return 0.0;
      return std::pow(b, e);
    }
    case K::Func: {
      const std::string& f = n.name;
      std::vector<Complex> a;
      for (const auto& k : n.kids) a.push_back(eval(k, env, budget));
      for (const auto& v : a)
        if (!finite(v)) return kNaN;
      auto real_only = [&](auto fn) -> Complex {
        if (a[0].imag() != 0) return kNaN;
        return fn(a[0].real());
      };
      if (f == "root") {
        Complex idx = a[1];
        if (idx == Complex(2)) {
          if (a[0].imag() == 0 && a[0].real() < 0) return Complex(0, std::sqrt(-a[0].real()));
          return std::sqrt(a[0]);
        }
        if (idx == Complex(0)) return kNaN;
        if (a[0].imag() == 0 && idx.imag() == 0) {
          double k = idx.real();
          double x = a[0].real();
          if (x < 0 && k == std::floor(k) && static_cast<long long>(k) % 2 != 0) return -std::pow(-x, 1 / k);
          if (x >= 0) return std::pow(x, 1 / k);
        }
        return std::pow(a[0], 1.0 / idx);
      }
      if (a.size() == 2 && f == "log") return std::log(a[0]) / std::log(a[1]);
      if (a.size() == 2 && f == "binom") {
        if (a[0].imag() != 0 || a[1].imag() != 0) return kNaN;
        double nn = a[0].real(), kk = a[1].real();
        if (kk != std::floor(kk) || kk < 0) return 0.0;
        if (kk > 1000) return kNaN;
        double r = 1;
        for (int j = 0; j < static_cast<int>(kk); ++j) r = r * (nn - j) / (j + 1);
        return r;
      }
      if (f == "gcd" || f == "lcm" || f == "max" || f == "min") {
        double acc = 0;
        for (std::size_t j = 0; j < a.size(); ++j) {
          if (a[j].imag() != 0) return kNaN;
          double v = a[j].real();
          if (j == 0) {
            acc = v;
            continue;
          }
          if (f == "max") acc = std::max(acc, v);
          if (f == "min") acc = std::min(acc, v);
          if (f == "gcd" || f == "lcm") {
            if (v != std::floor(v) || acc != std::floor(acc) || std::abs(v) > 1e15 || std::abs(acc) > 1e15)
              return kNaN;
            long long x = std::llabs(static_cast<long long>(acc)), y = std::llabs(static_cast<long long>(v));
            long long g = std::gcd(x, y);
            acc = f == "gcd" ? static_cast<double>(g) : (g == 0 ? 0.0 : static_cast<double>(x / g) * static_cast<double>(y));
          }
        }
        return acc;
      }
      if (a.size() != 1) return kNaN;
      Complex x = a[0];
      if (f == "sin") return std::sin(x);
      if (f == "cos") return std::cos(x);
      if (f == "tan") return std::tan(x);
      if (f == "sec") return 1.0 / std::cos(x);
      if (f == "csc") return 1.0 / std::sin(x);
      if (f == "cot") return std::cos(x) / std::sin(x);
      if (f == "arcsin") return std::asin(x);
      if (f == "arccos") return std::acos(x);
      if (f == "arctan") return std::atan(x);
      if (f == "arcsec") return std::acos(1.0 / x);
      if (f == "arccsc") return std::asin(1.0 / x);
      if (f == "arccot") return std::atan(1.0 / x);
      if (f == "sinh") return std::sinh(x);
      if (f == "cosh") return std::cosh(x);
      if (f == "tanh") return std::tanh(x);
      if (f == "ln") return x == Complex(0) ? kNaN : std::log(x);
      if (f == "log") return x == Complex(0) ? kNaN : std::log10(x);  // \log is base 10, as latex2sympy reads it
      if (f == "exp") return std::abs(x) > 700 ? kNaN : std::exp(x);
      if (f == "abs") return std::abs(x);
      if (f == "factorial") return real_only(factorial);
      if (f == "floor") return real_only([](double v) { return std::floor(v); });
      if (f == "ceil") return real_only([](double v) { return std::ceil(v); });
      return kNaN;
    }
    default: return kNaN;
  }
}

void collect_symbols(const Node& n, std::set<std::string>& out) {
  if (n.kind == K::Sym) out.insert(n.name);
  for (const auto& k : n.kids) collect_symbols(k, out);
}

bool has_symbols(const Node& n) {
  if (n.kind == K::Sym) return true;
  return std::any_of(n.kids.begin(), n.kids.end(), has_symbols);
}

bool has_kind(const Node& n, K kind) {
  if (n.kind == kind) return true;
  return std::any_of(n.kids.begin(), n.kids.end(), [kind](const Node& k) { return has_kind(k, kind); });
}

// ---------------------------------------------------------------------------------------------
// Comparison.

class Comparer {
 public:
  Comparer(const MathCompareOptions& options, Budget& budget) : options_(options), budget_(budget) {}

  bool equal(const Node& a, const Node& b, int depth = 0) {
    if (depth > 12) return false;
    if (!budget_.spend()) throw BudgetExhausted{};
    Node ca = canonical(a);
    Node cb = canonical(b);
    return equal_canonical(ca, cb, depth);
  }

 private:
  // ± expanded into a set; relations in one variable into intervals; x \in S into S; lists of
  // intervals into unions.
  Node canonical(const Node& n) {
    if ((n.kind == K::Mul || n.kind == K::Neg || n.kind == K::Add || n.kind == K::Div) && has_kind(n, K::Matrix)) {
      if (auto m = fold_matrix(n)) return *m;
    }
    if (has_kind(n, K::PlusMinus) && is_value_with_pm(n)) {
      std::vector<Node> options = expand_pm(n);
      if (options.size() > 1) return make(K::Set, std::move(options));
      return options[0];
    }
    if (n.kind == K::Rel) {
      if (n.kids.size() == 2 && n.ops[0] == "in" && !has_symbols(n.kids[1])) return canonical(n.kids[1]);
      // A chain of equalities is judged by its first and last sides: "x = 5 + 5 + 1 = 11" is "x = 11".
      if (n.kids.size() > 2 && std::all_of(n.ops.begin(), n.ops.end(), [](const auto& o) { return o == "="; })) {
        Node r = make(K::Rel, {n.kids.front(), n.kids.back()});
        r.ops = {"="};
        return r;
      }
    }
    if ((n.kind == K::List || n.kind == K::Set) && !n.kids.empty()) {
      std::vector<Node> items;
      for (const auto& k : n.kids) {
        if ((is_value(k) || k.kind == K::PlusMinus) && has_kind(k, K::PlusMinus)) {  // "\{1 \pm \sqrt{5}, -2\}": both values are items
          for (auto& v : expand_pm(k)) items.push_back(std::move(v));
        } else {
          items.push_back(canonical(k));
        }
      }
      // "x < -1 or x > 2": relations in one variable listed together are a union of intervals.
      bool intervals = std::all_of(items.begin(), items.end(), [this](const Node& k) {
        return k.kind == K::Interval || k.kind == K::Union || (k.kind == K::Rel && relation_set(k));
      });
      if (intervals)
        for (auto& k : items)
          if (k.kind == K::Rel) k = *relation_set(k);
      if (intervals && n.kind == K::List) {
        std::vector<Node> pieces;
        for (auto& k : items) {
          if (k.kind == K::Union) {
            for (auto& p : k.kids) pieces.push_back(std::move(p));
          } else {
            pieces.push_back(std::move(k));
          }
        }
        return make(K::Union, std::move(pieces));
      }
      // "x = 1, x = 2" or "x = \pm 1" inside a list: a set of values stays a set.
      std::vector<Node> flat;
      for (auto& k : items) {
        if (k.kind == K::Set && n.kind == K::List) {
          for (auto& p : k.kids) flat.push_back(std::move(p));
        } else {
          flat.push_back(std::move(k));
        }
      }
      return make(n.kind, std::move(flat));
    }
    if (n.kind == K::Union) {
      std::vector<Node> pieces;
      for (const auto& k : n.kids) pieces.push_back(canonical(k));
      return make(K::Union, std::move(pieces));
    }
    return n;
  }

  // Matrix arithmetic written out: "-M", "\frac{1}{3} M", "M / 2", "A + B", "A B".
  std::optional<Node> fold_matrix(const Node& n) {
    if (!budget_.spend()) throw BudgetExhausted{};
    if (n.kind == K::Matrix) return n;
    if (!has_kind(n, K::Matrix)) return std::nullopt;
    auto map_cells = [](Node m, auto fn) {
      for (auto& cell : m.kids) cell = fn(std::move(cell));
      return m;
    };
    if (n.kind == K::Neg) {
      auto m = fold_matrix(n.kids[0]);
      if (!m) return std::nullopt;
      return map_cells(std::move(*m), [](Node c) { return make(K::Neg, {std::move(c)}); });
    }
    if (n.kind == K::Div) {
      auto m = fold_matrix(n.kids[0]);
      if (!m || has_kind(n.kids[1], K::Matrix)) return std::nullopt;
      const Node& d = n.kids[1];
      return map_cells(std::move(*m), [&d](Node c) { return make(K::Div, {std::move(c), d}); });
    }
    if (n.kind == K::Add) {
      std::optional<Node> acc;
      for (const auto& k : n.kids) {
        auto m = fold_matrix(k);
        if (!m) return std::nullopt;
        if (!acc) {
          acc = std::move(*m);
          continue;
        }
        if (m->cols != acc->cols || m->kids.size() != acc->kids.size()) return std::nullopt;
        for (std::size_t i = 0; i < m->kids.size(); ++i) acc->kids[i] = make(K::Add, {acc->kids[i], m->kids[i]});
      }
      return acc;
    }
    if (n.kind == K::Mul) {
      std::optional<Node> acc;
      std::vector<Node> scalars;
      for (const auto& k : n.kids) {
        if (!has_kind(k, K::Matrix)) {
          scalars.push_back(k);
          continue;
        }
        auto m = fold_matrix(k);
        if (!m) return std::nullopt;
        if (!acc) {
          acc = std::move(*m);
          continue;
        }
        // A product of matrices: (r x c)(c x q).
        std::size_t r = acc->kids.size() / acc->cols, c = acc->cols, q = m->cols;
        if (m->kids.size() / q != c) return std::nullopt;
        Node p = make(K::Matrix, {});
        p.cols = static_cast<int>(q);
        for (std::size_t i = 0; i < r; ++i)
          for (std::size_t j = 0; j < q; ++j) {
            Node sum = make(K::Add, {});
            for (std::size_t k2 = 0; k2 < c; ++k2)
              sum.kids.push_back(make(K::Mul, {acc->kids[i * c + k2], m->kids[k2 * q + j]}));
            p.kids.push_back(std::move(sum));
          }
        acc = std::move(p);
      }
      if (!acc) return std::nullopt;
      return map_cells(std::move(*acc), [&scalars](Node c) {
        std::vector<Node> factors = scalars;
        factors.push_back(std::move(c));
        return make(K::Mul, std::move(factors));
      });
    }
    return std::nullopt;
  }

  static bool is_value_with_pm(const Node& n) {
    if (n.kind == K::PlusMinus) return true;
    if (!is_value(n)) return n.kind == K::Rel;
    return true;
  }

  // All sign choices of every ±, at most 8 values.
  std::vector<Node> expand_pm(const Node& n) {
    if (!budget_.spend()) throw BudgetExhausted{};
    if (n.kind == K::PlusMinus) {
      std::vector<Node> out;
      if (n.kids.size() == 1) {
        for (auto& v : expand_pm(n.kids[0])) {
          out.push_back(v);
          out.push_back(make(K::Neg, {v}));
        }
      } else {
        for (auto& l : expand_pm(n.kids[0]))
          for (auto& r : expand_pm(n.kids[1])) {
            out.push_back(make(K::Add, {l, r}));
            out.push_back(make(K::Add, {l, make(K::Neg, {r})}));
          }
      }
      if (out.size() > 8) throw BudgetExhausted{};
      return out;
    }
    std::vector<Node> out = {n};
    for (std::size_t i = 0; i < n.kids.size(); ++i) {
      if (!has_kind(n.kids[i], K::PlusMinus)) continue;
      std::vector<Node> next;
      for (const auto& partial : out)
        for (auto& v : expand_pm(n.kids[i])) {
          Node copy = partial;
          copy.kids[i] = std::move(v);
          next.push_back(std::move(copy));
        }
      out = std::move(next);
      if (out.size() > 8) throw BudgetExhausted{};
    }
    return out;
  }

  // The variable side of a relation: "x", or a label such as "f(x)" or "|z|"... without numbers.
  static bool is_lone_symbol(const Node& n) { return only_symbols(n); }

  // "x \le 5" -> (-inf, 5]; "-2 \le x < 7" -> [-2, 7); "x \ne 3" -> (-inf,3) U (3,inf);
  // "x \in S" -> S. Only relations between one variable and constant sides.
  std::optional<Node> relation_set(const Node& rel) {
    auto inf = [](bool negative) {
      Node i = leaf(K::Const, "inf");
      return negative ? make(K::Neg, {i}) : i;
    };
    if (rel.kids.size() == 2 && rel.ops[0] == "in" && !has_symbols(rel.kids[1])) return canonical(rel.kids[1]);
    // Find the single variable side.
    int var = -1;
    for (std::size_t i = 0; i < rel.kids.size(); ++i) {
      if (is_lone_symbol(rel.kids[i])) {
        if (var >= 0) return std::nullopt;
        var = static_cast<int>(i);
      } else if (has_symbols(rel.kids[i]) || !is_value(rel.kids[i])) {
        return std::nullopt;
      }
    }
    if (var < 0) return std::nullopt;
    for (const auto& op : rel.ops)
      if (op == "=" || op == "in") return std::nullopt;
    Node lo = inf(true), hi = inf(false);
    bool lo_open = true, hi_open = true;
    bool have_lo = false, have_hi = false;
    if (rel.kids.size() == 2 && rel.ops[0] == "!=") {
      const Node& c = rel.kids[var == 0 ? 1 : 0];
      Node left = make(K::Interval, {inf(true), c});
      Node right = make(K::Interval, {c, inf(false)});
      left.lo_open = left.hi_open = right.lo_open = right.hi_open = true;
      return make(K::Union, {std::move(left), std::move(right)});
    }
    // Each op between kids[j] and kids[j+1] bounds the variable when one side is the variable.
    for (std::size_t j = 0; j < rel.ops.size(); ++j) {
      const std::string& op = rel.ops[j];
      if (op == "!=") return std::nullopt;
      int left = static_cast<int>(j), right = static_cast<int>(j + 1);
      if (left != var && right != var) return std::nullopt;
      bool less = op == "<" || op == "<=";
      bool strict = op == "<" || op == ">";
      const Node& c = left == var ? rel.kids[right] : rel.kids[left];
      // var < c (var on the left of <) or c > var: an upper bound.
      bool upper = (left == var) == less;
      if (upper) {
        if (have_hi) return std::nullopt;
        hi = c;
        hi_open = strict;
        have_hi = true;
      } else {
        if (have_lo) return std::nullopt;
        lo = c;
        lo_open = strict;
        have_lo = true;
      }
    }
    Node iv = make(K::Interval, {std::move(lo), std::move(hi)});
    iv.lo_open = lo_open;
    iv.hi_open = hi_open;
    return iv;
  }

  // a is the predicted answer, b the reference: the rules are Math-Verify's, which are not symmetric.
  bool equal_canonical(const Node& a, const Node& b, int depth) {
    bool eq_a = a.kind == K::Rel && a.ops.size() == 1 && a.ops[0] == "=";
    bool eq_b = b.kind == K::Rel && b.ops.size() == 1 && b.ops[0] == "=";
    if (eq_a && eq_b) return equations_equal(a, b);
    // A predicted equation against a value: its last side ("x = 5", "2x = 4" vs "4"). A reference
    // equation against a value only when it labels the value ("x = 5", "f(x) = 1", "AB = 4").
    if (eq_a && b.kind != K::Rel) {
      // "11 = x" names the value on the left.
      const Node& side = only_symbols(a.kids.back()) && !only_symbols(a.kids.front()) ? a.kids.front() : a.kids.back();
      return equal(side, b, depth + 1);
    }
    if (eq_b && a.kind != K::Rel) return only_symbols(b.kids[0]) && equal(a, b.kids.back(), depth + 1);
    if (a.kind == K::Rel && b.kind == K::Rel) return relations_equal(a, b, depth);
    if (a.kind == K::Rel || b.kind == K::Rel) {  // "0 < x < 1" vs "(0, 1)": the relation's solution set
      const Node& rel = a.kind == K::Rel ? a : b;
      auto set = relation_set(rel);
      if (!set) return false;
      return a.kind == K::Rel ? equal(*set, b, depth + 1) : equal(a, *set, depth + 1);
    }
    if (is_value(a) && is_value(b)) return values_equal(a, b);
    // A one-element set or list against its element.
    if ((a.kind == K::Set || a.kind == K::List) && a.kids.size() == 1 && is_value(b)) return equal(a.kids[0], b, depth + 1);
    if ((b.kind == K::Set || b.kind == K::List) && b.kids.size() == 1 && is_value(a)) return equal(a, b.kids[0], depth + 1);
    bool unordered_a = a.kind == K::Set || a.kind == K::List;
    bool unordered_b = b.kind == K::Set || b.kind == K::List;
    if (unordered_a && unordered_b) return sets_equal(a.kids, b.kids, depth);
    if (a.kind == K::Tuple && b.kind == K::Tuple) return ordered_equal(a.kids, b.kids, depth);
    // A reference tuple against a predicted list keeps the written order; a reference set ignores it.
    if (b.kind == K::Tuple && a.kind == K::List) return ordered_equal(a.kids, b.kids, depth);
    if (unordered_b && a.kind == K::Tuple) return sets_equal(a.kids, b.kids, depth);
    if (a.kind == K::Interval && b.kind == K::Interval)
      return a.lo_open == b.lo_open && a.hi_open == b.hi_open && ordered_equal(a.kids, b.kids, depth);
    // "(0, 1)" is read as a tuple; it is also the open interval.
    if (a.kind == K::Tuple && b.kind == K::Interval) return tuple_is_interval(a, b, depth);
    if (b.kind == K::Tuple && a.kind == K::Interval) return tuple_is_interval(b, a, depth);
    if (a.kind == K::Union || b.kind == K::Union) {
      std::vector<Node> pa = a.kind == K::Union ? a.kids : std::vector<Node>{a};
      std::vector<Node> pb = b.kind == K::Union ? b.kids : std::vector<Node>{b};
      return sets_equal(pa, pb, depth);
    }
    if (a.kind == K::Matrix && b.kind == K::Matrix) return a.cols == b.cols && ordered_equal(a.kids, b.kids, depth);
    return false;
  }

  bool tuple_is_interval(const Node& tuple, const Node& iv, int depth) {
    return tuple.kids.size() == 2 && iv.lo_open && iv.hi_open && ordered_equal(tuple.kids, iv.kids, depth);
  }

  bool ordered_equal(const std::vector<Node>& a, const std::vector<Node>& b, int depth) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
      if (!equal(a[i], b[i], depth + 1)) return false;
    return true;
  }

  // Sets: every element of each side equals some element of the other (order and repeats ignored).
  bool sets_equal(const std::vector<Node>& a, const std::vector<Node>& b, int depth) {
    if (a.size() * b.size() > 4096) throw BudgetExhausted{};
    auto covered = [&](const std::vector<Node>& x, const std::vector<Node>& y) {
      for (const auto& u : x) {
        bool found = false;
        for (const auto& v : y)
          if (equal(u, v, depth + 1)) {
            found = true;
            break;
          }
        if (!found) return false;
      }
      return true;
    };
    return covered(a, b) && covered(b, a);
  }

  // Symbol values at the points where expressions are compared.
  std::vector<Env> points(const std::set<std::string>& symbols, bool percent) const {
    std::vector<Env> out;
    static constexpr std::array<double, 4> kBase = {0.5772156649, 1.4142135624, 2.7182818285, 0.3183098862};
    for (int p = 0; p < 4; ++p) {
      Env env;
      env.percent_as_fraction = percent;
      int k = 0;
      for (const auto& s : symbols) {
        env.values.emplace_back(s, kBase[p] + 0.6180339887 * k + 0.1 * p * k);
        ++k;
      }
      out.push_back(std::move(env));
      if (symbols.empty()) break;
    }
    return out;
  }

  // A number as written: 0.333333, -2, 28\%.
  static bool is_number_literal(const Node& n) {
    if (n.kind == K::Num) return true;
    if (n.kind == K::Neg || n.kind == K::Pct) return is_number_literal(n.kids[0]);
    return false;
  }

  // Against a number as written, both sides rounded to float_rounding decimal places; otherwise
  // equal to about 9 significant digits.
  bool numbers_close(Complex x, Complex y, bool rounded) const {
    if (!finite(x) || !finite(y)) {
      return x.imag() == 0 && y.imag() == 0 && std::isinf(x.real()) && std::isinf(y.real()) &&
             (x.real() > 0) == (y.real() > 0);
    }
    double scale = std::pow(10.0, options_.float_rounding);
    auto part_close = [&](double u, double v) {
      if (u == v) return true;
      double m = std::max(std::abs(u), std::abs(v));
      if (rounded && std::round(u * scale) == std::round(v * scale) && m * scale < 9e15) {
        // Below 1, also to float_rounding significant digits: 0.0000672 is not 0.0000673.
        if (m >= 1) return true;
        double unit = std::pow(10.0, std::floor(std::log10(m)) - options_.float_rounding + 1);
        if (std::round(u / unit) == std::round(v / unit)) return true;
      }
      return std::abs(u - v) <= std::max(std::abs(u), std::abs(v)) * 1e-12;
    };
    return part_close(x.real(), y.real()) && part_close(x.imag(), y.imag());
  }

  bool values_equal(const Node& a, const Node& b) {
    std::set<std::string> sa, sb;
    collect_symbols(a, sa);
    collect_symbols(b, sb);
    if (sa != sb || sa.size() > 8) return false;
    bool pct = has_kind(a, K::Pct) || has_kind(b, K::Pct);
    bool literal = is_number_literal(a) || is_number_literal(b);
    for (bool as_fraction : {false, true}) {
      if (pct && !as_fraction && options_.percent == PercentMode::Fraction) continue;
      if (as_fraction && (!pct || options_.percent == PercentMode::Number)) break;
      bool all = true;
      for (const Env& env : points(sa, as_fraction)) {
        Complex x = eval(a, env, budget_), y = eval(b, env, budget_);
        bool ok = sa.empty() ? numbers_close(x, y, literal)
                             : finite(x) && finite(y) && std::abs(x - y) <= 1e-8 * std::max({1.0, std::abs(x), std::abs(y)});
        if (!ok) {
          all = false;
          break;
        }
      }
      if (all) return true;
    }
    return false;
  }

  // f = lhs - rhs for each; equal when f_a = c f_b for one constant c != 0 at every point
  // (c > 0 when `positive`, for inequalities).
  bool proportional(const Node& fa, const Node& fb, bool positive) {
    std::set<std::string> sa, sb;
    collect_symbols(fa, sa);
    collect_symbols(fb, sb);
    if (sa != sb || sa.empty() || sa.size() > 8) return false;
    std::optional<Complex> ratio;
    int zeros = 0;
    for (const Env& env : points(sa, false)) {
      Complex x = eval(fa, env, budget_), y = eval(fb, env, budget_);
      if (!finite(x) || !finite(y)) return false;
      bool zx = std::abs(x) < 1e-12, zy = std::abs(y) < 1e-12;
      if (zx != zy) return false;
      if (zx) {
        ++zeros;
        continue;
      }
      Complex r = x / y;
      if (!ratio) {
        ratio = r;
      } else if (std::abs(r - *ratio) > 1e-8 * std::max(1.0, std::abs(*ratio))) {
        return false;
      }
    }
    if (!ratio) return zeros > 0;
    if (positive) return ratio->imag() == 0 ? ratio->real() > 0 : false;
    return true;
  }

  static Node difference(const Node& rel, std::size_t i) {
    return make(K::Add, {rel.kids[i], make(K::Neg, {rel.kids[i + 1]})});
  }

  bool equations_equal(const Node& a, const Node& b) {
    // Same label on the left ("y = 2x + 3" vs "y = 3 + 2x", "f(x) = 1" vs "f(x) = 1"): the right sides.
    if (structurally_equal(a.kids[0], b.kids[0]) && !has_symbols(a.kids[1]) && !has_symbols(b.kids[1]))
      return equal(a.kids[1], b.kids[1]);
    if (!is_value(a.kids[0]) || !is_value(a.kids[1]) || !is_value(b.kids[0]) || !is_value(b.kids[1])) {
      return structurally_equal(a.kids[0], b.kids[0]) && equal(a.kids[1], b.kids[1]);
    }
    return proportional(difference(a, 0), difference(b, 0), false);
  }

  // Inequalities: the same relation after writing both as "f op 0" with op in {<, <=}, f scaled by
  // c > 0; relations in one variable also by their solution sets ("-2 \le x \le 7" vs "x \in [-2, 7]").
  bool relations_equal(const Node& a, const Node& b, int depth) {
    auto sa = relation_set(a), sb = relation_set(b);
    if (sa && sb) return equal(*sa, *sb, depth + 1);
    if (a.kids.size() != 2 || b.kids.size() != 2) {
      if (a.kids.size() != b.kids.size()) return false;
      for (std::size_t i = 0; i + 1 < a.kids.size(); ++i) {
        Node ra = make(K::Rel, {a.kids[i], a.kids[i + 1]}), rb = make(K::Rel, {b.kids[i], b.kids[i + 1]});
        ra.ops = {a.ops[i]};
        rb.ops = {b.ops[i]};
        if (!relations_equal(ra, rb, depth + 1)) return false;
      }
      return true;
    }
    if (a.ops[0] == "in" || b.ops[0] == "in") return false;
    auto oriented = [](const Node& r) {
      std::string op = r.ops[0];
      Node f = difference(r, 0);
      if (op == ">" || op == ">=") {
        f = make(K::Neg, {f});
        op = op == ">" ? "<" : "<=";
      }
      return std::make_pair(op, f);
    };
    auto [oa, fa] = oriented(a);
    auto [ob, fb] = oriented(b);
    if (oa != ob) return false;
    if (!is_value(a.kids[0]) || !is_value(a.kids[1]) || !is_value(b.kids[0]) || !is_value(b.kids[1])) return false;
    return proportional(fa, fb, oa != "!=");
  }

  static bool structurally_equal(const Node& a, const Node& b) {
    if (a.kind != b.kind || a.name != b.name || a.num != b.num || a.kids.size() != b.kids.size()) return false;
    for (std::size_t i = 0; i < a.kids.size(); ++i)
      if (!structurally_equal(a.kids[i], b.kids[i])) return false;
    return true;
  }

  const MathCompareOptions& options_;
  Budget& budget_;
};

// "1000,99", "1,22", "0,111": one comma that cannot be a thousands separator, read as a decimal point
// (a comma before exactly three digits after a 1-3 digit whole part is a list or thousands, never this).
bool is_decimal_comma(std::string_view s) {
  std::string t = trim(s);
  std::size_t i = !t.empty() && t[0] == '-' ? 1 : 0;
  std::size_t comma = t.find(',');
  if (comma == std::string::npos || comma == i || comma + 1 >= t.size()) return false;
  for (std::size_t j = i; j < t.size(); ++j)
    if (j != comma && !is_digit(t[j])) return false;
  std::size_t whole = comma - i, frac = t.size() - comma - 1;
  return frac != 3 || whole > 3 || t[i] == '0';
}

std::string replace_comma(std::string s) {
  std::replace(s.begin(), s.end(), ',', '.');
  return s;
}

// Without spaces, but for one after a comma ("32, 349" is a list, "32,349" a number).
std::string compact(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (!is_space(s[i])) {
      out += s[i];
    } else if (i > 0 && s[i - 1] == ',' && out.back() == ',') {
      out += ' ';
    }
  }
  return out;
}

// A plain decimal number: "1.22", "-0.5".
bool is_plain_decimal(std::string_view s) {
  std::string t = trim(s);
  std::size_t i = !t.empty() && t[0] == '-' ? 1 : 0;
  return t.find('.') != std::string::npos && i < t.size() &&
         std::all_of(t.begin() + static_cast<std::ptrdiff_t>(i), t.end(), [](char c) { return is_digit(c) || c == '.'; });
}

}  // namespace

std::size_t matching_brace(std::string_view s, std::size_t open) {
  int depth = 0;
  for (std::size_t i = open; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 1 < s.size()) {
      ++i;
      continue;
    }
    if (s[i] == '{') ++depth;
    if (s[i] == '}' && --depth == 0) return i;
  }
  return std::string::npos;
}

MathCheck compare_math_answers(std::string_view predicted, std::string_view reference,
                               const MathCompareOptions& options) {
  MathCheck check;
  if (trim(predicted).empty() || trim(reference).empty()) return check;
  Budget budget{options.budget};
  try {
    std::string np = normalize(predicted), nr = normalize(reference);
    if (compact(np) == compact(nr)) {
      check.equal = true;
      return check;
    }
    // A decimal comma in the reference only against a decimal ("1,22" vs "1.22"); "-2,1" is a list.
    if (is_decimal_comma(nr) && is_plain_decimal(np)) nr = replace_comma(nr);
    Parsed ref = parse_answer(nr, is_thousands_number(nr), budget);
    bool ref_is_number = ref.node && ref.node->kind == K::Num;
    if (ref_is_number && is_decimal_comma(np)) np = replace_comma(np);
    Parsed pred = parse_answer(np, ref_is_number, budget);
    if (ref.is_text || pred.is_text) {  // word answers: the words, case and punctuation aside
      check.equal = !ref.text.empty() && ref.text == pred.text;
      return check;
    }
    if (!ref.node || !pred.node) return check;
    // A lone letter (a choice, a named point) compares case aside: "C" is "c".
    if (pred.node->kind == K::Sym && ref.node->kind == K::Sym && pred.node->name.size() == 1 &&
        ref.node->name.size() == 1) {
      check.equal = std::tolower(static_cast<unsigned char>(pred.node->name[0])) ==
                    std::tolower(static_cast<unsigned char>(ref.node->name[0]));
      return check;
    }
    Comparer comparer(options, budget);
    check.equal = comparer.equal(*pred.node, *ref.node);
  } catch (const BudgetExhausted&) {
    check.equal = false;
    check.over_budget = true;
  }
  return check;
}

std::optional<double> evaluate_latex(std::string_view latex, const std::map<char, double>& vars) {
  Budget budget{400000};
  try {
    Parsed p = parse_answer(latex, false, budget);
    if (!p.node || !is_value(*p.node) || has_kind(*p.node, K::PlusMinus)) return std::nullopt;
    Env env;
    std::set<std::string> symbols;
    collect_symbols(*p.node, symbols);
    for (const auto& s : symbols) {
      if (s.size() != 1 || !vars.count(s[0])) return std::nullopt;
      env.values.emplace_back(s, vars.at(s[0]));
    }
    Complex v = eval(*p.node, env, budget);
    if (!finite(v) || std::abs(v.imag()) > 1e-12 * std::max(1.0, std::abs(v.real()))) return std::nullopt;
    return v.real();
  } catch (const BudgetExhausted&) {
    return std::nullopt;
  }
}

}  // namespace r1
