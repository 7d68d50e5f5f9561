// Path-tracking readers from nlohmann::json into plain types. Every failure names the JSON path and
// what was wrong: `process.args[1]: expected a string, got 42`. Used by the config, process and
// resources parsers. Never throws: type checks happen before any nlohmann accessor.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include "base/error.h"

namespace ocelot::spec::jr {

using json = nlohmann::json;

std::string describe(const json& j);  // "42", "\"abc\"", "an object", "null"
inline std::string key_path(const std::string& path, const std::string& key) {
  return path.empty() ? key : path + "." + key;
}
inline std::string index_path(const std::string& path, size_t i) { return path + "[" + std::to_string(i) + "]"; }
inline Error type_error(const std::string& path, const char* expected, const json& got) {
  return Error::make(path + ": expected " + expected + ", got " + describe(got));
}

Status read(const json& j, const std::string& path, std::string& out);
Status read(const json& j, const std::string& path, bool& out);

template <class T>
requires std::is_integral_v<T> &&(!std::is_same_v<T, bool>)Status read(const json& j, const std::string& path, T& out) {
  const char* what = std::is_signed_v<T> ? (sizeof(T) == 8 ? "a 64-bit integer" : "a 32-bit integer")
                                         : (sizeof(T) == 8   ? "an unsigned 64-bit integer"
                                            : sizeof(T) == 4 ? "an unsigned 32-bit integer"
                                                             : "an unsigned 16-bit integer");
  if (j.is_number_unsigned()) {
    auto v = j.get<uint64_t>();
    if (v > static_cast<uint64_t>(std::numeric_limits<T>::max())) return type_error(path, what, j);
    out = static_cast<T>(v);
    return ok();
  }
  if (j.is_number_integer()) {
    auto v = j.get<int64_t>();
    if (std::is_unsigned_v<T> && v < 0) return type_error(path, what, j);
    if constexpr (std::is_signed_v<T>) {
      if (v < static_cast<int64_t>(std::numeric_limits<T>::min()) ||
          v > static_cast<int64_t>(std::numeric_limits<T>::max()))
        return type_error(path, what, j);
    }
    out = static_cast<T>(v);
    return ok();
  }
  return type_error(path, what, j);
}

template <class T>
Status read(const json& j, const std::string& path, std::optional<T>& out) {
  T v{};
  OCL_CHECK(read(j, path, v));
  out = std::move(v);
  return ok();
}

template <class T>
Status read(const json& j, const std::string& path, std::vector<T>& out) {
  if (!j.is_array()) return type_error(path, "an array", j);
  out.clear();
  out.reserve(j.size());
  for (size_t i = 0; i < j.size(); ++i) {
    T v{};
    OCL_CHECK(read(j[i], index_path(path, i), v));
    out.push_back(std::move(v));
  }
  return ok();
}

template <class T>
Status read(const json& j, const std::string& path, std::map<std::string, T>& out) {
  if (!j.is_object()) return type_error(path, "an object", j);
  out.clear();
  for (auto it = j.begin(); it != j.end(); ++it) {
    if (it.key().find('\0') != std::string::npos)
      return Error::make(path + ": a key must not contain a NUL byte (\\u0000)");
    T v{};
    OCL_CHECK(read(it.value(), key_path(path, it.key()), v));
    out.emplace(it.key(), std::move(v));
  }
  return ok();
}

inline Status expect_object(const json& j, const std::string& path) {
  if (!j.is_object()) return type_error(path.empty() ? std::string("config") : path, "an object", j);
  return ok();
}

// Reads obj[key] into out. Absent or null keys leave out untouched, or fail when required.
template <class T>
Status field(const json& obj, const std::string& path, const char* key, T& out, bool required = false) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) {
    if (required) return Error::make(key_path(path, key) + ": missing required field");
    return ok();
  }
  return read(*it, key_path(path, key), out);
}

}  // namespace ocelot::spec::jr
