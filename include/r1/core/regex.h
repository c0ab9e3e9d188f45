// PCRE2 regular expressions: compiled once (JIT where available), searched from any thread.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

struct pcre2_real_code_8;

namespace r1 {

class Regex {
 public:
  enum class Encoding { Bytes, Utf8 };  // Utf8: UTF mode with Unicode properties (\p{L}, ...)

  // InputError "{context}: regex /PATTERN/ does not compile at offset N: REASON".
  Regex(std::string_view pattern, Encoding encoding, const std::string& context);
  ~Regex();
  Regex(const Regex&) = delete;
  Regex& operator=(const Regex&) = delete;

  // The first match at or after byte `pos` as [begin, end), or nothing.
  std::optional<std::pair<std::size_t, std::size_t>> find(std::string_view s, std::size_t pos = 0) const;

  // True when the pattern matches anywhere in `s`.
  bool search(std::string_view s) const { return find(s).has_value(); }

  // Calls f(begin, end) for every non-empty match in s, left to right (an empty match moves on by one
  // character: one byte, or one UTF-8 sequence in Utf8 mode).
  template <class F>
  void for_each_match(std::string_view s, F&& f) const {
    std::size_t pos = 0;
    while (pos < s.size()) {
      auto m = find(s, pos);
      if (!m) return;
      if (m->second > m->first) {
        f(m->first, m->second);
        pos = m->second;
      } else {
        pos = m->first + char_length(s, m->first);
      }
    }
  }

 private:
  std::size_t char_length(std::string_view s, std::size_t i) const;

  pcre2_real_code_8* code_ = nullptr;
  Encoding encoding_;
};

}  // namespace r1
