// What the API request target (fuzz/api_request_fuzzer.cpp) guards: request bodies that cpp-httplib
// 0.11 reads past the server's body limit (found reading its body reader for that target; the
// saved inputs, tests/data/fuzz/api_request_*.http, are the target's inputs). Each goes through
// cpp-httplib's own request reading, from memory (fuzz/memory_http.h), with the target's 3 KB limit:
// server::refuse_unbounded_body must turn it away before its body is read.
#include <gtest/gtest.h>

#include <string>

#include "fuzz/fuzz_inputs.h"
#include "memory_http.h"

namespace mystyle::fuzz_regression {
namespace {

constexpr std::size_t kPayloadMaxBytes = 3072;

struct Seen {
  int requests = 0;
  std::size_t max_body_bytes = 0;
};

fuzz::MemoryServer server_recording(Seen& seen) {
  return fuzz::MemoryServer(kPayloadMaxBytes, [&seen](const httplib::Request& req, httplib::Response& res) {
    std::size_t bytes = req.body.size();
    for (const auto& file : req.files) bytes += file.second.content.size();
    ++seen.requests;
    seen.max_body_bytes = std::max(seen.max_body_bytes, bytes);
    res.status = 200;
  });
}

/// A saved input of the target in mode 0 (raw): its first byte chose the mode, the rest is the request.
std::string raw_request(const std::string& name) {
  return fuzz_input(name).substr(1);
}

// A chunked body (five chunks, 4.4 KB), a body without Content-Length (read until the client
// closes) and a gzip body of 216 bytes that inflates to 64 KB: cpp-httplib hands each whole to the
// handler whatever the limit; refused, no handler runs.
TEST(ApiRequestFuzzRegression, BodiesTheLimitCannotHoldAreRefusedBeforeTheyAreRead) {
  for (const char* name :
       {"api_request_chunked.http", "api_request_no_length.http", "api_request_gzip.http"}) {
    Seen seen;
    fuzz::MemoryServer server = server_recording(seen);
    server.serve(raw_request(name));
    EXPECT_TRUE(server.refused()) << name;
    EXPECT_EQ(seen.requests, 0) << name << ": a handler saw " << seen.max_body_bytes << " bytes";
  }
}

TEST(ApiRequestFuzzRegression, BodiesWithContentLengthStillReachTheHandlerWithinTheLimit) {
  Seen seen;
  fuzz::MemoryServer server = server_recording(seen);
  const std::string upload = std::string(1000, 'j');
  server.serve(
      "POST /api/recommend?k=3 HTTP/1.1\r\nContent-Type: image/jpeg\r\nContent-Length: 1000\r\n\r\n" +
      upload);
  EXPECT_FALSE(server.refused());
  EXPECT_EQ(seen.requests, 1);
  EXPECT_EQ(seen.max_body_bytes, 1000U);
  // Over the limit by Content-Length: httplib answers 413 itself, before reading the body.
  Seen over;
  fuzz::MemoryServer limited = server_recording(over);
  limited.serve("POST /api/recommend HTTP/1.1\r\nContent-Length: 5000\r\n\r\n" + std::string(5000, 'x'));
  EXPECT_EQ(over.requests, 0);
}

}  // namespace
}  // namespace mystyle::fuzz_regression
