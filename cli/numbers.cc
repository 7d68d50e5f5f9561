#include "cli/numbers.h"

#include <cctype>
#include <charconv>
#include <cmath>
#include <limits>

namespace ocelot::cli {

namespace {

// The leading unsigned decimal (digits, at most one '.') of s from i; false if there is none.
bool leading_decimal(const std::string& s, size_t& i, double& out) {
  size_t j = i;
  bool digits = false, dot = false;
  while (j < s.size()) {
    if (std::isdigit(static_cast<unsigned char>(s[j])))
      digits = true;
    else if (s[j] == '.' && !dot)
      dot = true;
    else
      break;
    ++j;
  }
  if (!digits) return false;
  auto [p, ec] = std::from_chars(s.data() + i, s.data() + j, out);
  if (ec != std::errc() || p != s.data() + j || !std::isfinite(out)) return false;
  i = j;
  return true;
}

}  // namespace

Result<int64_t> parse_int(const std::string& flag, const std::string& text, int64_t min, int64_t max) {
  auto bad = [&] {
    return Error::make("--" + flag + ": expected a whole number between " + std::to_string(min) + " and " +
                       std::to_string(max) + ", got \"" + text + "\"");
  };
  int64_t v = 0;
  const char* b = text.data();
  const char* e = b + text.size();
  if (!text.empty() && text[0] == '+') ++b;
  auto [p, ec] = std::from_chars(b, e, v);
  if (text.empty() || ec != std::errc() || p != e || v < min || v > max) return bad();
  return v;
}

Result<int64_t> parse_bytes(const std::string& flag, const std::string& text) {
  auto bad = [&] { return Error::make("--" + flag + ": invalid size \"" + text + "\""); };
  if (text == "-1") return int64_t{-1};
  size_t i = 0;
  double n = 0;
  if (!leading_decimal(text, i, n)) return bad();
  std::string unit = text.substr(i);
  for (auto& c : unit) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (!unit.empty() && unit.back() == 'b') unit.pop_back();
  if (!unit.empty() && unit.back() == 'i') unit.pop_back();
  double mul = unit.empty()  ? 1
               : unit == "k" ? 1024.0
               : unit == "m" ? 1048576.0
               : unit == "g" ? 1073741824.0
               : unit == "t" ? 1099511627776.0
               : unit == "p" ? 1125899906842624.0
                             : -1;
  if (mul < 0) return bad();
  double v = n * mul;
  if (v >= 9.2e18) return Error::make("--" + flag + ": size \"" + text + "\" is too large");
  return static_cast<int64_t>(v);
}

Result<long long> parse_duration_ms(const std::string& s) {
  auto bad = [&] { return Error::make("invalid duration \"" + s + "\""); };
  if (s.empty()) return bad();
  if (s == "0") return 0LL;
  double total = 0;
  size_t i = 0;
  while (i < s.size()) {
    double v = 0;
    if (!leading_decimal(s, i, v)) return bad();
    size_t k = i;
    while (k < s.size() && !std::isdigit(static_cast<unsigned char>(s[k])) && s[k] != '.') ++k;
    std::string unit = s.substr(i, k - i);
    double ms;
    if (unit == "ns")
      ms = v / 1e6;
    else if (unit == "us" || unit == "\xc2\xb5s" || unit == "\xce\xbcs")
      ms = v / 1e3;
    else if (unit == "ms")
      ms = v;
    else if (unit == "s")
      ms = v * 1e3;
    else if (unit == "m")
      ms = v * 60e3;
    else if (unit == "h")
      ms = v * 3600e3;
    else
      return bad();
    total += ms;
    if (total > 9e15) return bad();
    i = k;
  }
  return static_cast<long long>(std::llround(total));
}

}  // namespace ocelot::cli
