// Error and Result: the error contract of every layer below cli/.
//
// An Error is an errno (0 when the failure is not a syscall's) plus a message that already reads as
// one line: `mount "proc" on "/proc": operation not permitted`. Callers add context on the way up
// with wrap(): `create container "web": mount "proc" on "/proc": operation not permitted`. Only cli/ prints errors.
// Result<T> is a small expected<T, Error> (g++ 12 has no std::expected).
#pragma once

#include <cerrno>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace ocelot {

struct Error {
  int code = 0;     // errno of the failed call, 0 for logical errors
  std::string msg;  // full one-line message, context first

  // A logical error (bad input, wrong state): no errno.
  static Error make(std::string msg) { return Error{0, std::move(msg)}; }
  // A failed syscall: `what: strerror` (lower case, as runc words it).
  static Error sys(int err, std::string_view what);
  // The same, reading errno now.
  static Error last(std::string_view what) { return sys(errno, what); }

  Error wrap(std::string_view context) const& { return Error{code, std::string(context) + ": " + msg}; }
  Error wrap(std::string_view context) && {
    msg.insert(0, std::string(context) + ": ");
    return std::move(*this);
  }
};

// "EPERM", "ENOENT", ... (falls back to the number).
std::string errno_name(int err);
// "operation not permitted", "no such file or directory": strerror in lower case, as runc (Go)
// words it, because callers match on these words.
std::string errno_text(int err);
// s in double quotes, with control characters, quotes and backslashes escaped, for messages that
// echo user input on one line: an id "a\nb" prints as "a\nb", not over two lines.
std::string quote(std::string_view s);

template <class T>
class [[nodiscard]] Result {
 public:
  Result(T v) : v_(std::in_place_index<0>, std::move(v)) {}      // NOLINT(implicit)
  Result(Error e) : v_(std::in_place_index<1>, std::move(e)) {}  // NOLINT(implicit)
  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& operator*() & { return std::get<0>(v_); }
  T&& operator*() && { return std::get<0>(std::move(v_)); }
  const T& operator*() const& { return std::get<0>(v_); }
  T* operator->() { return &std::get<0>(v_); }
  const T* operator->() const { return &std::get<0>(v_); }
  const Error& error() const& { return std::get<1>(v_); }
  Error&& error() && { return std::get<1>(std::move(v_)); }

 private:
  std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error e) : e_(std::move(e)) {}  // NOLINT(implicit)
  bool ok() const { return !e_.has_value(); }
  explicit operator bool() const { return ok(); }
  const Error& error() const& { return *e_; }
  Error&& error() && { return std::move(*e_); }

 private:
  std::optional<Error> e_;
};

using Status = Result<void>;
inline Status ok() { return {}; }

}  // namespace ocelot

// Evaluate a Result; on error return it from the enclosing function, else yield the value.
// (A GNU statement expression: g++ and clang both have them.)
#define OCL_TRY(expr)                              \
  ({                                               \
    auto _ocl_r = (expr);                          \
    if (!_ocl_r) return std::move(_ocl_r).error(); \
    std::move(*_ocl_r);                            \
  })
// The same for Status (no value).
#define OCL_CHECK(expr)                            \
  do {                                             \
    auto _ocl_s = (expr);                          \
    if (!_ocl_s) return std::move(_ocl_s).error(); \
  } while (0)
// The same, adding context to the message on the way up.
#define OCL_CHECK_CTX(expr, ctx)                             \
  do {                                                       \
    auto _ocl_s = (expr);                                    \
    if (!_ocl_s) return std::move(_ocl_s).error().wrap(ctx); \
  } while (0)
