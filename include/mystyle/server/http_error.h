#pragma once
/// The one place where failures become HTTP statuses and JSON error bodies.
#include <exception>
#include <stdexcept>
#include <string>

#include "mystyle/core/error.h"

namespace mystyle::server {

/// A failure that already knows its HTTP status (e.g. 422 for an image that is not decodable),
/// thrown by handlers when a mystyle::Error's kind alone would give the wrong status.
class HttpError : public std::runtime_error {
 public:
  HttpError(int status, const std::string& message) : std::runtime_error(message), status_(status) {}
  int status() const noexcept { return status_; }

 private:
  int status_;
};

/// kInvalidInput 400, kNotFound 404, kTooLarge 413, kUnsupported 415, kIo and kCorrupt 500.
int http_status(ErrorKind kind);

struct ErrorReply {
  int status = 500;
  std::string message;  ///< what was wrong, for the {"error": ...} body
};

/// Maps any exception (HttpError, mystyle::Error, std::exception, anything else) to its reply.
/// Unexpected exceptions become 500 with their message; nothing escapes.
ErrorReply error_reply(std::exception_ptr error) noexcept;

/// {"error": message} as compact JSON text.
std::string error_json(const std::string& message);

}  // namespace mystyle::server
