// Errors as values between modules: every fallible call across a module boundary returns
// Result<T> (or Status). Exceptions never cross a module boundary; the front doors (HTTP routes,
// CLI) map ErrorKind to a status code or exit code in one table each.
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace chaja {

enum class ErrorKind {
  kInvalidInput,  // the caller's input is wrong (HTTP 400, exit 2)
  kNotFound,      // a named thing does not exist (404)
  kTooLarge,      // over a size limit (413)
  kUnsupported,   // valid request for something this build or configuration cannot do (400)
  kConflict,      // state does not allow it, e.g. embedder mismatch (409)
  kForbidden,     // the caller may not do this (403)
  kUnauthorized,  // no credentials, or ones not accepted (401)
  kUnavailable,   // not ready or an upstream refused (503)
  kUpstream,      // an upstream provider failed (502)
  kTimeout,       // an upstream timed out (504)
  kIo,            // file system or database failure (500)
  kInternal,      // a bug (500)
  kRateLimited,   // an upstream provider's rate limit, after the retries allowed (429)
  kCancelled,     // the caller cancelled (the client went away): nobody to answer
};

// Stable lower-case name used in JSON error objects and logs.
const char* error_kind_name(ErrorKind kind);

struct Error {
  ErrorKind kind = ErrorKind::kInternal;
  std::string message;
};

inline Error make_error(ErrorKind kind, std::string message) {
  return Error{kind, std::move(message)};
}

// Result<T>: either a value or an Error. Cheap to move; check ok() before value().
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}      // NOLINT(google-explicit-constructor)
  Result(Error error) : v_(std::move(error)) {}  // NOLINT(google-explicit-constructor)

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T* operator->() { return &std::get<0>(v_); }
  const T* operator->() const { return &std::get<0>(v_); }
  T& operator*() & { return std::get<0>(v_); }
  const T& operator*() const& { return std::get<0>(v_); }
  T&& operator*() && { return std::get<0>(std::move(v_)); }

  const Error& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, Error> v_;
};

// Status: a Result with no value.
class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(Error error)
      : error_(std::move(error)), ok_(false) {}  // NOLINT(google-explicit-constructor)
  bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const Error& error() const { return error_; }

 private:
  Error error_;
  bool ok_ = true;
};

}  // namespace chaja
