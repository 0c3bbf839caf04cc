#pragma once
/// The one exception type for bad input and I/O failures. Its message always says what was
/// wrong and where (file, line, field), so the CLI can print it as one line and the server can
/// return it as a JSON error body.
#include <stdexcept>
#include <string>

namespace mystyle {

/// What kind of failure an Error reports; the server maps it to an HTTP status.
enum class ErrorKind {
  kInvalidInput,  ///< malformed data or bad parameters supplied by the caller
  kNotFound,      ///< an id, file or resource that does not exist
  kTooLarge,      ///< input over a configured limit (bytes, pixels)
  kUnsupported,   ///< a format we cannot decode
  kIo,            ///< the file system or database failed
  kCorrupt,       ///< a stored file (model, index, cache) failed its checks
};

class Error : public std::runtime_error {
 public:
  explicit Error(std::string message, ErrorKind kind = ErrorKind::kInvalidInput)
      : std::runtime_error(std::move(message)), kind_(kind) {}
  ErrorKind kind() const noexcept { return kind_; }

 private:
  ErrorKind kind_;
};

}  // namespace mystyle
