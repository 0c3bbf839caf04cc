// The JSON API's request parsing (src/server/request_parsing.h) on hand-filled requests: the
// accepted ranges, the defaults, and errors that name the parameter at fault.
#include "request_parsing.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "mystyle/core/error.h"

namespace mystyle::server {
namespace {

const std::vector<std::string> kCategories = {"Accessories", "Bottoms", "Tops"};

httplib::Request query(const std::string& text) {
  httplib::Request req;
  httplib::detail::parse_query_text(text, req.params);
  return req;
}

httplib::Request multipart(std::vector<httplib::MultipartFormData> fields) {
  httplib::Request req;
  req.set_header("Content-Type", "multipart/form-data; boundary=b");
  for (auto& field : fields) req.files.emplace(field.name, std::move(field));
  return req;
}

/// The message of the mystyle::Error that `parse` throws ("" when it throws none).
template <typename Parse>
std::string error_of(Parse&& parse) {
  try {
    parse();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kInvalidInput) << e.what();
    return e.what();
  }
  return "";
}

#define EXPECT_ERROR_NAMES(parse, name)                                                                     \
  do {                                                                                                      \
    const std::string message = error_of([&] { parse; });                                                   \
    EXPECT_NE(message.find(name), std::string::npos) << "error '" << message << "' does not name " << name; \
  } while (false)

TEST(RequestParsing, ParamComesFromTheQueryOrAPlainFormFieldNotAFile) {
  EXPECT_EQ(param(query("k=5&k=6"), "k"), "5");
  EXPECT_EQ(param(query("x=1"), "k"), std::nullopt);
  EXPECT_EQ(param(query("k="), "k"), "");
  auto form = multipart({{"k", "7", "", ""}, {"image", "\xff\xd8", "photo.jpg", "image/jpeg"}});
  EXPECT_EQ(param(form, "k"), "7");
  EXPECT_EQ(param(form, "image"), std::nullopt);  // a file, not a parameter
  form.params.emplace("k", "3");
  EXPECT_EQ(param(form, "k"), "3");  // the query string wins
}

TEST(RequestParsing, IntegersAreWholeNumbersWithinTheirRange) {
  EXPECT_EQ(parse_integer("1", "k", 1, 200), 1);
  EXPECT_EQ(parse_integer("200", "k", 1, 200), 200);
  EXPECT_EQ(parse_integer("-0", "outfits", 0, 3), 0);
  for (const char* bad :
       {"0", "201", "", " 5", "5 ", "+5", "5.0", "1e2", "0x10", "99999999999999999999", "k"}) {
    const std::string message = error_of([&] { parse_integer(bad, "k", 1, 200); });
    EXPECT_EQ(message, "parameter 'k' must be a whole number from 1 to 200, not '" + std::string(bad) + "'");
  }
}

TEST(RequestParsing, BooleansAcceptTheUsualWordsInAnyCase) {
  for (const char* yes : {"1", "true", "TRUE", "On", "yes"}) EXPECT_TRUE(parse_bool(yes, "same_slot")) << yes;
  for (const char* no : {"0", "false", "Off", "NO", ""}) EXPECT_FALSE(parse_bool(no, "same_slot")) << no;
  EXPECT_EQ(error_of([] { parse_bool("maybe", "same_slot"); }),
            "parameter 'same_slot' must be true or false, not 'maybe'");
}

TEST(RequestParsing, SlotsAndCategoriesMustBeKnown) {
  EXPECT_EQ(parse_slot_param("main_top", "slot"), catalog::Slot::kMainTop);
  EXPECT_ERROR_NAMES(parse_slot_param("sleeves", "slots"), "parameter 'slots'");
  EXPECT_NE(error_of([] { parse_slot_param("sleeves", "slot"); }).find("known: hat, main_top"),
            std::string::npos);
  EXPECT_NO_THROW(require_known_category(kCategories, "Tops"));
  EXPECT_ERROR_NAMES(require_known_category(kCategories, "tops"), "'tops'");
  EXPECT_ERROR_NAMES(require_known_category({}, "Tops"), "'Tops'");
}

TEST(RequestParsing, RecommendDefaultsWhenNothingIsGiven) {
  const engine::RecommendRequest r = parse_recommend_request(httplib::Request(), kCategories);
  const engine::RecommendRequest defaults;
  EXPECT_EQ(r.k, defaults.k);
  EXPECT_EQ(r.max_outfits, defaults.max_outfits);
  EXPECT_EQ(r.metric, defaults.metric);
  EXPECT_EQ(r.mode, defaults.mode);
  EXPECT_FALSE(r.category);
  EXPECT_FALSE(r.slot);
  EXPECT_FALSE(r.same_slot);
}

TEST(RequestParsing, RecommendReadsEveryParameterAtItsBounds) {
  const auto r = parse_recommend_request(
      query("metric=pearson&k=200&outfits=0&mode=seed&category=Bottoms&same_slot=yes&slot=shoes"),
      kCategories);
  EXPECT_EQ(r.metric, index::Metric::kPearson);
  EXPECT_EQ(r.k, kMaxK);
  EXPECT_EQ(r.max_outfits, 0U);
  EXPECT_EQ(r.mode, recommend::CoordinationMode::kSeed);
  EXPECT_EQ(r.category, "Bottoms");
  EXPECT_TRUE(r.same_slot);
  EXPECT_EQ(r.slot, catalog::Slot::kShoes);
  EXPECT_EQ(parse_recommend_request(query("k=1&outfits=100"), kCategories).max_outfits, kMaxOutfits);
  // Empty category and slot mean "any", as the web app's empty selects send them.
  const auto any = parse_recommend_request(query("category=&slot="), kCategories);
  EXPECT_FALSE(any.category);
  EXPECT_FALSE(any.slot);
  // Multipart form fields count as parameters.
  EXPECT_EQ(parse_recommend_request(multipart({{"k", "3", "", ""}}), kCategories).k, 3U);
}

TEST(RequestParsing, RecommendErrorsNameTheParameter) {
  for (const auto& [text, name] : std::vector<std::pair<std::string, std::string>>{
           {"k=0", "'k'"},
           {"k=201", "'k'"},
           {"outfits=101", "'outfits'"},
           {"outfits=-1", "'outfits'"},
           {"mode=random", "'mode'"},
           {"same_slot=2", "'same_slot'"},
           {"metric=manhattan", "'metric'"},
           {"category=Hats", "'category'"},
           {"slot=sleeves", "'slot'"},
       }) {
    EXPECT_ERROR_NAMES(parse_recommend_request(query(text), kCategories), name);
  }
}

TEST(RequestParsing, CompleteReadsItsParametersAndNamesTheOneAtFault) {
  const auto r = parse_complete_request(
      query("slots=shoes,,bag&outfits=20&per_slot=50&category=Tops&slot=bottom"), kCategories);
  EXPECT_EQ(r.slots, (std::vector{catalog::Slot::kShoes, catalog::Slot::kBag}));
  EXPECT_EQ(r.outfits, std::size_t{kMaxCompleteOutfits});
  EXPECT_EQ(r.per_slot, std::size_t{kMaxPerSlot});
  EXPECT_EQ(r.category, "Tops");
  EXPECT_EQ(r.slot, catalog::Slot::kBottom);
  EXPECT_TRUE(parse_complete_request(query("slots="), kCategories).slots.empty());
  for (const auto& [text, name] : std::vector<std::pair<std::string, std::string>>{
           {"slots=shoes,sleeves", "'slots'"},
           {"outfits=21", "'outfits'"},
           {"per_slot=0", "'per_slot'"},
           {"per_slot=51", "'per_slot'"},
           {"category=Hats", "'category'"},
           {"slot=sleeves", "'slot'"},
       }) {
    EXPECT_ERROR_NAMES(parse_complete_request(query(text), kCategories), name);
  }
}

TEST(RequestParsing, ItemsQueryPagesAndFilters) {
  const ItemsQuery defaults = parse_items_query(httplib::Request(), kCategories);
  EXPECT_EQ(defaults.page, 1);
  EXPECT_EQ(defaults.per_page, kDefaultPerPage);
  EXPECT_FALSE(defaults.category);
  EXPECT_TRUE(defaults.text_lower.empty());
  const ItemsQuery q = parse_items_query(
      query("category=Tops&slot=bag&q=Blue%20JEANS&page=1000000&per_page=100"), kCategories);
  EXPECT_EQ(q.category, "Tops");
  EXPECT_EQ(q.slot, catalog::Slot::kBag);
  EXPECT_EQ(q.text_lower, "blue jeans");
  EXPECT_EQ(q.page, kMaxPage);
  EXPECT_EQ(q.per_page, kMaxPerPage);
  for (const auto& [text, name] : std::vector<std::pair<std::string, std::string>>{
           {"page=0", "'page'"},
           {"page=1000001", "'page'"},
           {"per_page=101", "'per_page'"},
           {"category=Hats", "'category'"},
           {"slot=sleeves", "'slot'"},
       }) {
    EXPECT_ERROR_NAMES(parse_items_query(query(text), kCategories), name);
  }
}

TEST(RequestParsing, UploadFromTheImageFieldOrTheRawBody) {
  const Upload field = read_upload(multipart({{"image", "JPEG", "photo.jpg", "image/jpeg"}}), 4);
  EXPECT_EQ(field.bytes, "JPEG");
  EXPECT_EQ(field.name, "photo.jpg");
  EXPECT_EQ(read_upload(multipart({{"image", "JPEG", "", ""}}), 4).name, "upload");

  httplib::Request raw = query("name=" + std::string(300, 'n'));
  raw.body = "JPEG";
  const Upload body = read_upload(raw, 4);
  EXPECT_EQ(body.bytes, "JPEG");
  EXPECT_EQ(body.name, std::string(kMaxNameChars, 'n'));  // cut to its limit
  raw.params.clear();
  EXPECT_EQ(read_upload(raw, 4).name, "upload");
}

TEST(RequestParsing, UploadErrorsSayWhatToSend) {
  EXPECT_ERROR_NAMES(read_upload(multipart({{"photo", "JPEG", "a.jpg", ""}}), 4), "'image'");
  EXPECT_ERROR_NAMES(read_upload(httplib::Request(), 4), "empty request");
  httplib::Request form;
  form.set_header("Content-Type", "application/x-www-form-urlencoded");
  form.body = "image=abc";
  EXPECT_ERROR_NAMES(read_upload(form, 100), "multipart/form-data");
  // One byte over the limit: kTooLarge (413), naming the upload and the limit.
  httplib::Request big;
  big.body = "12345";
  try {
    read_upload(big, 4);
    FAIL() << "an upload over the limit was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kTooLarge);
    EXPECT_STREQ(e.what(), "upload: 5 bytes is over the 4 byte upload limit");
  }
}

httplib::Request with_headers(const std::string& method,
                              std::vector<std::pair<std::string, std::string>> headers) {
  httplib::Request req;
  req.method = method;
  for (auto& [name, value] : headers) req.headers.emplace(std::move(name), std::move(value));
  return req;
}

TEST(RequestParsing, BodiesWithoutALengthOrCompressedAreRefusedBeforeReading) {
  EXPECT_FALSE(refuse_unbounded_body(with_headers("POST", {{"Content-Length", "1000"}})));
  EXPECT_FALSE(refuse_unbounded_body(with_headers("POST", {{"Content-Length", "0"}})));
  EXPECT_FALSE(refuse_unbounded_body(
      with_headers("POST", {{"Content-Length", "9"}, {"Content-Encoding", "Identity"}})));
  EXPECT_FALSE(refuse_unbounded_body(with_headers("GET", {})));  // httplib reads no GET body
  EXPECT_FALSE(refuse_unbounded_body(with_headers("GET", {{"Transfer-Encoding", "chunked"}})));

  const auto chunked = refuse_unbounded_body(with_headers("POST", {{"transfer-encoding", "chunked"}}));
  ASSERT_TRUE(chunked);
  EXPECT_EQ(chunked->status, 411);
  EXPECT_NE(chunked->message.find("Content-Length"), std::string::npos);
  // Also beside a Content-Length (httplib reads a chunked body then, and only then).
  EXPECT_EQ(
      refuse_unbounded_body(with_headers("PUT", {{"Transfer-Encoding", "CHUNKED"}, {"Content-Length", "1"}}))
          ->status,
      411);
  EXPECT_EQ(refuse_unbounded_body(with_headers("POST", {}))->status, 411);
  // A bodiless DELETE (curl -X DELETE) has no Content-Length and no body to read: not refused; a
  // chunked one is.
  EXPECT_FALSE(refuse_unbounded_body(with_headers("DELETE", {})));
  EXPECT_EQ(refuse_unbounded_body(with_headers("DELETE", {{"Transfer-Encoding", "chunked"}}))->status, 411);
  const auto gzip =
      refuse_unbounded_body(with_headers("POST", {{"Content-Length", "216"}, {"Content-Encoding", "gzip"}}));
  ASSERT_TRUE(gzip);
  EXPECT_EQ(gzip->status, 415);
  EXPECT_NE(gzip->message.find("gzip"), std::string::npos);
  EXPECT_EQ(
      refuse_unbounded_body(with_headers("PATCH", {{"Content-Length", "9"}, {"Content-Encoding", "br"}}))
          ->status,
      415);
}

}  // namespace
}  // namespace mystyle::server
