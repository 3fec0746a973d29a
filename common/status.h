#pragma once

#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace sluice {

// Where an error comes from: the user's job, a system outside Sluice, or Sluice itself.
enum class ErrorDomain { kNone, kUser, kExternal, kInternal };

enum class StatusCode {
  kOk,
  kInvalidArgument,
  kNotFound,
  kFailedPrecondition,
  kUnavailable,
  kResourceExhausted,
  kDeadlineExceeded,
  kCancelled,
  kInternal,
  kUnauthenticated,  // the caller did not prove the cluster's token
};

// The outcome of a fallible call. Carries a code, a domain and whether retrying can help.
// Cheap to copy when ok (no allocation).
class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, ErrorDomain domain, std::string message, bool retryable = false)
      : code_(code), domain_(domain), retryable_(retryable), message_(std::move(message)) {}

  static Status Ok() { return Status(); }
  // The user's job is wrong (bad spec, a function that throws or runs too long).
  static Status User(std::string message) {
    return Status(StatusCode::kInvalidArgument, ErrorDomain::kUser, std::move(message));
  }
  static Status InvalidArgument(std::string message) { return User(std::move(message)); }
  static Status NotFound(std::string message) {
    return Status(StatusCode::kNotFound, ErrorDomain::kUser, std::move(message));
  }
  static Status FailedPrecondition(std::string message) {
    return Status(StatusCode::kFailedPrecondition, ErrorDomain::kUser, std::move(message));
  }
  // A system outside Sluice failed (file system, network peer, Kafka, ...).
  static Status External(std::string message, bool retryable = false) {
    return Status(StatusCode::kUnavailable, ErrorDomain::kExternal, std::move(message), retryable);
  }
  static Status Unavailable(std::string message) {
    return Status(StatusCode::kUnavailable, ErrorDomain::kExternal, std::move(message), true);
  }
  static Status Cancelled(std::string message) {
    return Status(StatusCode::kCancelled, ErrorDomain::kNone, std::move(message));
  }
  // The caller presented no token, or not the cluster's.
  static Status Unauthenticated(std::string message) {
    return Status(StatusCode::kUnauthenticated, ErrorDomain::kUser, std::move(message));
  }
  static Status Internal(std::string message) {
    return Status(StatusCode::kInternal, ErrorDomain::kInternal, std::move(message));
  }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  ErrorDomain domain() const { return domain_; }
  bool retryable() const { return retryable_; }
  const std::string& message() const { return message_; }
  std::string ToString() const;

  // Marks a status as deliberately ignored; greppable.
  void IgnoreError() const {}

 private:
  StatusCode code_ = StatusCode::kOk;
  ErrorDomain domain_ = ErrorDomain::kNone;
  bool retryable_ = false;
  std::string message_;
};

const char* StatusCodeName(StatusCode code);

// A value or the Status explaining why there is none.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}         // NOLINT: implicit by design
  Result(Status status) : value_(std::move(status)) {}  // NOLINT: implicit by design

  bool ok() const { return std::holds_alternative<T>(value_); }
  const Status& status() const {
    static const Status kOk;
    return ok() ? kOk : std::get<Status>(value_);
  }
  T& value() & { return std::get<T>(value_); }
  const T& value() const& { return std::get<T>(value_); }
  T&& value() && { return std::get<T>(std::move(value_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::variant<T, Status> value_;
};

}  // namespace sluice

#define SLUICE_RETURN_IF_ERROR(expr) \
  do {                               \
    ::sluice::Status _st = (expr);   \
    if (!_st.ok()) return _st;       \
  } while (0)
