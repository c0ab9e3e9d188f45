#include "r1/tokenizer/jinja.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <ctime>
#include <optional>
#include <set>
#include <variant>

namespace r1::jinja {

// ---------------------------------------------------------------------------------------------
// Values: Python's data model as far as chat templates use it.

struct Value;
using List = std::vector<Value>;
using Dict = std::vector<std::pair<std::string, Value>>;  // insertion order, as Python dicts
struct Call;
using Function = std::function<Value(Call&)>;

struct Value {
  enum class Kind { Undefined, None, Bool, Int, Float, String, List, Dict, Function };
  Kind kind = Kind::Undefined;
  bool b = false;
  long long i = 0;
  double f = 0;
  std::string s;  // String; for Undefined, the name that was looked up
  std::shared_ptr<List> list;
  std::shared_ptr<Dict> dict;
  std::shared_ptr<Function> fn;
  bool ns = false;  // a namespace(): its attributes may be assigned

  static Value none() {
    Value v;
    v.kind = Kind::None;
    return v;
  }
  static Value boolean(bool x) {
    Value v;
    v.kind = Kind::Bool;
    v.b = x;
    return v;
  }
  static Value integer(long long x) {
    Value v;
    v.kind = Kind::Int;
    v.i = x;
    return v;
  }
  static Value real(double x) {
    Value v;
    v.kind = Kind::Float;
    v.f = x;
    return v;
  }
  static Value string(std::string x) {
    Value v;
    v.kind = Kind::String;
    v.s = std::move(x);
    return v;
  }
  static Value of_list(List x) {
    Value v;
    v.kind = Kind::List;
    v.list = std::make_shared<List>(std::move(x));
    return v;
  }
  static Value of_dict(Dict x) {
    Value v;
    v.kind = Kind::Dict;
    v.dict = std::make_shared<Dict>(std::move(x));
    return v;
  }
  static Value function(Function f) {
    Value v;
    v.kind = Kind::Function;
    v.fn = std::make_shared<Function>(std::move(f));
    return v;
  }
  static Value undefined(std::string name) {
    Value v;
    v.s = std::move(name);
    return v;
  }
  bool is(Kind k) const { return kind == k; }
  bool defined() const { return kind != Kind::Undefined; }
};

using K = Value::Kind;

// A failure while rendering; the renderer adds the template's name and the line.
struct RenderError {
  std::string message;
  bool raised = false;
};

[[noreturn]] void fail(const std::string& message) { throw RenderError{message}; }

std::string type_name(const Value& v) {
  switch (v.kind) {
    case K::Undefined: return "Undefined";
    case K::None: return "NoneType";
    case K::Bool: return "bool";
    case K::Int: return "int";
    case K::Float: return "float";
    case K::String: return "str";
    case K::List: return "list";
    case K::Dict: return v.ns ? "Namespace" : "dict";
    case K::Function: return "function";
  }
  return "?";
}

Value from_json(const nlohmann::ordered_json& j) {
  switch (j.type()) {
    case nlohmann::json::value_t::null: return Value::none();
    case nlohmann::json::value_t::boolean: return Value::boolean(j.get<bool>());
    case nlohmann::json::value_t::number_integer: return Value::integer(j.get<long long>());
    case nlohmann::json::value_t::number_unsigned: return Value::integer(static_cast<long long>(j.get<unsigned long long>()));
    case nlohmann::json::value_t::number_float: return Value::real(j.get<double>());
    case nlohmann::json::value_t::string: return Value::string(j.get<std::string>());
    case nlohmann::json::value_t::array: {
      List l;
      for (const auto& e : j) l.push_back(from_json(e));
      return Value::of_list(std::move(l));
    }
    case nlohmann::json::value_t::object: {
      Dict d;
      for (const auto& [k, e] : j.items()) d.emplace_back(k, from_json(e));
      return Value::of_dict(std::move(d));
    }
    default: return Value::none();
  }
}

// Python's repr of a float: the shortest digits that round-trip, fixed notation for exponents
// -4..15, else scientific with a two-digit exponent; always a '.' or an exponent.
std::string float_repr(double x) {
  if (std::isnan(x)) return "nan";
  if (std::isinf(x)) return x > 0 ? "inf" : "-inf";
  if (x == 0) return std::signbit(x) ? "-0.0" : "0.0";
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof buf, x, std::chars_format::scientific);
  std::string sci(buf, r.ptr);
  bool negative = sci[0] == '-';
  if (negative) sci.erase(0, 1);
  std::size_t e = sci.find('e');
  std::string mantissa = sci.substr(0, e);
  int exponent = std::stoi(sci.substr(e + 1));
  std::string digits;
  for (char c : mantissa)
    if (c != '.') digits += c;
  std::string out;
  if (exponent >= -4 && exponent < 16) {
    if (exponent >= 0) {
      std::string whole = digits.substr(0, std::min<std::size_t>(digits.size(), exponent + 1));
      while (static_cast<int>(whole.size()) < exponent + 1) whole += '0';
      std::string frac = digits.size() > static_cast<std::size_t>(exponent + 1) ? digits.substr(exponent + 1) : "0";
      out = whole + "." + frac;
    } else {
      out = "0." + std::string(-exponent - 1, '0') + digits;
    }
  } else {
    out = digits.substr(0, 1);
    if (digits.size() > 1) out += "." + digits.substr(1);
    out += fmt::format("e{}{:02d}", exponent < 0 ? '-' : '+', std::abs(exponent));
  }
  return negative ? "-" + out : out;
}

std::string repr(const Value& v);

std::string str(const Value& v) {
  switch (v.kind) {
    case K::Undefined: return "";
    case K::None: return "None";
    case K::Bool: return v.b ? "True" : "False";
    case K::Int: return std::to_string(v.i);
    case K::Float: return float_repr(v.f);
    case K::String: return v.s;
    case K::List:
    case K::Dict: return repr(v);
    case K::Function: return "<function>";
  }
  return "";
}

std::string string_repr(const std::string& s) {
  char quote = s.find('\'') != std::string::npos && s.find('"') == std::string::npos ? '"' : '\'';
  std::string out(1, quote);
  for (unsigned char c : s) {
    if (c == '\\') out += "\\\\";
    else if (c == static_cast<unsigned char>(quote)) out += std::string("\\") + quote;
    else if (c == '\n') out += "\\n";
    else if (c == '\r') out += "\\r";
    else if (c == '\t') out += "\\t";
    else if (c < 0x20 || c == 0x7f) out += fmt::format("\\x{:02x}", c);
    else out += static_cast<char>(c);
  }
  return out + quote;
}

std::string repr(const Value& v) {
  switch (v.kind) {
    case K::String: return string_repr(v.s);
    case K::List: {
      std::string out = "[";
      for (std::size_t i = 0; i < v.list->size(); ++i) out += (i ? ", " : "") + repr((*v.list)[i]);
      return out + "]";
    }
    case K::Dict: {
      std::string out = v.ns ? "<Namespace {" : "{";
      for (std::size_t i = 0; i < v.dict->size(); ++i)
        out += (i ? ", " : "") + string_repr((*v.dict)[i].first) + ": " + repr((*v.dict)[i].second);
      return out + (v.ns ? "}>" : "}");
    }
    default: return str(v);
  }
}

bool truthy(const Value& v) {
  switch (v.kind) {
    case K::Undefined:
    case K::None: return false;
    case K::Bool: return v.b;
    case K::Int: return v.i != 0;
    case K::Float: return v.f != 0;
    case K::String: return !v.s.empty();
    case K::List: return !v.list->empty();
    case K::Dict: return !v.dict->empty() || v.ns;
    case K::Function: return true;
  }
  return false;
}

// json.dumps(x, ensure_ascii=False, indent=indent), as transformers' tojson filter.
void dump_json(const Value& v, std::string& out, int indent, int depth) {
  auto newline = [&](int d) {
    out += '\n';
    out.append(static_cast<std::size_t>(indent * d), ' ');
  };
  switch (v.kind) {
    case K::Undefined: fail("Object of type Undefined is not JSON serializable");
    case K::None: out += "null"; return;
    case K::Bool: out += v.b ? "true" : "false"; return;
    case K::Int: out += std::to_string(v.i); return;
    case K::Float:
      if (std::isnan(v.f)) out += "NaN";
      else if (std::isinf(v.f)) out += v.f > 0 ? "Infinity" : "-Infinity";
      else out += float_repr(v.f);
      return;
    case K::String: {
      out += '"';
      for (unsigned char c : v.s) {
        switch (c) {
          case '"': out += "\\\""; break;
          case '\\': out += "\\\\"; break;
          case '\n': out += "\\n"; break;
          case '\r': out += "\\r"; break;
          case '\t': out += "\\t"; break;
          case '\b': out += "\\b"; break;
          case '\f': out += "\\f"; break;
          default:
            if (c < 0x20) out += fmt::format("\\u{:04x}", c);
            else out += static_cast<char>(c);
        }
      }
      out += '"';
      return;
    }
    case K::List: {
      if (v.list->empty()) {
        out += "[]";
        return;
      }
      out += '[';
      for (std::size_t i = 0; i < v.list->size(); ++i) {
        if (i) out += indent >= 0 ? "," : ", ";
        if (indent >= 0) newline(depth + 1);
        dump_json((*v.list)[i], out, indent, depth + 1);
      }
      if (indent >= 0) newline(depth);
      out += ']';
      return;
    }
    case K::Dict: {
      if (v.dict->empty()) {
        out += "{}";
        return;
      }
      out += '{';
      for (std::size_t i = 0; i < v.dict->size(); ++i) {
        if (i) out += indent >= 0 ? "," : ", ";
        if (indent >= 0) newline(depth + 1);
        dump_json(Value::string((*v.dict)[i].first), out, indent, depth + 1);
        out += ": ";
        dump_json((*v.dict)[i].second, out, indent, depth + 1);
      }
      if (indent >= 0) newline(depth);
      out += '}';
      return;
    }
    case K::Function: fail("Object of type function is not JSON serializable");
  }
}

// ---------------------------------------------------------------------------------------------
// Expressions.

struct Expr;
using ExprPtr = std::unique_ptr<Expr>;

struct Expr {
  enum class T { Literal, Name, Attr, Item, Slice, Call, Filter, Test, Unary, Binary, Cond, ListLit, DictLit };
  T t;
  int line = 0;
  Value literal;
  std::string name;  // Name, Attr, Filter, Test, Unary/Binary operator
  std::vector<ExprPtr> args;  // operands, call arguments (the callee or filtered value first)
  std::vector<std::pair<std::string, ExprPtr>> kwargs;
  bool negated = false;  // Test: "is not"
  bool has[3] = {false, false, false};  // Slice: start, stop, step present
};

struct Call {
  std::vector<Value> args;
  std::vector<std::pair<std::string, Value>> kwargs;
  const Value* kwarg(const std::string& name) const {
    for (const auto& [k, v] : kwargs)
      if (k == name) return &v;
    return nullptr;
  }
  // The n-th positional argument, or the keyword `name`, or nullptr.
  const Value* arg(std::size_t n, const std::string& name) const {
    if (n < args.size()) return &args[n];
    return kwarg(name);
  }
};

// ---------------------------------------------------------------------------------------------
// Statements.

struct Node {
  enum class T { Text, Output, If, For, Set, SetNs, SetBlock, Macro, Generation, Break, Continue };
  T t;
  int line = 0;
  std::string text;                  // Text; Set / SetBlock / Macro: the name; SetNs: the namespace
  std::string attr;                  // SetNs: the attribute
  ExprPtr expr;                      // Output, Set, For (the iterable)
  std::vector<std::string> targets;  // For: loop variables; Macro: parameters
  std::vector<ExprPtr> defaults;     // Macro: parameter defaults (nullptr: none)
  ExprPtr filter;                    // For: "for x in xs if cond"
  std::vector<std::pair<ExprPtr, std::vector<std::unique_ptr<Node>>>> branches;  // If: (cond, body)...
  std::vector<std::unique_ptr<Node>> body, else_body;
};

using Body = std::vector<std::unique_ptr<Node>>;

// ---------------------------------------------------------------------------------------------
// Lexing the template into text and tags, with jinja2's whitespace rules.

struct Piece {
  enum class T { Text, Var, Block, Comment } t;
  std::string content;  // tag contents without delimiters and modifiers
  int line = 1;
};

std::vector<Piece> split_template(std::string source, const std::string& name) {
  if (!source.empty() && source.back() == '\n') {  // keep_trailing_newline=False
    source.pop_back();
    if (!source.empty() && source.back() == '\r') source.pop_back();
  }
  std::vector<Piece> pieces;
  std::size_t pos = 0;
  int line = 1;
  bool strip_next = false;   // the previous tag ended with '-'
  bool trim_next = false;    // the previous tag was a block or comment (trim_blocks)
  auto count_lines = [](std::string_view s) { return static_cast<int>(std::count(s.begin(), s.end(), '\n')); };
  while (pos <= source.size()) {
    std::size_t open = pos;
    while (true) {
      open = source.find('{', open);
      if (open == std::string::npos || open + 1 >= source.size()) {
        open = std::string::npos;
        break;
      }
      char c = source[open + 1];
      if (c == '{' || c == '%' || c == '#') break;
      ++open;
    }
    std::string text = source.substr(pos, open == std::string::npos ? std::string::npos : open - pos);
    bool line_start = pos == 0 || source[pos - 1] == '\n';
    int text_line = line;
    line += count_lines(text);
    if (trim_next && !text.empty() && text[0] == '\n') {
      text.erase(0, 1);
      line_start = true;
    } else if (trim_next && text.size() >= 2 && text[0] == '\r' && text[1] == '\n') {
      text.erase(0, 2);
      line_start = true;
    }
    if (strip_next) {
      std::size_t k = 0;
      while (k < text.size() && std::isspace(static_cast<unsigned char>(text[k]))) ++k;
      text.erase(0, k);
    }
    if (open == std::string::npos) {
      if (!text.empty()) pieces.push_back({Piece::T::Text, text, text_line});
      break;
    }
    char kind = source[open + 1];
    std::size_t inner = open + 2;
    bool strip_before = inner < source.size() && source[inner] == '-';
    bool keep_before = inner < source.size() && source[inner] == '+';
    if (strip_before || keep_before) ++inner;
    // The tag's end, skipping string literals.
    std::string close = kind == '{' ? "}}" : kind == '%' ? "%}" : "#}";
    std::size_t end = inner;
    if (kind == '#') {
      end = source.find("#}", inner);
    } else {
      char quote = 0;
      for (; end < source.size(); ++end) {
        char c = source[end];
        if (quote) {
          if (c == '\\') ++end;
          else if (c == quote) quote = 0;
        } else if (c == '\'' || c == '"') {
          quote = c;
        } else if (source.compare(end, 2, close) == 0) {
          break;
        }
      }
      if (end >= source.size()) end = std::string::npos;
    }
    if (end == std::string::npos)
      throw TemplateError(fmt::format("{}: line {}: the tag opened here is never closed with '{}'", name, line, close));
    bool strip_after = end > inner && source[end - 1] == '-';
    std::string content = source.substr(inner, (strip_after ? end - 1 : end) - inner);
    bool block = kind == '%' || kind == '#';
    if (strip_before) {
      while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.pop_back();
    } else if (block && !keep_before) {  // lstrip_blocks: the indentation before a block tag on its own line
      std::size_t nl = text.rfind('\n');
      std::size_t from = nl == std::string::npos ? 0 : nl + 1;
      bool blank = std::all_of(text.begin() + static_cast<std::ptrdiff_t>(from), text.end(),
                               [](char c) { return c == ' ' || c == '\t'; });
      if (blank && (nl != std::string::npos || line_start)) text.erase(from);
    }
    if (!text.empty()) pieces.push_back({Piece::T::Text, text, text_line});
    Piece tag{kind == '{' ? Piece::T::Var : kind == '%' ? Piece::T::Block : Piece::T::Comment, content, line};
    if (tag.t != Piece::T::Comment) pieces.push_back(tag);
    line += count_lines(source.substr(open, end + 2 - open));
    strip_next = strip_after;
    trim_next = block;
    pos = end + 2;
  }
  return pieces;
}

// ---------------------------------------------------------------------------------------------
// The expression tokenizer and parser.

struct Tok {
  enum class T { Name, Int, Float, String, Op, End } t = T::End;
  std::string text;
  long long i = 0;
  double f = 0;
};

class ExprParser {
 public:
  ExprParser(const std::string& src, int line, const std::string& tname) : line_(line), tname_(tname) {
    tokenize(src);
  }

  [[noreturn]] void error(const std::string& what) const {
    throw TemplateError(fmt::format("{}: line {}: {}", tname_, line_, what));
  }

  bool at_end() const { return peek().t == Tok::T::End; }
  const Tok& peek(std::size_t k = 0) const {
    static const Tok end;
    return i_ + k < toks_.size() ? toks_[i_ + k] : end;
  }
  Tok next() {
    if (i_ >= toks_.size()) error("unexpected end of the tag");
    return toks_[i_++];
  }
  bool is_op(const std::string& op, std::size_t k = 0) const { return peek(k).t == Tok::T::Op && peek(k).text == op; }
  bool is_name(const std::string& n, std::size_t k = 0) const { return peek(k).t == Tok::T::Name && peek(k).text == n; }
  bool accept_op(const std::string& op) {
    if (!is_op(op)) return false;
    ++i_;
    return true;
  }
  bool accept_name(const std::string& n) {
    if (!is_name(n)) return false;
    ++i_;
    return true;
  }
  void expect_op(const std::string& op) {
    if (!accept_op(op)) error("expected '" + op + "' but found '" + describe(peek()) + "'");
  }
  std::string expect_name() {
    if (peek().t != Tok::T::Name) error("expected a name but found '" + describe(peek()) + "'");
    return next().text;
  }
  static std::string describe(const Tok& t) { return t.t == Tok::T::End ? "end of tag" : t.text; }

  ExprPtr expression() { return conditional(); }
  // An expression without the trailing "if ... else ..." (a for loop's iterable, before its filter).
  ExprPtr expression_no_if() { return or_expr(); }

 private:
  ExprPtr make(Expr::T t) {
    auto e = std::make_unique<Expr>();
    e->t = t;
    e->line = line_;
    return e;
  }

  void tokenize(const std::string& s) {
    std::size_t p = 0;
    while (p < s.size()) {
      char c = s[p];
      if (std::isspace(static_cast<unsigned char>(c))) {
        ++p;
        continue;
      }
      Tok t;
      if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
        std::size_t b = p;
        while (p < s.size() && (std::isalnum(static_cast<unsigned char>(s[p])) || s[p] == '_')) ++p;
        t.t = Tok::T::Name;
        t.text = s.substr(b, p - b);
      } else if (std::isdigit(static_cast<unsigned char>(c))) {
        std::size_t b = p;
        while (p < s.size() && (std::isdigit(static_cast<unsigned char>(s[p])) || s[p] == '_')) ++p;
        bool is_float = false;
        if (p + 1 < s.size() && s[p] == '.' && std::isdigit(static_cast<unsigned char>(s[p + 1]))) {
          is_float = true;
          ++p;
          while (p < s.size() && std::isdigit(static_cast<unsigned char>(s[p]))) ++p;
        }
        if (p < s.size() && (s[p] == 'e' || s[p] == 'E')) {
          std::size_t e = p + 1;
          if (e < s.size() && (s[e] == '+' || s[e] == '-')) ++e;
          if (e < s.size() && std::isdigit(static_cast<unsigned char>(s[e]))) {
            is_float = true;
            p = e;
            while (p < s.size() && std::isdigit(static_cast<unsigned char>(s[p]))) ++p;
          }
        }
        t.text = s.substr(b, p - b);
        std::string clean;
        for (char ch : t.text)
          if (ch != '_') clean += ch;
        if (is_float) {
          t.t = Tok::T::Float;
          t.f = std::stod(clean);
        } else {
          t.t = Tok::T::Int;
          t.i = std::stoll(clean);
        }
      } else if (c == '\'' || c == '"') {
        t.t = Tok::T::String;
        ++p;
        while (p < s.size() && s[p] != c) {
          if (s[p] == '\\' && p + 1 < s.size()) {
            char n = s[++p];
            switch (n) {
              case 'n': t.text += '\n'; break;
              case 't': t.text += '\t'; break;
              case 'r': t.text += '\r'; break;
              case '\\': t.text += '\\'; break;
              case '\'': t.text += '\''; break;
              case '"': t.text += '"'; break;
              case '\n': break;
              default: t.text += '\\'; t.text += n;
            }
            ++p;
            continue;
          }
          t.text += s[p++];
        }
        if (p >= s.size()) error("a string literal is not closed");
        ++p;
      } else {
        static const std::vector<std::string> ops = {"**", "//", "==", "!=", "<=", ">=", "+", "-", "*", "/", "%",
                                                     "~", "<", ">", "=", "(", ")", "[", "]", "{", "}", ",", ".",
                                                     ":", "|"};
        bool found = false;
        for (const auto& op : ops) {
          if (s.compare(p, op.size(), op) == 0) {
            t.t = Tok::T::Op;
            t.text = op;
            p += op.size();
            found = true;
            break;
          }
        }
        if (!found) error(std::string("unexpected character '") + c + "'");
      }
      toks_.push_back(std::move(t));
    }
  }

  ExprPtr conditional() {
    ExprPtr then = or_expr();
    if (!is_name("if")) return then;
    next();
    ExprPtr cond = or_expr();
    ExprPtr otherwise;
    if (accept_name("else")) otherwise = conditional();
    auto e = make(Expr::T::Cond);
    e->args.push_back(std::move(then));
    e->args.push_back(std::move(cond));
    e->args.push_back(std::move(otherwise));  // may be null: undefined
    return e;
  }

  ExprPtr binary(std::string op, ExprPtr l, ExprPtr r) {
    auto e = make(Expr::T::Binary);
    e->name = std::move(op);
    e->args.push_back(std::move(l));
    e->args.push_back(std::move(r));
    return e;
  }

  ExprPtr or_expr() {
    ExprPtr l = and_expr();
    while (accept_name("or")) l = binary("or", std::move(l), and_expr());
    return l;
  }
  ExprPtr and_expr() {
    ExprPtr l = not_expr();
    while (accept_name("and")) l = binary("and", std::move(l), not_expr());
    return l;
  }
  ExprPtr not_expr() {
    if (is_name("not")) {
      next();
      auto e = make(Expr::T::Unary);
      e->name = "not";
      e->args.push_back(not_expr());
      return e;
    }
    return compare();
  }
  ExprPtr compare() {
    ExprPtr l = math1();
    while (true) {
      std::string op;
      if (peek().t == Tok::T::Op &&
          (is_op("==") || is_op("!=") || is_op("<") || is_op("<=") || is_op(">") || is_op(">="))) {
        op = next().text;
      } else if (is_name("in")) {
        next();
        op = "in";
      } else if (is_name("not") && is_name("in", 1)) {
        next();
        next();
        op = "not in";
      } else {
        break;
      }
      l = binary(op, std::move(l), math1());
    }
    return l;
  }
  ExprPtr math1() {
    ExprPtr l = concat();
    while (is_op("+") || is_op("-")) {
      std::string op = next().text;
      l = binary(op, std::move(l), concat());
    }
    return l;
  }
  ExprPtr concat() {
    ExprPtr l = math2();
    while (accept_op("~")) l = binary("~", std::move(l), math2());
    return l;
  }
  ExprPtr math2() {
    ExprPtr l = pow_expr();
    while (is_op("*") || is_op("/") || is_op("//") || is_op("%")) {
      std::string op = next().text;
      l = binary(op, std::move(l), pow_expr());
    }
    return l;
  }
  ExprPtr pow_expr() {
    ExprPtr l = unary();
    while (accept_op("**")) l = binary("**", std::move(l), unary());
    return l;
  }
  ExprPtr unary() {
    if (is_op("-") || is_op("+")) {
      std::string op = next().text;
      auto e = make(Expr::T::Unary);
      e->name = op;
      e->args.push_back(unary());
      return e;
    }
    return filters(postfix(primary()));
  }

  void call_args(Expr& e) {
    if (accept_op(")")) return;
    while (true) {
      if (peek().t == Tok::T::Name && is_op("=", 1)) {
        std::string k = next().text;
        next();
        e.kwargs.emplace_back(k, expression());
      } else {
        e.args.push_back(expression());
      }
      if (accept_op(")")) return;
      expect_op(",");
      if (accept_op(")")) return;
    }
  }

  ExprPtr postfix(ExprPtr e) {
    while (true) {
      if (accept_op(".")) {
        auto a = make(Expr::T::Attr);
        if (peek().t == Tok::T::Int) {  // "x.0": an item
          a->t = Expr::T::Item;
          auto lit = make(Expr::T::Literal);
          lit->literal = Value::integer(next().i);
          a->args.push_back(std::move(e));
          a->args.push_back(std::move(lit));
        } else {
          a->name = expect_name();
          a->args.push_back(std::move(e));
        }
        e = std::move(a);
      } else if (accept_op("[")) {
        ExprPtr parts[3];
        bool slice = false;
        bool has[3] = {false, false, false};
        for (int k = 0; k < 3; ++k) {
          if (!is_op(":") && !is_op("]")) {
            parts[k] = expression();
            has[k] = true;
          }
          if (k < 2 && accept_op(":")) {
            slice = true;
            continue;
          }
          break;
        }
        expect_op("]");
        if (!slice) {
          if (!has[0]) error("an empty subscript []");
          auto it = make(Expr::T::Item);
          it->args.push_back(std::move(e));
          it->args.push_back(std::move(parts[0]));
          e = std::move(it);
        } else {
          auto sl = make(Expr::T::Slice);
          sl->args.push_back(std::move(e));
          for (int k = 0; k < 3; ++k) {
            sl->has[k] = has[k];
            sl->args.push_back(std::move(parts[k]));
          }
          e = std::move(sl);
        }
      } else if (accept_op("(")) {
        auto c = make(Expr::T::Call);
        c->args.push_back(std::move(e));
        call_args(*c);
        e = std::move(c);
      } else {
        return e;
      }
    }
  }

  ExprPtr filters(ExprPtr e) {
    while (true) {
      if (accept_op("|")) {
        auto f = make(Expr::T::Filter);
        f->name = expect_name();
        f->args.push_back(std::move(e));
        if (accept_op("(")) call_args(*f);
        check_filter(f->name);
        e = std::move(f);
      } else if (is_name("is")) {
        next();
        auto t = make(Expr::T::Test);
        t->negated = accept_name("not");
        t->name = expect_name();
        t->args.push_back(std::move(e));
        if (accept_op("(")) {
          call_args(*t);
        } else if (peek().t == Tok::T::Int || peek().t == Tok::T::Float || peek().t == Tok::T::String ||
                   (peek().t == Tok::T::Name && !is_name("and") && !is_name("or") && !is_name("else") &&
                    !is_name("if") && !is_name("in") && !is_name("not") && !is_name("is"))) {
          t->args.push_back(postfix(primary()));  // "x is divisibleby 3", "x is sameas false"
        }
        check_test(t->name);
        e = std::move(t);
      } else {
        return e;
      }
    }
  }

  void check_filter(const std::string& n) const {
    static const std::set<std::string> known = {
        "trim", "tojson", "length", "count", "join", "upper", "lower", "capitalize", "title", "default", "d",
        "first", "last", "list", "string", "int", "float", "abs", "replace", "items", "reverse", "sort", "unique",
        "selectattr", "rejectattr", "map", "select", "reject", "sum", "max", "min", "round", "indent", "safe",
        "e", "escape", "dictsort", "batch", "wordcount", "center", "striptags", "truncate"};
    if (!known.count(n)) error("the filter '" + n + "' is not supported (r1train's Jinja subset)");
  }
  void check_test(const std::string& n) const {
    static const std::set<std::string> known = {
        "defined", "undefined", "none", "string", "number", "integer", "float", "mapping", "iterable", "sequence",
        "boolean", "true", "false", "eq", "equalto", "ne", "gt", "ge", "lt", "le", "greaterthan", "lessthan", "in",
        "odd", "even", "divisibleby", "callable", "sameas", "lower", "upper"};
    if (!known.count(n)) error("the test '" + n + "' is not supported (r1train's Jinja subset)");
  }

  ExprPtr primary() {
    Tok t = next();
    switch (t.t) {
      case Tok::T::Int: {
        auto e = make(Expr::T::Literal);
        e->literal = Value::integer(t.i);
        return e;
      }
      case Tok::T::Float: {
        auto e = make(Expr::T::Literal);
        e->literal = Value::real(t.f);
        return e;
      }
      case Tok::T::String: {
        std::string s = t.text;
        while (peek().t == Tok::T::String) s += next().text;  // adjacent literals concatenate
        auto e = make(Expr::T::Literal);
        e->literal = Value::string(s);
        return e;
      }
      case Tok::T::Name: {
        auto e = make(Expr::T::Literal);
        if (t.text == "true" || t.text == "True") e->literal = Value::boolean(true);
        else if (t.text == "false" || t.text == "False") e->literal = Value::boolean(false);
        else if (t.text == "none" || t.text == "None") e->literal = Value::none();
        else {
          e->t = Expr::T::Name;
          e->name = t.text;
        }
        return e;
      }
      case Tok::T::Op:
        if (t.text == "(") {
          ExprPtr inner = expression();
          if (accept_op(",")) {  // a tuple: a list here
            auto l = make(Expr::T::ListLit);
            l->args.push_back(std::move(inner));
            while (!is_op(")")) {
              l->args.push_back(expression());
              if (!accept_op(",")) break;
            }
            expect_op(")");
            return l;
          }
          expect_op(")");
          return inner;
        }
        if (t.text == "[") {
          auto l = make(Expr::T::ListLit);
          while (!is_op("]")) {
            l->args.push_back(expression());
            if (!accept_op(",")) break;
          }
          expect_op("]");
          return l;
        }
        if (t.text == "{") {
          auto d = make(Expr::T::DictLit);
          while (!is_op("}")) {
            d->args.push_back(expression());
            expect_op(":");
            d->args.push_back(expression());
            if (!accept_op(",")) break;
          }
          expect_op("}");
          return d;
        }
        error("unexpected '" + t.text + "'");
      default: error("unexpected end of the tag");
    }
  }

  std::vector<Tok> toks_;
  std::size_t i_ = 0;
  int line_;
  const std::string& tname_;
};

// ---------------------------------------------------------------------------------------------
// Parsing the statements.

class StatementParser {
 public:
  StatementParser(std::vector<Piece> pieces, const std::string& name) : pieces_(std::move(pieces)), name_(name) {}

  Body parse() {
    Body body = parse_until({});
    if (p_ < pieces_.size()) error(pieces_[p_].line, "unexpected '" + first_word(pieces_[p_].content) + "'");
    return body;
  }

 private:
  [[noreturn]] void error(int line, const std::string& what) const {
    throw TemplateError(fmt::format("{}: line {}: {}", name_, line, what));
  }
  static std::string first_word(const std::string& s) {
    std::size_t b = s.find_first_not_of(" \t\n\r");
    if (b == std::string::npos) return "";
    std::size_t e = b;
    while (e < s.size() && (std::isalnum(static_cast<unsigned char>(s[e])) || s[e] == '_')) ++e;
    return s.substr(b, e - b);
  }

  // Parses nodes until a block tag whose first word is in `ends` (left unconsumed).
  Body parse_until(const std::set<std::string>& ends) {
    Body body;
    while (p_ < pieces_.size()) {
      const Piece& piece = pieces_[p_];
      if (piece.t == Piece::T::Text) {
        auto n = std::make_unique<Node>();
        n->t = Node::T::Text;
        n->text = piece.content;
        n->line = piece.line;
        body.push_back(std::move(n));
        ++p_;
        continue;
      }
      if (piece.t == Piece::T::Var) {
        ExprParser ep(piece.content, piece.line, name_);
        auto n = std::make_unique<Node>();
        n->t = Node::T::Output;
        n->line = piece.line;
        n->expr = ep.expression();
        if (!ep.at_end()) ep.error("unexpected '" + ExprParser::describe(ep.peek()) + "' in {{ }}");
        body.push_back(std::move(n));
        ++p_;
        continue;
      }
      std::string word = first_word(piece.content);
      if (ends.count(word)) return body;
      body.push_back(statement(word));
    }
    if (!ends.empty()) {
      std::string closing = *std::find_if(ends.begin(), ends.end(), [](const std::string& e) { return e.rfind("end", 0) == 0; });
      error(opened_line_, "'" + closing.substr(3) + "' is never closed with '" + closing + "'");
    }
    return body;
  }

  std::unique_ptr<Node> statement(const std::string& word) {
    const Piece& piece = pieces_[p_];
    struct Restore {
      int& line;
      int saved;
      ~Restore() { line = saved; }
    } restore{opened_line_, opened_line_};
    opened_line_ = piece.line;
    ExprParser ep(piece.content, piece.line, name_);
    ep.next();  // the keyword
    auto n = std::make_unique<Node>();
    n->line = piece.line;
    auto finish = [&] {
      if (!ep.at_end()) ep.error("unexpected '" + ExprParser::describe(ep.peek()) + "' in {% " + word + " %}");
      ++p_;
    };
    auto end_tag = [&](const std::string& end) {
      if (p_ >= pieces_.size()) error(piece.line, "'" + word + "' is never closed with '" + end + "'");
      ExprParser close(pieces_[p_].content, pieces_[p_].line, name_);
      close.next();
      if (!close.at_end()) close.error("unexpected '" + ExprParser::describe(close.peek()) + "' in {% " + end + " %}");
      ++p_;
    };
    if (word == "if") {
      n->t = Node::T::If;
      ExprPtr cond = ep.expression();
      finish();
      while (true) {
        Body b = parse_until({"elif", "else", "endif"});
        n->branches.emplace_back(std::move(cond), std::move(b));
        if (p_ >= pieces_.size()) error(piece.line, "'if' is never closed with 'endif'");
        std::string w = first_word(pieces_[p_].content);
        if (w == "elif") {
          ExprParser e2(pieces_[p_].content, pieces_[p_].line, name_);
          e2.next();
          cond = e2.expression();
          if (!e2.at_end()) e2.error("unexpected '" + ExprParser::describe(e2.peek()) + "' in {% elif %}");
          ++p_;
          continue;
        }
        if (w == "else") {
          end_tag("else");
          n->else_body = parse_until({"endif"});
        }
        end_tag("endif");
        break;
      }
      return n;
    }
    if (word == "for") {
      n->t = Node::T::For;
      n->targets.push_back(ep.expect_name());
      while (ep.accept_op(",")) n->targets.push_back(ep.expect_name());
      if (!ep.accept_name("in")) ep.error("expected 'in' in {% for %}");
      n->expr = parse_iterable(ep);
      if (ep.accept_name("if")) n->filter = ep.expression();
      if (ep.accept_name("recursive")) ep.error("recursive loops are not supported (r1train's Jinja subset)");
      finish();
      n->body = parse_until({"else", "endfor"});
      if (p_ < pieces_.size() && first_word(pieces_[p_].content) == "else") {
        end_tag("else");
        n->else_body = parse_until({"endfor"});
      }
      end_tag("endfor");
      return n;
    }
    if (word == "set") {
      std::string target = ep.expect_name();
      if (ep.accept_op(".")) {
        n->t = Node::T::SetNs;
        n->text = target;
        n->attr = ep.expect_name();
      } else {
        n->t = Node::T::Set;
        n->text = target;
        if (ep.is_op(",")) ep.error("unpacking in {% set a, b = ... %} is not supported (r1train's Jinja subset)");
      }
      if (!ep.accept_op("=")) {
        if (n->t != Node::T::Set || !ep.at_end()) ep.error("expected '=' in {% set %}");
        n->t = Node::T::SetBlock;  // {% set x %}...{% endset %}
        ++p_;
        n->body = parse_until({"endset"});
        end_tag("endset");
        return n;
      }
      n->expr = ep.expression();
      finish();
      return n;
    }
    if (word == "macro") {
      n->t = Node::T::Macro;
      n->text = ep.expect_name();
      ep.expect_op("(");
      while (!ep.accept_op(")")) {
        n->targets.push_back(ep.expect_name());
        n->defaults.push_back(ep.accept_op("=") ? ep.expression() : nullptr);
        if (!ep.accept_op(",")) {
          ep.expect_op(")");
          break;
        }
      }
      finish();
      n->body = parse_until({"endmacro"});
      end_tag("endmacro");
      return n;
    }
    if (word == "generation") {  // transformers' AssistantTracker: the text passes through
      n->t = Node::T::Generation;
      finish();
      n->body = parse_until({"endgeneration"});
      end_tag("endgeneration");
      return n;
    }
    if (word == "break" || word == "continue") {
      n->t = word == "break" ? Node::T::Break : Node::T::Continue;
      finish();
      return n;
    }
    error(piece.line, "the statement '{% " + word + " %}' is not supported (r1train's Jinja subset: if, for, set, "
                      "macro, generation, break, continue)");
  }

  // The iterable of a for loop: an expression up to a trailing "if" filter.
  static ExprPtr parse_iterable(ExprParser& ep) {
    // "for x in xs if cond": parse without the conditional-expression level.
    return ep.expression_no_if();
  }

  std::vector<Piece> pieces_;
  std::size_t p_ = 0;
  const std::string& name_;
  int opened_line_ = 1;  // the line of the innermost statement being parsed
};


// ---------------------------------------------------------------------------------------------
// Rendering.

std::size_t utf8_length(const std::string& s) {
  return static_cast<std::size_t>(std::count_if(s.begin(), s.end(), [](char c) { return (c & 0xC0) != 0x80; }));
}

std::vector<std::string> utf8_chars(const std::string& s) {
  std::vector<std::string> out;
  for (std::size_t i = 0; i < s.size();) {
    std::size_t n = 1;
    while (i + n < s.size() && (s[i + n] & 0xC0) == 0x80) ++n;
    out.push_back(s.substr(i, n));
    i += n;
  }
  return out;
}

bool is_py_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f' || (c >= 0x1c && c <= 0x1f); }

std::string py_strip(const std::string& s, const Value* chars, bool left, bool right) {
  auto strip_char = [&](char c) {
    if (!chars || chars->is(K::None)) return is_py_space(c);
    return chars->s.find(c) != std::string::npos;
  };
  std::size_t b = 0, e = s.size();
  if (left)
    while (b < e && strip_char(s[b])) ++b;
  if (right)
    while (e > b && strip_char(s[e - 1])) --e;
  return s.substr(b, e - b);
}

bool values_equal(const Value& a, const Value& b) {
  auto numeric = [](const Value& v) { return v.is(K::Int) || v.is(K::Float) || v.is(K::Bool); };
  auto num = [](const Value& v) { return v.is(K::Float) ? v.f : v.is(K::Bool) ? (v.b ? 1.0 : 0.0) : static_cast<double>(v.i); };
  if (numeric(a) && numeric(b)) return num(a) == num(b);
  if (a.kind != b.kind) return false;
  switch (a.kind) {
    case K::Undefined:
    case K::None: return true;
    case K::String: return a.s == b.s;
    case K::List:
      if (a.list->size() != b.list->size()) return false;
      for (std::size_t i = 0; i < a.list->size(); ++i)
        if (!values_equal((*a.list)[i], (*b.list)[i])) return false;
      return true;
    case K::Dict:
      if (a.dict->size() != b.dict->size()) return false;
      for (const auto& [k, v] : *a.dict) {
        auto it = std::find_if(b.dict->begin(), b.dict->end(), [&](const auto& p) { return p.first == k; });
        if (it == b.dict->end() || !values_equal(v, it->second)) return false;
      }
      return true;
    case K::Function: return a.fn == b.fn;
    default: return false;
  }
}

double as_number(const Value& v, const char* op) {
  if (v.is(K::Int)) return static_cast<double>(v.i);
  if (v.is(K::Float)) return v.f;
  if (v.is(K::Bool)) return v.b ? 1 : 0;
  fail(fmt::format("unsupported operand type for {}: '{}'", op, type_name(v)));
}

int compare_values(const Value& a, const Value& b, const std::string& op) {
  if (a.is(K::String) && b.is(K::String)) return a.s < b.s ? -1 : a.s > b.s ? 1 : 0;
  if ((a.is(K::Int) || a.is(K::Float) || a.is(K::Bool)) && (b.is(K::Int) || b.is(K::Float) || b.is(K::Bool))) {
    double x = as_number(a, op.c_str()), y = as_number(b, op.c_str());
    return x < y ? -1 : x > y ? 1 : 0;
  }
  fail(fmt::format("'{}' not supported between instances of '{}' and '{}'", op, type_name(a), type_name(b)));
}

class Renderer {
 public:
  Renderer(const std::string& name, const RenderOptions& options) : name_(name), options_(options) {
    scopes_.emplace_back();
  }

  std::string run(const Body& body, const nlohmann::ordered_json& context) {
    if (!context.is_object()) fail("the context is not an object");
    for (const auto& [k, v] : context.items()) scopes_[0][k] = from_json(v);
    render(body);
    return std::move(out_);
  }

  int line() const { return line_; }

 private:
  enum class Flow { Normal, Break, Continue };

  void render(const Body& body) {
    for (const auto& n : body) {
      if (flow_ != Flow::Normal) return;
      node(*n);
    }
  }

  void node(const Node& n) {
    line_ = n.line;
    switch (n.t) {
      case Node::T::Text: out_ += n.text; return;
      case Node::T::Output: out_ += str(eval(*n.expr)); return;
      case Node::T::If:
        for (const auto& [cond, body] : n.branches) {
          if (truthy(eval(*cond))) {
            render(body);
            return;
          }
        }
        render(n.else_body);
        return;
      case Node::T::For: loop(n); return;
      case Node::T::Set: scopes_.back()[n.text] = eval(*n.expr); return;
      case Node::T::SetNs: {
        Value target = lookup(n.text);
        if (!target.is(K::Dict) || !target.ns) fail("cannot assign attribute on non-namespace object '" + n.text + "'");
        Value v = eval(*n.expr);
        for (auto& [k, old] : *target.dict)
          if (k == n.attr) {
            old = std::move(v);
            return;
          }
        target.dict->emplace_back(n.attr, std::move(v));
        return;
      }
      case Node::T::SetBlock: {
        std::string saved = std::move(out_);
        out_.clear();
        render(n.body);
        scopes_.back()[n.text] = Value::string(std::move(out_));
        out_ = std::move(saved);
        return;
      }
      case Node::T::Macro: {
        const Node* macro = &n;
        scopes_.back()[n.text] = Value::function([this, macro](Call& call) { return call_macro(*macro, call); });
        return;
      }
      case Node::T::Generation: render(n.body); return;
      case Node::T::Break: flow_ = Flow::Break; return;
      case Node::T::Continue: flow_ = Flow::Continue; return;
    }
  }

  Value call_macro(const Node& macro, Call& call) {
    std::map<std::string, Value> frame;
    for (std::size_t k = 0; k < macro.targets.size(); ++k) {
      const Value* given = call.arg(k, macro.targets[k]);
      if (given) frame[macro.targets[k]] = *given;
      else if (macro.defaults[k]) frame[macro.targets[k]] = eval(*macro.defaults[k]);
      else frame[macro.targets[k]] = Value::undefined(macro.targets[k]);
    }
    std::string saved = std::move(out_);
    out_.clear();
    int saved_line = line_;
    scopes_.push_back(std::move(frame));
    render(macro.body);
    scopes_.pop_back();
    line_ = saved_line;
    std::string result = std::move(out_);
    out_ = std::move(saved);
    return Value::string(std::move(result));
  }

  std::vector<Value> iterate(const Value& v) {
    switch (v.kind) {
      case K::Undefined: return {};
      case K::List: return *v.list;
      case K::Dict: {
        std::vector<Value> keys;
        for (const auto& [k, x] : *v.dict) keys.push_back(Value::string(k));
        return keys;
      }
      case K::String: {
        std::vector<Value> chars;
        for (auto& c : utf8_chars(v.s)) chars.push_back(Value::string(c));
        return chars;
      }
      default: fail(fmt::format("'{}' object is not iterable", type_name(v)));
    }
  }

  void bind_targets(std::map<std::string, Value>& frame, const std::vector<std::string>& targets, const Value& item) {
    if (targets.size() == 1) {
      frame[targets[0]] = item;
      return;
    }
    if (!item.is(K::List) || item.list->size() != targets.size())
      fail(fmt::format("cannot unpack {} into {} loop variables", type_name(item), targets.size()));
    for (std::size_t k = 0; k < targets.size(); ++k) frame[targets[k]] = (*item.list)[k];
  }

  void loop(const Node& n) {
    std::vector<Value> items = iterate(eval(*n.expr));
    if (n.filter) {
      std::vector<Value> kept;
      for (const auto& item : items) {
        std::map<std::string, Value> frame;
        bind_targets(frame, n.targets, item);
        scopes_.push_back(std::move(frame));
        bool keep = truthy(eval(*n.filter));
        scopes_.pop_back();
        if (keep) kept.push_back(item);
      }
      items = std::move(kept);
    }
    if (items.empty()) {
      render(n.else_body);
      return;
    }
    const long long length = static_cast<long long>(items.size());
    for (long long k = 0; k < length; ++k) {
      std::map<std::string, Value> frame;
      bind_targets(frame, n.targets, items[static_cast<std::size_t>(k)]);
      Dict loop_info = {{"index", Value::integer(k + 1)},
                        {"index0", Value::integer(k)},
                        {"revindex", Value::integer(length - k)},
                        {"revindex0", Value::integer(length - k - 1)},
                        {"first", Value::boolean(k == 0)},
                        {"last", Value::boolean(k == length - 1)},
                        {"length", Value::integer(length)},
                        {"depth", Value::integer(1)},
                        {"depth0", Value::integer(0)},
                        {"previtem", k > 0 ? items[static_cast<std::size_t>(k - 1)] : Value::undefined("previtem")},
                        {"nextitem", k + 1 < length ? items[static_cast<std::size_t>(k + 1)] : Value::undefined("nextitem")}};
      loop_info.emplace_back("cycle", Value::function([k](Call& call) {
                               if (call.args.empty()) fail("loop.cycle() needs at least one argument");
                               return call.args[static_cast<std::size_t>(k) % call.args.size()];
                             }));
      frame["loop"] = Value::of_dict(std::move(loop_info));
      scopes_.push_back(std::move(frame));
      render(n.body);
      scopes_.pop_back();
      if (flow_ == Flow::Break) {
        flow_ = Flow::Normal;
        break;
      }
      flow_ = Flow::Normal;
    }
  }

  Value lookup(const std::string& name) {
    for (auto it = scopes_.rbegin(); it != scopes_.rend(); ++it) {
      auto f = it->find(name);
      if (f != it->end()) return f->second;
    }
    if (name == "raise_exception")
      return Value::function([](Call& call) -> Value {
        throw RenderError{call.args.empty() ? std::string() : str(call.args[0]), true};
      });
    if (name == "strftime_now")
      return Value::function([this](Call& call) {
        if (call.args.empty() || !call.args[0].is(K::String)) fail("strftime_now() needs a format string");
        std::time_t t = static_cast<std::time_t>(options_.now);
        std::tm tm{};
        gmtime_r(&t, &tm);
        char buf[256];
        std::size_t n = std::strftime(buf, sizeof buf, call.args[0].s.c_str(), &tm);
        return Value::string(std::string(buf, n));
      });
    if (name == "namespace" || name == "dict")
      return Value::function([name](Call& call) {
        Dict d;
        for (const auto& a : call.args) {
          if (!a.is(K::Dict)) fail(name + "() takes keyword arguments or a dict");
          for (const auto& kv : *a.dict) d.push_back(kv);
        }
        for (const auto& kv : call.kwargs) d.push_back(kv);
        Value v = Value::of_dict(std::move(d));
        v.ns = name == "namespace";
        return v;
      });
    if (name == "range")
      return Value::function([](Call& call) {
        long long start = 0, stop = 0, step = 1;
        auto num = [](const Value& v) {
          if (!v.is(K::Int)) fail("range() takes integers");
          return v.i;
        };
        if (call.args.size() == 1) stop = num(call.args[0]);
        else if (call.args.size() >= 2) {
          start = num(call.args[0]);
          stop = num(call.args[1]);
          if (call.args.size() == 3) step = num(call.args[2]);
        } else fail("range() needs 1 to 3 arguments");
        if (step == 0) fail("range() step must not be zero");
        List out;
        for (long long x = start; step > 0 ? x < stop : x > stop; x += step) {
          out.push_back(Value::integer(x));
          if (out.size() > 100000) fail("range() longer than 100000");
        }
        return Value::of_list(std::move(out));
      });
    return Value::undefined(name);
  }

  // obj.name: for a dict its methods first, then its keys (jinja2's getattr).
  Value get_attr(const Value& obj, const std::string& name) {
    if (obj.is(K::Undefined)) fail("'" + obj.s + "' is undefined");
    if (obj.is(K::Dict)) {
      if (!obj.ns) {
        if (auto m = method(obj, name)) return *m;
      }
      for (const auto& [k, v] : *obj.dict)
        if (k == name) return v;
      return Value::undefined(name);
    }
    if (auto m = method(obj, name)) return *m;
    return Value::undefined(name);
  }

  // obj[key]: the item first, then the attribute (jinja2's getitem).
  Value get_item(const Value& obj, const Value& key) {
    if (obj.is(K::Undefined)) fail("'" + obj.s + "' is undefined");
    if ((obj.is(K::List) || obj.is(K::String)) && (key.is(K::Int) || key.is(K::Bool))) {
      long long n = key.is(K::Bool) ? key.b : key.i;
      if (obj.is(K::List)) {
        long long size = static_cast<long long>(obj.list->size());
        if (n < 0) n += size;
        if (n < 0 || n >= size) return Value::undefined("[" + std::to_string(key.i) + "]");
        return (*obj.list)[static_cast<std::size_t>(n)];
      }
      auto chars = utf8_chars(obj.s);
      long long size = static_cast<long long>(chars.size());
      if (n < 0) n += size;
      if (n < 0 || n >= size) return Value::undefined("[" + std::to_string(key.i) + "]");
      return Value::string(chars[static_cast<std::size_t>(n)]);
    }
    if (obj.is(K::Dict) && key.is(K::String)) {
      for (const auto& [k, v] : *obj.dict)
        if (k == key.s) return v;
      if (!obj.ns)
        if (auto m = method(obj, key.s)) return *m;
      return Value::undefined(key.s);
    }
    if (key.is(K::String)) return get_attr(obj, key.s);
    return Value::undefined(str(key));
  }

  static Value slice(const Value& obj, std::optional<long long> start, std::optional<long long> stop,
                     std::optional<long long> step) {
    long long st = step.value_or(1);
    if (st == 0) fail("slice step cannot be zero");
    std::vector<Value> items;
    std::vector<std::string> chars;
    long long size;
    if (obj.is(K::List)) {
      size = static_cast<long long>(obj.list->size());
    } else if (obj.is(K::String)) {
      chars = utf8_chars(obj.s);
      size = static_cast<long long>(chars.size());
    } else {
      fail(fmt::format("'{}' object is not subscriptable", type_name(obj)));
    }
    auto norm = [&](std::optional<long long> v, long long dflt) {
      if (!v) return dflt;
      long long x = *v;
      if (x < 0) x += size;
      if (st > 0) return std::clamp(x, 0LL, size);
      return std::clamp(x, -1LL, size - 1);
    };
    long long b = norm(start, st > 0 ? 0 : size - 1), e = norm(stop, st > 0 ? size : -1);
    List out_list;
    std::string out_str;
    for (long long k = b; st > 0 ? k < e : k > e; k += st) {
      if (obj.is(K::List)) out_list.push_back((*obj.list)[static_cast<std::size_t>(k)]);
      else out_str += chars[static_cast<std::size_t>(k)];
    }
    return obj.is(K::List) ? Value::of_list(std::move(out_list)) : Value::string(std::move(out_str));
  }

  // Methods of str and dict that chat templates call; nullopt when `name` is none of them.
  std::optional<Value> method(const Value& obj, const std::string& name) {
    Value self = obj;
    auto bind = [&](auto fn) { return std::optional<Value>(Value::function([self, fn](Call& call) { return fn(self, call); })); };
    auto str_arg = [](const Call& call, std::size_t n, const char* what) -> std::string {
      const Value* v = call.arg(n, what);
      if (!v || !v->is(K::String)) fail(std::string("expected a string argument '") + what + "'");
      return v->s;
    };
    if (obj.is(K::String)) {
      if (name == "startswith" || name == "endswith")
        return bind([name, str_arg](const Value& s, Call& call) {
          std::vector<std::string> options;
          const Value* a = call.arg(0, "prefix");
          if (a && a->is(K::List)) {
            for (const auto& x : *a->list) options.push_back(str(x));
          } else {
            options.push_back(str_arg(call, 0, "prefix"));
          }
          for (const auto& o : options) {
            bool hit = name == "startswith" ? s.s.rfind(o, 0) == 0
                                            : s.s.size() >= o.size() && s.s.compare(s.s.size() - o.size(), o.size(), o) == 0;
            if (hit) return Value::boolean(true);
          }
          return Value::boolean(false);
        });
      if (name == "strip" || name == "lstrip" || name == "rstrip")
        return bind([name](const Value& s, Call& call) {
          return Value::string(py_strip(s.s, call.arg(0, "chars"), name != "rstrip", name != "lstrip"));
        });
      if (name == "split" || name == "rsplit")
        return bind([name](const Value& s, Call& call) {
          const Value* sep = call.arg(0, "sep");
          const Value* maxsplit = call.arg(1, "maxsplit");
          long long limit = maxsplit && maxsplit->is(K::Int) ? maxsplit->i : -1;
          List parts;
          if (!sep || sep->is(K::None)) {
            std::string cur;
            std::vector<std::string> words;
            for (char c : s.s) {
              if (is_py_space(c)) {
                if (!cur.empty()) words.push_back(cur);
                cur.clear();
              } else {
                cur += c;
              }
            }
            if (!cur.empty()) words.push_back(cur);
            if (limit >= 0 && static_cast<long long>(words.size()) > limit + 1)
              fail("split() with maxsplit and no separator is not supported");
            for (auto& w : words) parts.push_back(Value::string(w));
            return Value::of_list(std::move(parts));
          }
          if (!sep->is(K::String) || sep->s.empty()) fail("split() needs a non-empty string separator");
          std::vector<std::string> pieces;
          if (name == "split") {
            std::size_t pos = 0;
            while (true) {
              std::size_t hit = s.s.find(sep->s, pos);
              if (hit == std::string::npos || (limit >= 0 && static_cast<long long>(pieces.size()) >= limit)) {
                pieces.push_back(s.s.substr(pos));
                break;
              }
              pieces.push_back(s.s.substr(pos, hit - pos));
              pos = hit + sep->s.size();
            }
          } else {
            std::size_t end = s.s.size();
            while (true) {
              std::size_t hit = end >= sep->s.size() ? s.s.rfind(sep->s, end - sep->s.size()) : std::string::npos;
              if (hit == std::string::npos || (limit >= 0 && static_cast<long long>(pieces.size()) >= limit)) {
                pieces.insert(pieces.begin(), s.s.substr(0, end));
                break;
              }
              pieces.insert(pieces.begin(), s.s.substr(hit + sep->s.size(), end - hit - sep->s.size()));
              end = hit;
            }
          }
          for (auto& p : pieces) parts.push_back(Value::string(p));
          return Value::of_list(std::move(parts));
        });
      if (name == "replace")
        return bind([str_arg](const Value& s, Call& call) {
          std::string from = str_arg(call, 0, "old"), to = str_arg(call, 1, "new");
          const Value* count = call.arg(2, "count");
          long long limit = count && count->is(K::Int) ? count->i : -1;
          std::string out;
          std::size_t pos = 0;
          long long done = 0;
          if (from.empty()) fail("replace() with an empty pattern is not supported");
          while (true) {
            std::size_t hit = s.s.find(from, pos);
            if (hit == std::string::npos || (limit >= 0 && done >= limit)) break;
            out += s.s.substr(pos, hit - pos) + to;
            pos = hit + from.size();
            ++done;
          }
          return Value::string(out + s.s.substr(pos));
        });
      if (name == "lower" || name == "upper" || name == "title" || name == "capitalize")
        return bind([this, name](const Value& s, Call&) { return case_filter(name, s); });
      if (name == "find" || name == "rfind" || name == "count")
        return bind([name, str_arg](const Value& s, Call& call) {
          std::string sub = str_arg(call, 0, "sub");
          if (name == "count") {
            if (sub.empty()) return Value::integer(static_cast<long long>(utf8_length(s.s)) + 1);
            long long n = 0;
            for (std::size_t pos = s.s.find(sub); pos != std::string::npos; pos = s.s.find(sub, pos + sub.size())) ++n;
            return Value::integer(n);
          }
          std::size_t pos = name == "find" ? s.s.find(sub) : s.s.rfind(sub);
          return Value::integer(pos == std::string::npos ? -1 : static_cast<long long>(utf8_length(s.s.substr(0, pos))));
        });
      if (name == "join")
        return bind([](const Value& s, Call& call) {
          if (call.args.empty() || !call.args[0].is(K::List)) fail("join() needs a list");
          std::string out;
          for (std::size_t k = 0; k < call.args[0].list->size(); ++k) out += (k ? s.s : "") + str((*call.args[0].list)[k]);
          return Value::string(out);
        });
      if (name == "isdigit" || name == "isalpha" || name == "isspace")
        return bind([name](const Value& s, Call&) {
          if (s.s.empty()) return Value::boolean(false);
          return Value::boolean(std::all_of(s.s.begin(), s.s.end(), [&](char c) {
            return name == "isdigit" ? std::isdigit(static_cast<unsigned char>(c)) != 0
                   : name == "isalpha" ? std::isalpha(static_cast<unsigned char>(c)) != 0
                                       : is_py_space(c);
          }));
        });
      return std::nullopt;
    }
    if (obj.is(K::Dict)) {
      if (name == "items" || name == "keys" || name == "values")
        return bind([name](const Value& d, Call&) {
          List out;
          for (const auto& [k, v] : *d.dict) {
            if (name == "items") out.push_back(Value::of_list({Value::string(k), v}));
            else if (name == "keys") out.push_back(Value::string(k));
            else out.push_back(v);
          }
          return Value::of_list(std::move(out));
        });
      if (name == "get")
        return bind([](const Value& d, Call& call) {
          const Value* key = call.arg(0, "key");
          const Value* dflt = call.arg(1, "default");
          if (key && key->is(K::String))
            for (const auto& [k, v] : *d.dict)
              if (k == key->s) return v;
          return dflt ? *dflt : Value::none();
        });
      return std::nullopt;
    }
    return std::nullopt;
  }

  Value case_filter(const std::string& name, const Value& v) {
    std::string s = str(v);
    bool start = true;
    for (char& c : s) {
      unsigned char u = static_cast<unsigned char>(c);
      if (name == "lower") c = static_cast<char>(std::tolower(u));
      else if (name == "upper") c = static_cast<char>(std::toupper(u));
      else if (name == "capitalize") c = static_cast<char>(start ? std::toupper(u) : std::tolower(u));
      else c = static_cast<char>(start ? std::toupper(u) : std::tolower(u));  // title
      if (name == "title") start = !std::isalpha(u);
      else start = false;
    }
    return Value::string(s);
  }

  Call evaluate_call(const Expr& e, std::size_t first) {
    Call call;
    for (std::size_t k = first; k < e.args.size(); ++k) call.args.push_back(eval(*e.args[k]));
    for (const auto& [k, v] : e.kwargs) call.kwargs.emplace_back(k, eval(*v));
    return call;
  }

  bool test(const std::string& name, const Value& v, Call& call) {
    auto arg = [&]() -> const Value& {
      if (call.args.empty()) fail("the test '" + name + "' needs an argument");
      return call.args[0];
    };
    if (name == "defined") return v.defined();
    if (name == "undefined") return !v.defined();
    if (name == "none") return v.is(K::None);
    if (name == "string") return v.is(K::String);
    if (name == "number") return v.is(K::Int) || v.is(K::Float) || v.is(K::Bool);
    if (name == "integer") return v.is(K::Int);
    if (name == "float") return v.is(K::Float);
    if (name == "boolean") return v.is(K::Bool);
    if (name == "true") return v.is(K::Bool) && v.b;
    if (name == "false") return v.is(K::Bool) && !v.b;
    if (name == "mapping") return v.is(K::Dict) && !v.ns;
    if (name == "iterable") return v.is(K::String) || v.is(K::List) || v.is(K::Dict) || v.is(K::Undefined);
    if (name == "sequence") return v.is(K::String) || v.is(K::List) || (v.is(K::Dict) && !v.ns);
    if (name == "callable") return v.is(K::Function);
    if (name == "eq" || name == "equalto" || name == "sameas") return values_equal(v, arg()) && (name != "sameas" || v.kind == arg().kind);
    if (name == "ne") return !values_equal(v, arg());
    if (name == "gt" || name == "greaterthan") return compare_values(v, arg(), ">") > 0;
    if (name == "ge") return compare_values(v, arg(), ">=") >= 0;
    if (name == "lt" || name == "lessthan") return compare_values(v, arg(), "<") < 0;
    if (name == "le") return compare_values(v, arg(), "<=") <= 0;
    if (name == "in") return contains(arg(), v);
    if (name == "odd" || name == "even" || name == "divisibleby") {
      if (!v.is(K::Int)) fail("the test '" + name + "' needs an integer");
      if (name == "divisibleby") {
        if (!arg().is(K::Int) || arg().i == 0) fail("divisibleby needs a non-zero integer");
        return v.i % arg().i == 0;
      }
      return (v.i % 2 != 0) == (name == "odd");
    }
    if (name == "lower" || name == "upper") {
      std::string s = str(v);
      return std::none_of(s.begin(), s.end(), [&](char c) {
        return name == "lower" ? std::isupper(static_cast<unsigned char>(c)) : std::islower(static_cast<unsigned char>(c));
      });
    }
    fail("the test '" + name + "' is not supported");
  }

  bool contains(const Value& container, const Value& item) {
    switch (container.kind) {
      case K::String:
        if (!item.is(K::String)) fail(fmt::format("'in <string>' requires string as left operand, not {}", type_name(item)));
        return container.s.find(item.s) != std::string::npos;
      case K::List:
        return std::any_of(container.list->begin(), container.list->end(), [&](const Value& x) { return values_equal(x, item); });
      case K::Dict:
        return item.is(K::String) &&
               std::any_of(container.dict->begin(), container.dict->end(), [&](const auto& p) { return p.first == item.s; });
      case K::Undefined: fail("'" + container.s + "' is undefined");
      default: fail(fmt::format("argument of type '{}' is not iterable", type_name(container)));
    }
  }

  Value filter(const std::string& name, const Value& v, Call& call) {
    auto int_arg = [&](std::size_t n, const char* key, long long dflt) {
      const Value* a = call.arg(n, key);
      if (!a) return dflt;
      if (!a->is(K::Int)) fail(std::string("the filter '") + name + "' needs an integer '" + key + "'");
      return a->i;
    };
    if (name == "trim") return Value::string(py_strip(str(v), call.arg(0, "chars"), true, true));
    if (name == "tojson") {
      const Value* indent = call.arg(0, "indent");
      std::string out;
      dump_json(v, out, indent && indent->is(K::Int) ? static_cast<int>(indent->i) : -1, 0);
      return Value::string(out);
    }
    if (name == "length" || name == "count") {
      if (v.is(K::String)) return Value::integer(static_cast<long long>(utf8_length(v.s)));
      if (v.is(K::List)) return Value::integer(static_cast<long long>(v.list->size()));
      if (v.is(K::Dict)) return Value::integer(static_cast<long long>(v.dict->size()));
      if (v.is(K::Undefined)) return Value::integer(0);
      fail(fmt::format("object of type '{}' has no len()", type_name(v)));
    }
    if (name == "join") {
      const Value* sep = call.arg(0, "d");
      const Value* attribute = call.arg(1, "attribute");
      std::string out;
      std::vector<Value> items = iterate(v);
      for (std::size_t k = 0; k < items.size(); ++k) {
        Value x = attribute ? get_attr(items[k], str(*attribute)) : items[k];
        out += (k && sep ? str(*sep) : "") + str(x);
      }
      return Value::string(out);
    }
    if (name == "upper" || name == "lower" || name == "capitalize" || name == "title") return case_filter(name, v);
    if (name == "default" || name == "d") {
      const Value* dflt = call.arg(0, "default_value");
      const Value* boolean = call.arg(1, "boolean");
      bool use = !v.defined() || (boolean && truthy(*boolean) && !truthy(v));
      return use ? (dflt ? *dflt : Value::string("")) : v;
    }
    if (name == "first" || name == "last") {
      std::vector<Value> items = iterate(v);
      if (items.empty()) return Value::undefined(name);
      return name == "first" ? items.front() : items.back();
    }
    if (name == "list") return Value::of_list(iterate(v));
    if (name == "string") return Value::string(str(v));
    if (name == "int") {
      if (v.is(K::Int)) return v;
      if (v.is(K::Float)) return Value::integer(static_cast<long long>(v.f));
      if (v.is(K::Bool)) return Value::integer(v.b);
      try {
        return Value::integer(std::stoll(py_strip(str(v), nullptr, true, true)));
      } catch (...) {
        return Value::integer(int_arg(0, "default", 0));
      }
    }
    if (name == "float") {
      if (v.is(K::Float)) return v;
      if (v.is(K::Int)) return Value::real(static_cast<double>(v.i));
      try {
        return Value::real(std::stod(str(v)));
      } catch (...) {
        return Value::real(0.0);
      }
    }
    if (name == "abs") {
      if (v.is(K::Int)) return Value::integer(std::llabs(v.i));
      return Value::real(std::fabs(as_number(v, "abs")));
    }
    if (name == "round") {
      double x = as_number(v, "round");
      long long digits = int_arg(0, "precision", 0);
      double scale = std::pow(10.0, static_cast<double>(digits));
      return Value::real(std::round(x * scale) / scale);
    }
    if (name == "replace") {
      Value s = Value::string(str(v));
      auto m = method(s, "replace");
      return (*m->fn)(call);
    }
    if (name == "items") {
      if (!v.is(K::Dict)) fail("the filter 'items' needs a mapping");
      return (*method(v, "items")->fn)(call);
    }
    if (name == "reverse") {
      if (v.is(K::String)) {
        auto chars = utf8_chars(v.s);
        std::string out;
        for (auto it = chars.rbegin(); it != chars.rend(); ++it) out += *it;
        return Value::string(out);
      }
      std::vector<Value> items = iterate(v);
      std::reverse(items.begin(), items.end());
      return Value::of_list(std::move(items));
    }
    if (name == "sort" || name == "unique" || name == "dictsort") {
      std::vector<Value> items = name == "dictsort" ? *(*method(v, "items")->fn)(call).list : iterate(v);
      const Value* attribute = call.kwarg("attribute");
      const Value* reverse = call.kwarg("reverse");
      auto key = [&](const Value& x) { return name == "dictsort" ? (*x.list)[0] : attribute ? get_attr(x, str(*attribute)) : x; };
      if (name != "unique") {
        std::stable_sort(items.begin(), items.end(), [&](const Value& a, const Value& b) { return compare_values(key(a), key(b), "<") < 0; });
        if (reverse && truthy(*reverse)) std::reverse(items.begin(), items.end());
        return Value::of_list(std::move(items));
      }
      std::vector<Value> out;
      for (const auto& x : items)
        if (std::none_of(out.begin(), out.end(), [&](const Value& y) { return values_equal(x, y); })) out.push_back(x);
      return Value::of_list(std::move(out));
    }
    if (name == "selectattr" || name == "rejectattr" || name == "select" || name == "reject") {
      bool attr = name == "selectattr" || name == "rejectattr";
      bool keep_if = name == "selectattr" || name == "select";
      std::size_t first = attr ? 1 : 0;
      if (attr && call.args.empty()) fail("the filter '" + name + "' needs an attribute name");
      std::string test_name = call.args.size() > first ? str(call.args[first]) : "";
      Call test_call;
      for (std::size_t k = first + 1; k < call.args.size(); ++k) test_call.args.push_back(call.args[k]);
      List out;
      for (const auto& x : iterate(v)) {
        Value subject = attr ? get_attr(x, str(call.args[0])) : x;
        bool ok = test_name.empty() ? truthy(subject) : test(test_name, subject, test_call);
        if (ok == keep_if) out.push_back(x);
      }
      return Value::of_list(std::move(out));
    }
    if (name == "map") {
      List out;
      const Value* attribute = call.kwarg("attribute");
      for (const auto& x : iterate(v)) {
        if (attribute) {
          out.push_back(get_attr(x, str(*attribute)));
        } else {
          if (call.args.empty()) fail("the filter 'map' needs a filter name or attribute=");
          Call sub;
          for (std::size_t k = 1; k < call.args.size(); ++k) sub.args.push_back(call.args[k]);
          out.push_back(filter(str(call.args[0]), x, sub));
        }
      }
      return Value::of_list(std::move(out));
    }
    if (name == "sum" || name == "max" || name == "min") {
      std::vector<Value> items = iterate(v);
      if (name == "sum") {
        Value acc = Value::integer(0);
        for (const auto& x : items) acc = arithmetic("+", acc, x);
        return acc;
      }
      if (items.empty()) return Value::undefined(name);
      Value best = items[0];
      for (const auto& x : items)
        if ((name == "max" ? compare_values(x, best, ">") > 0 : compare_values(x, best, "<") < 0)) best = x;
      return best;
    }
    if (name == "indent") {
      long long width = int_arg(0, "width", 4);
      const Value* first_line = call.arg(1, "first");
      std::string pad(static_cast<std::size_t>(std::max(0LL, width)), ' ');
      std::string s = str(v), out;
      bool first = true;
      for (std::size_t pos = 0; pos <= s.size();) {
        std::size_t nl = s.find('\n', pos);
        std::string line_text = s.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
        if ((!first || (first_line && truthy(*first_line))) && !line_text.empty()) out += pad;
        out += line_text;
        if (nl == std::string::npos) break;
        out += '\n';
        pos = nl + 1;
        first = false;
      }
      return Value::string(out);
    }
    if (name == "safe") return v;
    if (name == "e" || name == "escape") {
      std::string out;
      for (char c : str(v)) {
        switch (c) {
          case '&': out += "&amp;"; break;
          case '<': out += "&lt;"; break;
          case '>': out += "&gt;"; break;
          case '"': out += "&#34;"; break;
          case '\'': out += "&#39;"; break;
          default: out += c;
        }
      }
      return Value::string(out);
    }
    fail("the filter '" + name + "' is not supported");
  }

  Value arithmetic(const std::string& op, const Value& l, const Value& r) {
    if (l.is(K::Undefined)) fail("'" + l.s + "' is undefined");
    if (r.is(K::Undefined)) fail("'" + r.s + "' is undefined");
    auto numeric = [](const Value& v) { return v.is(K::Int) || v.is(K::Float) || v.is(K::Bool); };
    auto ival = [](const Value& v) { return v.is(K::Bool) ? static_cast<long long>(v.b) : v.i; };
    if (op == "+") {
      if (l.is(K::String) && r.is(K::String)) return Value::string(l.s + r.s);
      if (l.is(K::List) && r.is(K::List)) {
        List out = *l.list;
        out.insert(out.end(), r.list->begin(), r.list->end());
        return Value::of_list(std::move(out));
      }
    }
    if (op == "*") {
      if (l.is(K::String) && (r.is(K::Int) || r.is(K::Bool))) {
        std::string out;
        for (long long k = 0; k < ival(r); ++k) out += l.s;
        return Value::string(out);
      }
      if (l.is(K::List) && r.is(K::Int)) {
        List out;
        for (long long k = 0; k < r.i; ++k) out.insert(out.end(), l.list->begin(), l.list->end());
        return Value::of_list(std::move(out));
      }
    }
    if (!numeric(l) || !numeric(r))
      fail(fmt::format("unsupported operand type(s) for {}: '{}' and '{}'", op, type_name(l), type_name(r)));
    bool ints = !l.is(K::Float) && !r.is(K::Float);
    if (ints) {
      long long a = ival(l), b = ival(r);
      if (op == "+") return Value::integer(a + b);
      if (op == "-") return Value::integer(a - b);
      if (op == "*") return Value::integer(a * b);
      if (op == "/") {
        if (b == 0) fail("division by zero");
        return Value::real(static_cast<double>(a) / static_cast<double>(b));
      }
      if (op == "//" || op == "%") {
        if (b == 0) fail("integer division or modulo by zero");
        long long q = a / b, m = a % b;
        if (m != 0 && ((m < 0) != (b < 0))) {
          --q;
          m += b;
        }
        return Value::integer(op == "//" ? q : m);
      }
      if (op == "**") {
        if (b < 0) return Value::real(std::pow(static_cast<double>(a), static_cast<double>(b)));
        long long out = 1;
        for (long long k = 0; k < b && k < 64; ++k) out *= a;
        return Value::integer(out);
      }
    }
    double a = as_number(l, op.c_str()), b = as_number(r, op.c_str());
    if (op == "+") return Value::real(a + b);
    if (op == "-") return Value::real(a - b);
    if (op == "*") return Value::real(a * b);
    if (op == "/") {
      if (b == 0) fail("float division by zero");
      return Value::real(a / b);
    }
    if (op == "//") {
      if (b == 0) fail("float floor division by zero");
      return Value::real(std::floor(a / b));
    }
    if (op == "%") {
      if (b == 0) fail("float modulo");
      double m = std::fmod(a, b);
      if (m != 0 && ((m < 0) != (b < 0))) m += b;
      return Value::real(m);
    }
    if (op == "**") return Value::real(std::pow(a, b));
    fail("unsupported operator " + op);
  }

  Value eval(const Expr& e) {
    line_ = e.line;
    switch (e.t) {
      case Expr::T::Literal: return e.literal;
      case Expr::T::Name: return lookup(e.name);
      case Expr::T::Attr: return get_attr(eval(*e.args[0]), e.name);
      case Expr::T::Item: {
        Value obj = eval(*e.args[0]);
        return get_item(obj, eval(*e.args[1]));
      }
      case Expr::T::Slice: {
        Value obj = eval(*e.args[0]);
        std::optional<long long> parts[3];
        for (int k = 0; k < 3; ++k) {
          if (!e.has[k]) continue;
          Value p = eval(*e.args[static_cast<std::size_t>(k) + 1]);
          if (p.is(K::None)) continue;
          if (!p.is(K::Int)) fail("slice indices must be integers");
          parts[k] = p.i;
        }
        return slice(obj, parts[0], parts[1], parts[2]);
      }
      case Expr::T::Call: {
        Value callee = eval(*e.args[0]);
        if (!callee.is(K::Function)) {
          if (callee.is(K::Undefined)) fail("'" + callee.s + "' is undefined");
          fail(fmt::format("'{}' object is not callable", type_name(callee)));
        }
        Call call = evaluate_call(e, 1);
        return (*callee.fn)(call);
      }
      case Expr::T::Filter: {
        Value v = eval(*e.args[0]);
        Call call = evaluate_call(e, 1);
        return filter(e.name, v, call);
      }
      case Expr::T::Test: {
        Value v = eval(*e.args[0]);
        Call call = evaluate_call(e, 1);
        return Value::boolean(test(e.name, v, call) != e.negated);
      }
      case Expr::T::Unary: {
        Value v = eval(*e.args[0]);
        if (e.name == "not") return Value::boolean(!truthy(v));
        if (v.is(K::Undefined)) fail("'" + v.s + "' is undefined");
        if (e.name == "-") {
          if (v.is(K::Int)) return Value::integer(-v.i);
          return Value::real(-as_number(v, "unary -"));
        }
        if (!(v.is(K::Int) || v.is(K::Float))) fail(fmt::format("bad operand type for unary +: '{}'", type_name(v)));
        return v;
      }
      case Expr::T::Binary: {
        const std::string& op = e.name;
        if (op == "and") {
          Value l = eval(*e.args[0]);
          return truthy(l) ? eval(*e.args[1]) : l;
        }
        if (op == "or") {
          Value l = eval(*e.args[0]);
          return truthy(l) ? l : eval(*e.args[1]);
        }
        Value l = eval(*e.args[0]);
        Value r = eval(*e.args[1]);
        if (op == "~") return Value::string(str(l) + str(r));
        if (op == "==") return Value::boolean(values_equal(l, r));
        if (op == "!=") return Value::boolean(!values_equal(l, r));
        if (op == "<") return Value::boolean(compare_values(l, r, op) < 0);
        if (op == "<=") return Value::boolean(compare_values(l, r, op) <= 0);
        if (op == ">") return Value::boolean(compare_values(l, r, op) > 0);
        if (op == ">=") return Value::boolean(compare_values(l, r, op) >= 0);
        if (op == "in") return Value::boolean(contains(r, l));
        if (op == "not in") return Value::boolean(!contains(r, l));
        return arithmetic(op, l, r);
      }
      case Expr::T::Cond:
        if (truthy(eval(*e.args[1]))) return eval(*e.args[0]);
        return e.args[2] ? eval(*e.args[2]) : Value::undefined("else");
      case Expr::T::ListLit: {
        List out;
        for (const auto& a : e.args) out.push_back(eval(*a));
        return Value::of_list(std::move(out));
      }
      case Expr::T::DictLit: {
        Dict out;
        for (std::size_t k = 0; k + 1 < e.args.size(); k += 2) {
          Value key = eval(*e.args[k]);
          if (!key.is(K::String)) fail("only string keys are supported in dict literals");
          out.emplace_back(key.s, eval(*e.args[k + 1]));
        }
        return Value::of_dict(std::move(out));
      }
    }
    fail("unknown expression");
  }

  const std::string& name_;
  const RenderOptions& options_;
  std::vector<std::map<std::string, Value>> scopes_;
  std::string out_;
  Flow flow_ = Flow::Normal;
  int line_ = 0;
};

// ---------------------------------------------------------------------------------------------

Template::Template(const std::string& source, std::string name) : name_(std::move(name)) {
  body_ = StatementParser(split_template(source, name_), name_).parse();
}
Template::~Template() = default;
Template::Template(Template&&) noexcept = default;
Template& Template::operator=(Template&&) noexcept = default;

std::string Template::render(const nlohmann::ordered_json& context, const RenderOptions& options) const {
  Renderer renderer(name_, options);
  try {
    return renderer.run(body_, context);
  } catch (const RenderError& e) {
    if (e.raised) throw TemplateError(fmt::format("{}: line {}: the template raised: {}", name_, renderer.line(), e.message), true);
    throw TemplateError(fmt::format("{}: line {}: {}", name_, renderer.line(), e.message));
  }
}

}  // namespace r1::jinja
