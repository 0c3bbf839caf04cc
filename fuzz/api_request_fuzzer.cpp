// Fuzzes the JSON API's request parsing: cpp-httplib's own reading of a request (request line,
// query string, headers, Content-Length, chunked and compressed bodies, multipart/form-data) under
// the server's body limit, then the server's parsers (src/server/request_parsing.h) on the request
// it made, as POST /api/recommend, POST /api/complete and GET /api/items call them.
//
// The input's first byte chooses how the rest becomes a request (byte % 3):
//   0 raw:    the rest is the request as a client sends it, read from memory by cpp-httplib's
//             server (memory_http.h: no socket), with the server's body limit and its refusal of
//             bodies that limit cannot hold (server::refuse_unbounded_body).
//   1 framed: the rest is QUERY, CONTENT-TYPE, BODY and extra header lines, separated by
//             fuzz::kFileSeparator; the request around them gets a correct Content-Length, so
//             mutations reach the body parsers (multipart) instead of breaking the framing.
//   2 direct: the rest is QUERY (parsed by httplib::detail::parse_query_text into req.params), then
//             multipart fields "name\0filename\0content" or raw body bytes (a part without NUL); the
//             parsers run on that request without httplib's framing, so bytes a request line cannot
//             carry reach them too.
// A parser may answer only with a value inside its documented bounds or a mystyle::Error (or
// server::HttpError); anything else aborts, and libFuzzer saves the input.
//
// Coverage guides only our code here: Debian's libcpp-httplib.so is not instrumented, so AddressSanitizer
// sees its faults only when they crash or misuse the heap's allocator (docs/reliability.md).
#include <httplib.h>

#include <algorithm>
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_support.h"
#include "memory_http.h"
#include "mystyle/server/http_error.h"
#include "request_parsing.h"

using namespace mystyle;

namespace {

// The server's limits, scaled down so that libFuzzer's inputs (up to 16 KB, api_request_fuzzer.options)
// can cross them: the photo limit, and httplib's body limit above it by the multipart overhead
// (server.cpp: max_upload_bytes + 1 MB).
constexpr std::size_t kMaxUploadBytes = 2048;
constexpr std::size_t kPayloadMaxBytes = kMaxUploadBytes + 1024;

// What the catalog's categories look like (sorted, as Recommender::categories() gives them).
const std::vector<std::string> kCategories = {"Accessories", "Bottoms", "Dresses", "Shoes", "Tops"};

bool is_category(const std::string& name) {
  return std::binary_search(kCategories.begin(), kCategories.end(), name);
}

/// Runs `parse`; a mystyle::Error or server::HttpError with a message is a valid answer, anything else
/// aborts.
template <typename Parse>
void expect_only_request_errors(const char* what, Parse&& parse) {
  try {
    parse();
  } catch (const Error& e) {
    fuzz::check(e.what()[0] != '\0', "an Error without a message");
  } catch (const server::HttpError& e) {
    fuzz::check(e.status() >= 400 && e.status() < 600, "an HttpError with a status that is not an error");
  } catch (const std::exception& e) {
    std::fprintf(stderr, "FUZZ BUG: %s: %s escaped (expected mystyle::Error): %s\n", what, typeid(e).name(),
                 e.what());
    std::abort();
  } catch (...) {
    std::fprintf(stderr, "FUZZ BUG: %s: a non-std exception escaped\n", what);
    std::abort();
  }
}

/// The error of a parser given parameter `name` must name it (as far as what(), a C string, reaches:
/// up to a NUL byte in the name).
template <typename Parse>
void expect_error_naming(const std::string& name, Parse&& parse) {
  try {
    parse();
  } catch (const Error& e) {
    const std::string quoted = "'" + name.substr(0, name.find('\0'));
    fuzz::check(std::string_view(e.what()).find(quoted) != std::string_view::npos,
                "a parameter's error does not name the parameter");
  }
}

bool is_slot(catalog::Slot slot) {
  return std::find(catalog::kAllSlots.begin(), catalog::kAllSlots.end(), slot) != catalog::kAllSlots.end();
}

/// Every parser of the API on `req`, each result checked against its documented bounds.
void run_parsers(const httplib::Request& req) {
  expect_only_request_errors("parse_recommend_request", [&] {
    const engine::RecommendRequest r = server::parse_recommend_request(req, kCategories);
    fuzz::check(r.k >= 1 && r.k <= server::kMaxK, "recommend: k out of range");
    fuzz::check(r.max_outfits <= server::kMaxOutfits, "recommend: outfits out of range");
    fuzz::check(r.metric == index::Metric::kCosine || r.metric == index::Metric::kEuclidean ||
                    r.metric == index::Metric::kPearson,
                "recommend: not a metric");
    fuzz::check(
        r.mode == recommend::CoordinationMode::kRanked || r.mode == recommend::CoordinationMode::kSeed,
        "recommend: not a mode");
    fuzz::check(!r.category || is_category(*r.category), "recommend: unknown category accepted");
    fuzz::check(!r.slot || is_slot(*r.slot), "recommend: not a slot");
  });
  expect_only_request_errors("parse_complete_request", [&] {
    const engine::CompleteRequest r = server::parse_complete_request(req, kCategories);
    fuzz::check(r.outfits <= std::size_t{server::kMaxCompleteOutfits}, "complete: outfits out of range");
    fuzz::check(r.per_slot >= 1 && r.per_slot <= std::size_t{server::kMaxPerSlot},
                "complete: per_slot out of range");
    fuzz::check(!r.category || is_category(*r.category), "complete: unknown category accepted");
    fuzz::check(std::all_of(r.slots.begin(), r.slots.end(), is_slot), "complete: not a slot");
    fuzz::check(!r.slot || is_slot(*r.slot), "complete: not a slot");
  });
  expect_only_request_errors("parse_items_query", [&] {
    const server::ItemsQuery q = server::parse_items_query(req, kCategories);
    fuzz::check(q.page >= 1 && q.page <= server::kMaxPage, "items: page out of range");
    fuzz::check(q.per_page >= 1 && q.per_page <= server::kMaxPerPage, "items: per_page out of range");
    fuzz::check(!q.category || is_category(*q.category), "items: unknown category accepted");
    fuzz::check(std::none_of(q.text_lower.begin(), q.text_lower.end(),
                             [](unsigned char c) { return std::isupper(c); }),
                "items: q not lowercased");
  });
  expect_only_request_errors("read_upload", [&] {
    const server::Upload up = server::read_upload(req, kMaxUploadBytes);
    fuzz::check(up.bytes.size() <= kMaxUploadBytes, "upload over the limit accepted");
    fuzz::check(up.name.size() <= server::kMaxNameChars, "upload name over its limit");
    fuzz::check(req.is_multipart_form_data() || !up.bytes.empty(), "empty raw upload accepted");
  });
  // Each parameter's value through the scalar parsers: in range, or an error naming the parameter.
  for (const auto& entry : req.params) {
    const std::string& key = entry.first;  // not a structured binding: clang 14 cannot capture those
    const std::string& value = entry.second;
    expect_only_request_errors("scalar parsers", [&] {
      expect_error_naming(key, [&] {
        const std::int64_t n = server::parse_integer(value, key, -5, 1'000'000);
        fuzz::check(n >= -5 && n <= 1'000'000, "parse_integer out of range");
      });
      expect_error_naming(key, [&] { server::parse_bool(value, key); });
      expect_error_naming(key,
                          [&] { fuzz::check(is_slot(server::parse_slot_param(value, key)), "not a slot"); });
    });
  }
}

fuzz::MemoryServer& memory_server() {
  static fuzz::MemoryServer server(kPayloadMaxBytes, [](const httplib::Request& req, httplib::Response& res) {
    // What httplib read must have stayed within the body limit, whatever the framing.
    std::size_t bytes = req.body.size();
    for (const auto& file : req.files) bytes += file.second.content.size();
    fuzz::check(bytes <= kPayloadMaxBytes, "a request body past the body limit reached a handler");
    run_parsers(req);
    res.status = 200;
  });
  return server;
}

void serve_framed(std::string_view rest) {
  const std::vector<std::string_view> parts = fuzz::split_parts(rest, fuzz::kFileSeparator);
  const std::string_view query = parts.size() > 0 ? parts[0] : std::string_view();
  const std::string_view content_type = parts.size() > 1 ? parts[1] : std::string_view();
  const std::string_view body = parts.size() > 2 ? parts[2] : std::string_view();
  const std::string_view extra_headers = parts.size() > 3 ? parts[3] : std::string_view();
  std::string request = "POST /api/recommend";
  if (!query.empty()) (request += '?') += query;
  request += " HTTP/1.1\r\nHost: localhost\r\n";
  if (!content_type.empty()) ((request += "Content-Type: ") += content_type) += "\r\n";
  if (!extra_headers.empty()) (request += extra_headers) += "\r\n";
  request += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n";
  request += body;
  memory_server().serve(request);
}

void parse_direct(std::string_view rest) {
  const std::vector<std::string_view> parts = fuzz::split_parts(rest, fuzz::kFileSeparator);
  httplib::Request req;
  req.method = "POST";
  req.path = "/api/recommend";
  if (!parts.empty()) httplib::detail::parse_query_text(std::string(parts[0]), req.params);
  for (std::size_t i = 1; i < parts.size(); ++i) {
    // "name\0filename\0content" is a multipart field (an empty filename: a plain form field);
    // a part without a NUL is (more of) a raw body.
    const std::string_view part = parts[i];
    const std::size_t a = part.find('\0');
    if (a == std::string_view::npos) {
      req.body += part;
      continue;
    }
    const std::size_t b = part.find('\0', a + 1);
    httplib::MultipartFormData field;
    field.name = std::string(part.substr(0, a));
    field.filename = std::string(part.substr(a + 1, b == std::string_view::npos ? b : b - a - 1));
    if (b != std::string_view::npos) field.content = std::string(part.substr(b + 1));
    req.files.emplace(field.name, field);
  }
  if (!req.files.empty()) req.set_header("Content-Type", "multipart/form-data; boundary=x");
  run_parsers(req);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string_view rest = fuzz::as_text(data + 1, size - 1);
  switch (data[0] % 3) {
    case 0:
      memory_server().serve(rest);
      break;
    case 1:
      serve_framed(rest);
      break;
    default:
      parse_direct(rest);
      break;
  }
  return 0;
}
