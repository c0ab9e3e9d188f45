#include "r1/core/regex.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <fmt/format.h>
#include <pcre2.h>

#include <array>
#include <memory>
#include <stdexcept>

#include "r1/core/error.h"

namespace r1 {

Regex::Regex(std::string_view pattern, Encoding encoding, const std::string& context) : encoding_(encoding) {
  int err = 0;
  PCRE2_SIZE offset = 0;
  const uint32_t options = encoding == Encoding::Utf8 ? PCRE2_UTF | PCRE2_UCP : 0;
  code_ = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(), options, &err, &offset, nullptr);
  if (!code_) {
    std::array<PCRE2_UCHAR, 256> msg{};
    pcre2_get_error_message(err, msg.data(), msg.size());
    throw InputError(fmt::format("{}: regex /{}/ does not compile at offset {}: {}", context, pattern, offset,
                                 reinterpret_cast<const char*>(msg.data())));
  }
  pcre2_jit_compile(code_, PCRE2_JIT_COMPLETE);
}

Regex::~Regex() { pcre2_code_free(code_); }

std::optional<std::pair<std::size_t, std::size_t>> Regex::find(std::string_view s, std::size_t pos) const {
  // One match block per thread, shared by every pattern: only the whole match's offsets are read.
  thread_local std::unique_ptr<pcre2_match_data, void (*)(pcre2_match_data*)> md(pcre2_match_data_create(1, nullptr),
                                                                                 pcre2_match_data_free);
  auto subject = reinterpret_cast<PCRE2_SPTR>(s.data());
  const uint32_t options = encoding_ == Encoding::Utf8 ? PCRE2_NO_UTF_CHECK : 0;
  int rc = pcre2_match(code_, subject, s.size(), pos, options, md.get(), nullptr);
  if (rc == PCRE2_ERROR_JIT_STACKLIMIT)
    rc = pcre2_match(code_, subject, s.size(), pos, options | PCRE2_NO_JIT, md.get(), nullptr);
  if (rc == PCRE2_ERROR_NOMATCH) return std::nullopt;
  if (rc < 0) {
    std::array<PCRE2_UCHAR, 256> msg{};
    pcre2_get_error_message(rc, msg.data(), msg.size());
    throw std::runtime_error(fmt::format("regex match failed: {}", reinterpret_cast<const char*>(msg.data())));
  }
  const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(md.get());
  return std::make_pair(static_cast<std::size_t>(ov[0]), static_cast<std::size_t>(ov[1]));
}

std::size_t Regex::char_length(std::string_view s, std::size_t i) const {
  if (encoding_ == Encoding::Bytes) return 1;
  const auto c = static_cast<unsigned char>(s[i]);
  return c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
}

}  // namespace r1
