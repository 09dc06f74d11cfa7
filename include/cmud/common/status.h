// The project's one error model: a Status (code + message) and Result<T>
// (a value or a non-OK Status). No exceptions cross library boundaries;
// code at the edges (programs, protocol handlers) turns them into text.
#pragma once

#include <cassert>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace cmud {

// Documented error codes. Keep the list short; the message carries detail.
enum class ErrorCode {
  kOk = 0,
  kInvalidArgument,  // the caller asked for something malformed
  kNotFound,         // a key, actor or channel that does not exist
  kUnavailable,      // a peer cannot be reached or the connection broke
  kClosed,           // the system or connection has been closed
  kDecode,           // bytes that do not decode as the expected value
  kTooLarge,         // a frame, value or request over a configured limit
  kTimeout,          // a deadline passed
  kProtocol,         // the peer broke the wire protocol
  kAlreadyUsed,      // a single-use channel ref got a second message
  kIo,               // the file system failed (disk full, permissions...)
  kDenied,           // credentials refused (a wrong password)
  kInternal,         // a bug or an error returned by an actor
};

std::string_view error_code_name(ErrorCode code);

// Thread-compatible value type.
class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(ErrorCode code, std::string message)
      : code_(code), message_(std::move(message)) {}

  static Status ok_status() { return Status(); }

  bool ok() const { return code_ == ErrorCode::kOk; }
  ErrorCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // "CODE: message", or "OK".
  std::string to_string() const;

  friend bool operator==(const Status&, const Status&) = default;

 private:
  ErrorCode code_ = ErrorCode::kOk;
  std::string message_;
};

inline std::string_view error_code_name(ErrorCode code) {
  switch (code) {
    case ErrorCode::kOk:
      return "OK";
    case ErrorCode::kInvalidArgument:
      return "INVALID_ARGUMENT";
    case ErrorCode::kNotFound:
      return "NOT_FOUND";
    case ErrorCode::kUnavailable:
      return "UNAVAILABLE";
    case ErrorCode::kClosed:
      return "CLOSED";
    case ErrorCode::kDecode:
      return "DECODE";
    case ErrorCode::kTooLarge:
      return "TOO_LARGE";
    case ErrorCode::kTimeout:
      return "TIMEOUT";
    case ErrorCode::kProtocol:
      return "PROTOCOL";
    case ErrorCode::kAlreadyUsed:
      return "ALREADY_USED";
    case ErrorCode::kIo:
      return "IO";
    case ErrorCode::kDenied:
      return "DENIED";
    case ErrorCode::kInternal:
      return "INTERNAL";
  }
  return "UNKNOWN";
}

inline std::string Status::to_string() const {
  if (ok()) return "OK";
  std::string out(error_code_name(code_));
  out += ": ";
  out += message_;
  return out;
}

// A value of T or an error. Thread-compatible.
// REQUIRES: a Result built from a Status is built from a non-OK one.
template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : data_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Status status) : data_(std::move(status)) {  // NOLINT
    assert(!std::get<Status>(data_).ok());
  }

  bool ok() const { return data_.index() == 0; }
  explicit operator bool() const { return ok(); }

  // REQUIRES: ok(). Otherwise the process stops with the status printed (a
  // broken precondition, like a failed CHECK; there are no exceptions to
  // catch): check ok() first wherever an error can happen.
  T& value() & {
    check_ok();
    return *std::get_if<0>(&data_);
  }
  const T& value() const& {
    check_ok();
    return *std::get_if<0>(&data_);
  }
  T&& value() && {
    check_ok();
    return std::move(*std::get_if<0>(&data_));
  }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  // OK when a value is held.
  Status status() const { return ok() ? Status() : std::get<1>(data_); }

 private:
  void check_ok() const {
    if (!ok()) [[unlikely]] {
      std::fprintf(stderr, "cmud: Result::value() on an error: %s\n",
                   std::get<1>(data_).to_string().c_str());
      std::abort();
    }
  }

  std::variant<T, Status> data_;
};

}  // namespace cmud
