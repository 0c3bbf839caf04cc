#include "mystyle/server/http_error.h"

#include <nlohmann/json.hpp>

namespace mystyle::server {

int http_status(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::kInvalidInput:
      return 400;
    case ErrorKind::kNotFound:
      return 404;
    case ErrorKind::kTooLarge:
      return 413;
    case ErrorKind::kUnsupported:
      return 415;
    case ErrorKind::kIo:
    case ErrorKind::kCorrupt:
      return 500;
  }
  return 500;
}

ErrorReply error_reply(std::exception_ptr error) noexcept {
  try {
    std::rethrow_exception(error);
  } catch (const HttpError& e) {
    return {e.status(), e.what()};
  } catch (const Error& e) {
    return {http_status(e.kind()), e.what()};
  } catch (const nlohmann::json::exception& e) {
    return {500, std::string("internal error (JSON): ") + e.what()};
  } catch (const std::bad_alloc&) {
    return {500, "internal error: out of memory"};
  } catch (const std::exception& e) {
    return {500, std::string("internal error: ") + e.what()};
  } catch (...) {
    return {500, "internal error: unknown exception"};
  }
}

std::string error_json(const std::string& message) {
  // Messages may quote user input (file names): replace invalid UTF-8 rather than throw.
  return nlohmann::json{{"error", message}}.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace mystyle::server
