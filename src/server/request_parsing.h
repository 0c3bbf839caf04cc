#pragma once
// Internal to the server: what the JSON API reads from a request (query parameters, multipart form
// fields, the uploaded photo), checked against the API's bounds. Kept apart from the routes so that
// the fuzz target (fuzz/api_request_fuzzer.cpp) and the unit tests can call it with a hand-filled
// httplib::Request, without a trained model or a socket.
//
// Every function throws mystyle::Error (kInvalidInput, or kTooLarge for an upload over its limit)
// for a bad request, with a message naming the parameter; nothing else escapes. All are pure
// functions of their arguments: safe to call from any thread.
#include <httplib.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "mystyle/catalog/slot.h"
#include "mystyle/engine/completer.h"
#include "mystyle/engine/other_colours.h"
#include "mystyle/engine/recommender.h"

namespace mystyle::server {

/// POST /api/recommend: `k` from 1 to kMaxK, `outfits` from 0 to kMaxOutfits (the engine's request's bounds,
/// checked here too so that the error names the parameter).
inline constexpr std::size_t kMaxK = engine::RecommendRequest::kMaxK;
inline constexpr std::size_t kMaxOutfits = engine::RecommendRequest::kMaxOutfits;
/// POST /api/complete: the engine's CompleteRequest bounds, likewise.
inline constexpr std::int64_t kMaxCompleteOutfits = engine::CompleteRequest::kMaxOutfits;
inline constexpr std::int64_t kMaxPerSlot = engine::CompleteRequest::kMaxPerSlot;
/// GET /api/items: `page` from 1 to kMaxPage, `per_page` from 1 to kMaxPerPage (kDefaultPerPage when absent).
inline constexpr std::int64_t kMaxPage = 1'000'000;
inline constexpr std::int64_t kMaxPerPage = 100;
inline constexpr std::int64_t kDefaultPerPage = 24;
/// An upload's name (its multipart filename, or the `name` parameter) is cut to this many bytes.
inline constexpr std::size_t kMaxNameChars = 200;

/// A parameter from the query string or, for multipart forms, a non-file form field (a part
/// without a filename). The query string wins when both carry `key`; nullopt when neither does.
std::optional<std::string> param(const httplib::Request& req, const std::string& key);

/// `text` as a whole decimal number from `min` to `max` (digits after an optional '-'; no '+',
/// spaces or other characters); the error names parameter `name` and the range.
std::int64_t parse_integer(const std::string& text, const std::string& name, std::int64_t min,
                           std::int64_t max);

/// 1/true/on/yes is true, 0/false/off/no or empty is false (any case); else an error naming `name`.
bool parse_bool(const std::string& text, const std::string& name);

/// Throws (naming parameter 'category') unless `category` is one of `categories`, sorted ascending as
/// Recommender::categories() gives them.
void require_known_category(std::span<const std::string> categories, const std::string& category);

/// A slot name (catalog::slot_name's spelling) from parameter `name`; the error lists the known slots.
catalog::Slot parse_slot_param(const std::string& text, const std::string& name);

/// The `colour` parameter: a colour family in any case, or a colour name (`navy`), as the canonical
/// family (engine::parse_colour_query); the error names the parameter and lists the families.
std::string parse_colour_param(const std::string& text);

/// GET /api/items/{id}/colours's parameters: colour (empty: any colour but the item's own), k from 1 to
/// OtherColoursRequest::kMaxK.
engine::OtherColoursRequest parse_other_colours_request(const httplib::Request& req);

/// The `piece` parameter: a piece's number or a garment class (engine::PieceChoice::parse).
engine::PieceChoice parse_piece_param(const std::string& value);

/// POST /api/recommend's parameters: metric, k, outfits, mode, category (one of `categories`, sorted),
/// colour, same_slot, slot. Absent or empty optional ones keep RecommendRequest's defaults.
engine::RecommendRequest parse_recommend_request(const httplib::Request& req,
                                                 std::span<const std::string> categories);

/// POST /api/complete's parameters: slots (comma-separated), outfits, per_slot, category (one of
/// `categories`, sorted), colour, slot, piece.
engine::CompleteRequest parse_complete_request(const httplib::Request& req,
                                               std::span<const std::string> categories);

/// GET /api/items's parameters.
struct ItemsQuery {
  std::optional<std::string> category;      ///< one of the catalog's categories; nullopt: any
  std::optional<catalog::Slot> slot;        ///< nullopt: any
  std::string text_lower;                   ///< `q`, ASCII-lowercased; empty: no text filter
  std::int64_t page = 1;                    ///< 1-based, at most kMaxPage
  std::int64_t per_page = kDefaultPerPage;  ///< 1 to kMaxPerPage
};
ItemsQuery parse_items_query(const httplib::Request& req, std::span<const std::string> categories);

/// Why a request's body must not be read: the HTTP status and the message for {"error": ...}.
struct BodyRefusal {
  int status = 0;
  std::string message;
};

/// Whether cpp-httplib would read this request's body past the server's body limit; call it before
/// the body is read (the pre-routing handler). cpp-httplib 0.11 holds a body to the limit
/// (set_payload_max_length) only through Content-Length: a chunked body (any Transfer-Encoding) is
/// read whole whatever its size, a body without Content-Length is read until the client closes,
/// and a compressed one (Content-Encoding) is inflated whole (gzip: ~1000 x its size). For the
/// methods whose body httplib reads (POST, PUT, PATCH, DELETE), those are refused: 411 without a
/// Content-Length (except a DELETE, which then has no body: httplib reads none) or with a
/// Transfer-Encoding, 415 for a Content-Encoding other than identity.
/// nullopt when the body is bounded, or when httplib will not read one (GET, HEAD, OPTIONS).
/// After a refusal the connection should close: the unread body would be read as the next request.
std::optional<BodyRefusal> refuse_unbounded_body(const httplib::Request& req);

/// The photo of a recommend or complete request.
struct Upload {
  std::string bytes;  ///< at most the limit read_upload was given
  std::string name;   ///< for messages: the multipart filename or `name` parameter, else "upload"; at most
                      ///< kMaxNameChars bytes
};

/// The photo: multipart field `image` (a multipart form without it is an error), else the raw
/// request body (not a urlencoded form; not empty). Over `max_bytes`: ErrorKind::kTooLarge.
Upload read_upload(const httplib::Request& req, std::size_t max_bytes);

}  // namespace mystyle::server
