// The server's parts on their own: the status mapping, the thumbnail cache, routes and metrics.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "mystyle/server/http_error.h"
#include "mystyle/server/metrics.h"
#include "mystyle/server/thumbnail_cache.h"
#include "mystyle/server/web_assets.h"

namespace mystyle::server {
namespace {

ErrorReply reply_for(auto thrown) {
  return error_reply(std::make_exception_ptr(thrown));
}

TEST(HttpError, MapsEveryErrorKindAndAnyExceptionToAStatus) {
  EXPECT_EQ(http_status(ErrorKind::kInvalidInput), 400);
  EXPECT_EQ(http_status(ErrorKind::kNotFound), 404);
  EXPECT_EQ(http_status(ErrorKind::kTooLarge), 413);
  EXPECT_EQ(http_status(ErrorKind::kUnsupported), 415);
  EXPECT_EQ(http_status(ErrorKind::kIo), 500);
  EXPECT_EQ(http_status(ErrorKind::kCorrupt), 500);
  EXPECT_EQ(reply_for(Error("x.jpg: truncated", ErrorKind::kUnsupported)).status, 415);
  EXPECT_EQ(reply_for(Error("x.jpg: truncated", ErrorKind::kUnsupported)).message, "x.jpg: truncated");
  EXPECT_EQ(reply_for(HttpError(422, "bad pixels")).status, 422);
  EXPECT_EQ(reply_for(std::runtime_error("boom")).status, 500);
  EXPECT_EQ(reply_for(42).status, 500);
}

TEST(HttpError, BodyIsJsonEvenForInvalidUtf8) {
  const auto body = nlohmann::json::parse(error_json("bad name \xff\xfe.jpg"));
  EXPECT_TRUE(body["error"].get<std::string>().starts_with("bad name "));
}

TEST(ThumbnailCache, KeepsTheMostRecentlyUsedWithinItsBudget) {
  ThumbnailCache cache(/*max_bytes=*/250);
  int made = 0;
  auto make = [&made](char c) {
    return [&made, c] {
      ++made;
      return std::string(100, c);
    };
  };
  EXPECT_EQ(*cache.get_or_make("a", make('a')), std::string(100, 'a'));
  cache.get_or_make("b", make('b'));
  cache.get_or_make("a", make('a'));  // hit: a becomes the most recent
  cache.get_or_make("c", make('c'));  // evicts b, the least recent
  EXPECT_EQ(made, 3);
  EXPECT_LE(cache.bytes(), 250u);
  EXPECT_EQ(cache.entries(), 2u);
  cache.get_or_make("a", make('a'));
  EXPECT_EQ(made, 3);
  cache.get_or_make("b", make('b'));
  EXPECT_EQ(made, 4);
  EXPECT_EQ(cache.hits(), 2u);
  // Larger than the whole budget: returned, never cached.
  EXPECT_EQ(cache.get_or_make("huge", make('h'))->size(), 100u);
  ThumbnailCache tiny(10);
  tiny.get_or_make("x", make('x'));
  EXPECT_EQ(tiny.entries(), 0u);
  EXPECT_THROW(
      cache.get_or_make("bad", []() -> std::string { throw Error("no photo", ErrorKind::kNotFound); }),
      Error);
}

TEST(Metrics, LabelsRoutesWithoutIds) {
  EXPECT_EQ(route_label("/api/items/123"), "/api/items/{id}");
  EXPECT_EQ(route_label("/api/items/123/colours"), "/api/items/{id}/colours");
  EXPECT_EQ(route_label("/api/items"), "/api/items");
  EXPECT_EQ(route_label("/api/complete"), "/api/complete");
  EXPECT_EQ(route_label("/images/items/7"), "/images/items/{id}");
  EXPECT_EQ(route_label("/images/model/loss_curve.png"), "/images/model/{name}");
  EXPECT_EQ(route_label("/app.js"), "/{asset}");
  EXPECT_EQ(route_label("/api/items/abc"), "other");
  EXPECT_EQ(route_label("/../../etc/passwd"), "other");
}

// Every route of the one table is labelled from it: the admin route POST /api/outfits was "other"
// while the labels were a second, hand-written list.
TEST(Metrics, EveryRouteOfTheTableHasItsLabel) {
  EXPECT_EQ(route_label("/api/outfits"), "/api/outfits");
  EXPECT_EQ(route_label("/healthz"), "/healthz");
  EXPECT_EQ(route_label("/metrics"), "/metrics");
  EXPECT_EQ(route_label("/api/recommend"), "/api/recommend");
}

TEST(Metrics, WritesCountersAndACumulativeHistogram) {
  Metrics m;
  m.record("/api/recommend", "POST", 200, 0.004);
  m.record("/api/recommend", "POST", 200, 0.3);
  m.record("/api/recommend", "POST", 415, 0.0005);
  const std::string text = m.prometheus_text();
  EXPECT_NE(
      text.find("mystyle_http_requests_total{route=\"/api/recommend\",method=\"POST\",status=\"200\"} 2\n"),
      std::string::npos);
  EXPECT_NE(
      text.find("mystyle_http_request_duration_seconds_bucket{route=\"/api/recommend\",le=\"0.001\"} 1\n"),
      std::string::npos);
  EXPECT_NE(
      text.find("mystyle_http_request_duration_seconds_bucket{route=\"/api/recommend\",le=\"0.005\"} 2\n"),
      std::string::npos);
  EXPECT_NE(
      text.find("mystyle_http_request_duration_seconds_bucket{route=\"/api/recommend\",le=\"+Inf\"} 3\n"),
      std::string::npos);
  EXPECT_NE(text.find("mystyle_http_errors_total{route=\"/api/recommend\",status=\"415\"} 1\n"),
            std::string::npos);
}

TEST(WebAssets, EmbedsThePageAndItsAssets) {
  const WebAsset* page = find_web_asset("index.html");
  ASSERT_NE(page, nullptr);
  EXPECT_EQ(page->content_type, "text/html; charset=utf-8");
  EXPECT_NE(page->bytes.find("app.js"), std::string_view::npos);
  EXPECT_NE(find_web_asset("app.js"), nullptr);
  EXPECT_NE(find_web_asset("style.css"), nullptr);
  EXPECT_EQ(find_web_asset("../index.html"), nullptr);
}

}  // namespace
}  // namespace mystyle::server
