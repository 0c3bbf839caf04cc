// The real server on an ephemeral loopback port, driven over HTTP by httplib::Client: every
// endpoint, and every way a request can be wrong.
#include "mystyle/server/server.h"

#include <gtest/gtest.h>
#include <httplib.h>

#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <set>
#include <thread>

#include "mystyle/core/file_io.h"
#include "mystyle/engine/recommender.h"
#include "server_fixture.h"

namespace mystyle::server {
namespace {

using nlohmann::json;

constexpr std::size_t kMaxUploadBytes = 256 * 1024;

std::string url_encode(const std::string& text) {
  std::string out;
  for (unsigned char c : text) out += std::isalnum(c) ? std::string(1, char(c)) : fmt::format("%{:02X}", c);
  return out;
}

class ServerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    recommender_ = testing::open_shared_workspace(workspace_, /*outfit_count=*/40);
    if (!recommender_) return;
    ServerOptions options;
    options.port = 0;
    options.threads = 8;
    options.max_photo_queries = 8;  // AnswersConcurrentRecommendations sends 8 at once (the limit: hardening_test)
    options.max_upload_bytes = kMaxUploadBytes;
    server_ = new Server(recommender_, engine::Workspace(workspace_), options);
    port_ = server_->bind();
    thread_ = new std::thread([] { server_->listen(); });
    for (int i = 0; i < 500 && !server_->is_running(); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }

  static void TearDownTestSuite() {
    if (server_ != nullptr) {
      server_->stop();
      thread_->join();
    }
    delete thread_;
    delete server_;
    recommender_.reset();
  }

  void SetUp() override {
    if (server_ == nullptr) GTEST_SKIP() << "MANGO data set not found under MYSTYLE_DATASETS";
  }

  static httplib::Client client() {
    httplib::Client c("127.0.0.1", port_);
    c.set_read_timeout(30, 0);
    return c;
  }

  static std::string photo(const std::string& file = "2019_41085800_02.jpg") {
    return read_file_bytes(testing::dataset_path("mango/images") / file);
  }

  static httplib::Result post_photo(const std::string& bytes, const std::string& query = "",
                                    const std::string& filename = "garment.jpg",
                                    const std::string& type = "image/jpeg") {
    httplib::MultipartFormDataItems form = {{"image", bytes, filename, type}};
    return client().Post(("/api/recommend" + query).c_str(), form);
  }

  /// Status and parsed JSON body; fails the test when the body is not JSON.
  static std::pair<int, json> get_json(const std::string& path) {
    auto res = client().Get(path.c_str());
    EXPECT_TRUE(res) << path;
    if (!res) return {0, {}};
    EXPECT_EQ(res->get_header_value("Content-Type"), "application/json") << path;
    return {res->status, json::parse(res->body)};
  }

  static void expect_error(const httplib::Result& res, int status, const std::string& words) {
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, status) << res->body;
    const json body = json::parse(res->body, nullptr, false);
    ASSERT_TRUE(body.is_object()) << res->body;
    ASSERT_TRUE(body.contains("error")) << res->body;
    EXPECT_NE(body["error"].get<std::string>().find(words), std::string::npos) << body["error"];
  }

  static inline const std::filesystem::path workspace_ = MYSTYLE_SERVER_TEST_WORKSPACE;
  static std::shared_ptr<engine::Recommender> recommender_;
  static Server* server_;
  static std::thread* thread_;
  static int port_;
};

std::shared_ptr<engine::Recommender> ServerTest::recommender_;
Server* ServerTest::server_ = nullptr;
std::thread* ServerTest::thread_ = nullptr;
int ServerTest::port_ = 0;

TEST_F(ServerTest, HealthzReportsTheLoadedCatalog) {
  const auto [status, body] = get_json("/healthz");
  EXPECT_EQ(status, 200);
  EXPECT_EQ(body["status"], "ok");
  EXPECT_EQ(body["items"].get<std::size_t>(), recommender_->graph().items().size());
  EXPECT_EQ(body["outfits"].get<std::size_t>(), recommender_->graph().outfits().size());
}

TEST_F(ServerTest, ServesTheEmbeddedPageAndAssetsWithEtags) {
  auto page = client().Get("/");
  ASSERT_TRUE(page);
  EXPECT_EQ(page->status, 200);
  EXPECT_EQ(page->get_header_value("Content-Type"), "text/html; charset=utf-8");
  EXPECT_NE(page->body.find("<!doctype html>"), std::string::npos);
  for (const char* asset : {"/app.js", "/style.css", "/favicon.svg"}) {
    auto res = client().Get(asset);
    ASSERT_TRUE(res) << asset;
    EXPECT_EQ(res->status, 200) << asset;
    EXPECT_FALSE(res->body.empty()) << asset;
  }
  const std::string etag = page->get_header_value("ETag");
  ASSERT_FALSE(etag.empty());
  auto again = client().Get("/", {{"If-None-Match", etag}});
  ASSERT_TRUE(again);
  EXPECT_EQ(again->status, 304);
}

// The API returns exactly the document of `mystyle recommend --json` (timings aside), plus the
// image the model saw.
TEST_F(ServerTest, RecommendReturnsTheEngineDocumentAndWhatTheModelSaw) {
  auto res = post_photo(photo(), "?k=5&outfits=4");
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;
  json doc = json::parse(res->body);
  ASSERT_EQ(doc["similar"].size(), 5u);
  EXPECT_FALSE(doc["outfits"].empty());
  EXPECT_LE(doc["outfits"].size(), 4u);
  EXPECT_TRUE(doc["query"]["seen_image"].get<std::string>().starts_with("data:image/png;base64,"));
  EXPECT_EQ(doc["query"]["name"], "garment.jpg");

  engine::RecommendRequest request;
  request.k = 5;
  request.max_outfits = 4;
  const std::string bytes = photo();
  const auto result = recommender_->recommend(
      {reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()}, "garment.jpg", request);
  // The top-level fields are today's one-garment answer ...
  json expected = recommender_->to_json(result, request, true);
  json top = doc;
  for (const char* key : {"worn", "photo", "note", "piece", "parse", "pieces", "unsure_pieces"}) top.erase(key);
  for (json* d : {&top, &expected}) d->erase("timings_ms");
  EXPECT_EQ(top, expected);
  // ... and the photo is its one piece (this workspace has no parse model).
  EXPECT_FALSE(doc["worn"].get<bool>());
  EXPECT_EQ(doc["piece"], 0);
  ASSERT_EQ(doc["pieces"].size(), 1u);
  EXPECT_EQ(doc["pieces"][0]["similar"], doc["similar"]);
  EXPECT_EQ(doc["pieces"][0]["slot"], doc["query"]["slot"]);
  EXPECT_FALSE(doc["parse"]["parser"].get<bool>());
  EXPECT_NE(doc["note"].get<std::string>().find("mystyle train --model parse"), std::string::npos);
}

// A garment photographed on a wooden floor: the answer says its background was painted out (the
// catalog photo above: not), and what the model saw is the garment on plain grey.
TEST_F(ServerTest, RecommendSaysWhenABusyBackgroundWasPaintedOut) {
  cv::Mat floor(400, 300, CV_8UC3);
  for (int y = 0; y < floor.rows; ++y) {
    for (int x = 0; x < floor.cols; ++x) {
      const int grain = ((x * 7 + y * 3) % 11) * 3;
      floor.at<cv::Vec3b>(y, x) = ((y / 7) % 2) ? cv::Vec3b(40, 70 + grain / 2, 110 + grain)
                                                : cv::Vec3b(70, 120 + grain / 2, 170 + grain);  // BGR
    }
  }
  cv::ellipse(floor, {150, 200}, {60, 100}, 0, 0, 360, cv::Scalar(160, 60, 40), cv::FILLED);
  std::vector<std::uint8_t> jpeg;
  ASSERT_TRUE(cv::imencode(".jpg", floor, jpeg));
  auto res = post_photo(std::string(jpeg.begin(), jpeg.end()), "?k=3&outfits=0");
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;
  EXPECT_EQ(json::parse(res->body)["query"]["background_painted"], true);
  auto studio = post_photo(photo(), "?k=3&outfits=0");
  ASSERT_TRUE(studio);
  ASSERT_EQ(studio->status, 200) << studio->body;
  EXPECT_EQ(json::parse(studio->body)["query"]["background_painted"], false);
}

TEST_F(ServerTest, RecommendAcceptsARawBodyAndQueryParameters) {
  auto res = client().Post("/api/recommend?metric=euclidean&k=3&mode=seed&outfits=0", photo(), "image/jpeg");
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;
  const json doc = json::parse(res->body);
  EXPECT_EQ(doc["similar"].size(), 3u);
  EXPECT_EQ(doc["query"]["metric"], "euclidean");
  EXPECT_EQ(doc["query"]["mode"], "seed");
  EXPECT_EQ(doc["query"]["name"], "upload");
}

TEST_F(ServerTest, RecommendReadsParametersFromFormFields) {
  const std::string category = recommender_->categories().front();
  httplib::MultipartFormDataItems form = {{"image", photo(), "a.jpg", "image/jpeg"},
                                          {"k", "4", "", ""},
                                          {"metric", "pearson", "", ""},
                                          {"category", category, "", ""},
                                          {"same_slot", "true", "", ""}};
  auto res = client().Post("/api/recommend", form);
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;
  const json doc = json::parse(res->body);
  EXPECT_EQ(doc["query"]["metric"], "pearson");
  EXPECT_EQ(doc["query"]["category"], category);
  EXPECT_EQ(doc["query"]["same_slot"], true);
  EXPECT_LE(doc["similar"].size(), 4u);
  for (const auto& s : doc["similar"]) EXPECT_EQ(s["category"], category);
}

TEST_F(ServerTest, RecommendRefusesBadFilesWithTheRightStatus) {
  // Over the configured limit (but under httplib's own payload limit): refused before decoding.
  std::string big = photo();
  big.resize(kMaxUploadBytes + 1000, '\0');
  expect_error(post_photo(big), 413, "limit");
  // Far over: httplib refuses the body itself; still a JSON error.
  expect_error(client().Post("/api/recommend", std::string(kMaxUploadBytes + (2 << 20), 'x'), "image/jpeg"),
               413, "limit");
  expect_error(post_photo("just some text, not a photo\n", "", "notes.txt", "text/plain"), 415, "notes.txt");
  const std::string jpeg = photo();
  expect_error(post_photo(jpeg.substr(0, jpeg.size() / 3), "", "cut.jpg"), 422, "cut.jpg");
  expect_error(post_photo(""), 422, "");
  expect_error(client().Post("/api/recommend", "", "image/jpeg"), 400, "empty");
  httplib::MultipartFormDataItems no_image = {{"photo", jpeg, "a.jpg", "image/jpeg"}};
  expect_error(client().Post("/api/recommend", no_image), 400, "'image'");
  expect_error(client().Post("/api/recommend", "k=3", "application/x-www-form-urlencoded"), 400, "multipart");
}

TEST_F(ServerTest, RecommendRefusesBadParametersWith400) {
  const std::string jpeg = photo();
  for (const char* query : {"?k=0", "?k=abc", "?k=5000", "?k=-1", "?k=3x", "?outfits=-2", "?metric=manhattan",
                            "?mode=random", "?same_slot=perhaps", "?category=NoSuchCategory", "?slot=cape"}) {
    SCOPED_TRACE(query);
    auto res = post_photo(jpeg, query);
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 400) << res->body;
    EXPECT_TRUE(json::parse(res->body).contains("error"));
  }
  expect_error(post_photo(jpeg, "?k=0"), 400, "'k'");
}

// colour= (a family, any case, or a colour name): only items of that family, exactly the unfiltered
// answer (every item: k is above the catalog's size) restricted to it; the family used is echoed; read
// from form fields too; an unknown colour is a 400 naming the parameter and listing the families.
TEST_F(ServerTest, RecommendByColourIsTheFullRankingRestrictedToTheFamily) {
  const std::size_t items = recommender_->indexed_items();
  ASSERT_LE(items, engine::RecommendRequest::kMaxK) << "the reference asks for every item";
  auto all = post_photo(photo(), fmt::format("?k={}&outfits=0", engine::RecommendRequest::kMaxK));
  ASSERT_TRUE(all);
  ASSERT_EQ(all->status, 200) << all->body;
  const json full = json::parse(all->body)["similar"];
  ASSERT_EQ(full.size(), items);
  EXPECT_TRUE(json::parse(all->body)["query"]["colour"].is_null());
  for (const auto& [asked, family] : std::vector<std::pair<std::string, std::string>>{
           {"Navy", "blue"}, {"BLACK", "black"}, {"white", "white"}, {"gray", "grey"}}) {
    SCOPED_TRACE(asked);
    auto res = post_photo(photo(), "?k=6&outfits=2&colour=" + asked);
    ASSERT_TRUE(res);
    ASSERT_EQ(res->status, 200) << res->body;
    const json doc = json::parse(res->body);
    EXPECT_EQ(doc["query"]["colour"], family);
    std::vector<std::int64_t> expected;
    for (const auto& s : full) {
      if (s["colour_family"] == family && expected.size() < 6) expected.push_back(s["item_id"]);
    }
    std::vector<std::int64_t> got;
    for (const auto& s : doc["similar"]) {
      EXPECT_EQ(s["colour_family"], family);
      got.push_back(s["item_id"]);
    }
    EXPECT_EQ(got, expected);
  }
  httplib::MultipartFormDataItems form = {{"image", photo(), "a.jpg", "image/jpeg"},
                                          {"colour", "Navy", "", ""}};
  auto by_form = client().Post("/api/recommend", form);
  ASSERT_TRUE(by_form);
  ASSERT_EQ(by_form->status, 200) << by_form->body;
  EXPECT_EQ(json::parse(by_form->body)["query"]["colour"], "blue");
  for (const char* bad : {"?colour=chartreuse", "?colour=moonbeam"}) {
    SCOPED_TRACE(bad);
    expect_error(post_photo(photo(), bad), 400, "parameter 'colour'");
    expect_error(post_photo(photo(), bad), 400, "black, white, grey, beige");
  }
}

/// The design of a MANGO product code, split here: "53000586-TO" -> "53000586".
std::string design_of_code(const std::string& source_id) {
  return source_id.substr(0, source_id.find('-'));
}

// GET /api/items/{id}/colours: the item, exactly its design's other items, then the nearest items of its
// type in the family asked (other designs); 404 for an unknown item, 400 naming a bad parameter.
TEST_F(ServerTest, ItemInOtherColours) {
  const auto& graph = recommender_->graph();
  const catalog::Item* asked = nullptr;
  for (const auto& item : graph.items()) {
    if (asked != nullptr) break;
    for (const auto& other : graph.items()) {
      if (other.id != item.id && item.image_path &&
          design_of_code(other.source_id) == design_of_code(item.source_id)) {
        asked = &item;
        break;
      }
    }
  }
  ASSERT_NE(asked, nullptr) << "the sample should hold a design in two colours";
  std::set<std::int64_t> design;
  for (const auto& item : graph.items()) {
    if (item.id != asked->id && design_of_code(item.source_id) == design_of_code(asked->source_id))
      design.insert(item.id);
  }
  for (const std::string query : {"", "?colour=black&k=3", "?colour=Navy&k=2"}) {
    SCOPED_TRACE(query);
    const auto [status, doc] = get_json(fmt::format("/api/items/{}/colours{}", asked->id, query));
    ASSERT_EQ(status, 200) << doc;
    EXPECT_EQ(doc["item"]["item_id"], asked->id);
    std::set<std::int64_t> got;
    for (const auto& m : doc["same_design"]) {
      got.insert(m["item_id"].get<std::int64_t>());
      EXPECT_TRUE(m.contains("score"));
    }
    EXPECT_EQ(got, design);
    EXPECT_EQ(doc["same_design"].size(), design.size());
    const std::string family = query.empty()                             ? ""
                               : query.find("Navy") != std::string::npos ? "blue"
                                                                         : "black";
    EXPECT_EQ(doc["colour"], family.empty() ? json(nullptr) : json(family));
    EXPECT_LE(doc["nearest"].size(), query.empty() ? 10u : query.find("k=3") != std::string::npos ? 3u : 2u);
    double last = 2;
    for (const auto& m : doc["nearest"]) {
      EXPECT_EQ(m["type"], asked->type);
      EXPECT_FALSE(design.contains(m["item_id"].get<std::int64_t>()));
      EXPECT_NE(m["item_id"], asked->id);
      if (family.empty()) {
        EXPECT_NE(m["colour_family"], asked->colour_family);
      } else {
        EXPECT_EQ(m["colour_family"], family);
      }
      EXPECT_LE(m["score"].get<double>(), last);
      last = m["score"].get<double>();
    }
  }
  expect_error(client().Get("/api/items/987654321/colours"), 404, "987654321");
  expect_error(client().Get(fmt::format("/api/items/{}/colours?colour=chartreuse", asked->id).c_str()), 400,
               "parameter 'colour'");
  expect_error(client().Get(fmt::format("/api/items/{}/colours?k=0", asked->id).c_str()), 400, "'k'");
  expect_error(client().Get(fmt::format("/api/items/{}/colours?k=51", asked->id).c_str()), 400, "'k'");
}

TEST_F(ServerTest, ListsItemsPagedAndFiltered) {
  const std::size_t n = recommender_->graph().items().size();
  auto [status, page1] = get_json("/api/items?page=1&per_page=5");
  EXPECT_EQ(status, 200);
  EXPECT_EQ(page1["total"].get<std::size_t>(), n);
  EXPECT_EQ(page1["items"].size(), 5u);
  EXPECT_EQ(page1["pages"].get<std::size_t>(), (n + 4) / 5);
  auto [status2, page2] = get_json("/api/items?page=2&per_page=5");
  EXPECT_EQ(status2, 200);
  EXPECT_NE(page1["items"][0]["item_id"], page2["items"][0]["item_id"]);

  const std::string category = recommender_->categories().front();
  std::size_t in_category = 0;
  for (const auto& item : recommender_->graph().items()) in_category += item.category == category;
  auto [status3, filtered] = get_json("/api/items?per_page=100&category=" + url_encode(category));
  EXPECT_EQ(status3, 200);
  EXPECT_EQ(filtered["total"].get<std::size_t>(), in_category);
  for (const auto& item : filtered["items"]) EXPECT_EQ(item["category"], category);

  auto [status4, shoes] = get_json("/api/items?slot=shoes");
  EXPECT_EQ(status4, 200);
  for (const auto& item : shoes["items"]) EXPECT_EQ(item["slot"], "shoes");

  EXPECT_EQ(get_json("/api/items?page=0").first, 400);
  EXPECT_EQ(get_json("/api/items?per_page=1000").first, 400);
  EXPECT_EQ(get_json("/api/items?slot=cape").first, 400);
  EXPECT_EQ(get_json("/api/items?category=Nope").first, 400);
  auto [status5, beyond] = get_json("/api/items?page=999");
  EXPECT_EQ(status5, 200);
  EXPECT_TRUE(beyond["items"].empty());
}

TEST_F(ServerTest, GetsOneItemAndOneOutfit) {
  const catalog::Outfit& outfit = recommender_->graph().outfits().front();
  const std::int64_t item_id = outfit.members.front().item_id;
  auto [status, item] = get_json(fmt::format("/api/items/{}", item_id));
  EXPECT_EQ(status, 200);
  EXPECT_EQ(item["item_id"], item_id);
  EXPECT_EQ(item["image_url"], fmt::format("/images/items/{}", item_id));
  EXPECT_FALSE(item["outfit_ids"].empty());
  // The colour as a shopper sees it beside MANGO's group, which stays as `colour`.
  const catalog::Item* known = recommender_->graph().item(item_id);
  ASSERT_NE(known, nullptr);
  EXPECT_EQ(item["colour"], known->colour);
  EXPECT_EQ(item["colour_name"], known->colour_name);
  EXPECT_EQ(item["colour_family"], known->colour_family);
  EXPECT_FALSE(item["colour_family"].get<std::string>().empty());

  auto [status2, o] = get_json(fmt::format("/api/outfits/{}", outfit.id));
  EXPECT_EQ(status2, 200);
  EXPECT_EQ(o["outfit_id"], outfit.id);
  EXPECT_EQ(o["pieces"].size(), outfit.members.size());
  EXPECT_EQ(o["pieces"][0]["item_id"], item_id);

  EXPECT_EQ(get_json("/api/items/999999999").first, 404);
  EXPECT_EQ(get_json("/api/outfits/999999999").first, 404);
  EXPECT_EQ(get_json("/api/items/99999999999999999999999").first, 404);
  EXPECT_EQ(get_json("/api/items/abc").first, 404);
}

TEST_F(ServerTest, ServesItemThumbnailsAndOutfitPhotos) {
  const catalog::Item& item = recommender_->graph().items().front();
  auto res = client().Get(fmt::format("/images/items/{}", item.id).c_str());
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;
  EXPECT_EQ(res->get_header_value("Content-Type"), "image/jpeg");
  const cv::Mat thumb =
      cv::imdecode(std::vector<std::uint8_t>(res->body.begin(), res->body.end()), cv::IMREAD_COLOR);
  ASSERT_FALSE(thumb.empty());
  EXPECT_LE(std::max(thumb.cols, thumb.rows), ServerOptions{}.thumbnail_side_px);
  auto cached = client().Get(fmt::format("/images/items/{}", item.id).c_str());
  ASSERT_TRUE(cached);
  EXPECT_EQ(cached->body, res->body);

  const catalog::Outfit* with_photo = nullptr;
  const catalog::Outfit* without_photo = nullptr;
  for (const auto& o : recommender_->graph().outfits()) (o.photo_path ? with_photo : without_photo) = &o;
  ASSERT_NE(with_photo, nullptr);
  ASSERT_NE(without_photo, nullptr);
  auto photo_res = client().Get(fmt::format("/images/outfits/{}", with_photo->id).c_str());
  ASSERT_TRUE(photo_res);
  EXPECT_EQ(photo_res->status, 200);
  EXPECT_EQ(photo_res->get_header_value("Content-Type"), "image/jpeg");
  EXPECT_EQ(get_json(fmt::format("/images/outfits/{}", without_photo->id)).first, 404);
  EXPECT_EQ(get_json("/images/items/999999999").first, 404);
}

// Nothing but catalog ids reaches the file system: every traversal attempt is a JSON 404.
TEST_F(ServerTest, PathTraversalFindsNothing) {
  for (const char* path :
       {"/images/items/../../../../etc/passwd", "/images/items/..%2f..%2f..%2fetc%2fpasswd",
        "/images/items/1/../../catalog.db", "/images/items/%2e%2e/catalog.db", "/../../etc/passwd",
        "/%2e%2e/%2e%2e/etc/passwd", "/images/model/../../catalog.db", "/images/model/..%2fcatalog.db",
        "/images/outfits/../catalog.db", "/catalog.db", "/..", "/.%2e/app.js", "/web/app.js",
        "/images/items/1.jpg", "/images/model/train.json", "/api/items/1/../../../etc/passwd"}) {
    SCOPED_TRACE(path);
    auto res = client().Get(path);
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 404) << res->body;
    EXPECT_TRUE(json::parse(res->body, nullptr, false).contains("error")) << res->body;
    EXPECT_EQ(res->body.find("root:"), std::string::npos);
  }
}

TEST_F(ServerTest, DescribesCategoriesAndTheModel) {
  auto [status, cats] = get_json("/api/categories");
  EXPECT_EQ(status, 200);
  std::size_t total = 0;
  for (const auto& c : cats["categories"]) total += c["items"].get<std::size_t>();
  EXPECT_EQ(total, recommender_->graph().items().size());
  EXPECT_EQ(cats["categories"].size(), recommender_->categories().size());
  EXPECT_EQ(cats["slots"].size(), catalog::kAllSlots.size());

  auto [status2, model] = get_json("/api/model");
  EXPECT_EQ(status2, 200);
  EXPECT_EQ(model["model"], engine::kDefaultModel);
  ASSERT_TRUE(model["train"].is_object());
  EXPECT_EQ(model["train"], json::parse(read_file_bytes(engine::Workspace(workspace_).report_dir(engine::kDefaultModel) /
                                                        "train.json")));
  // The default model is trained on labels: its report has an accuracy curve and no reconstructions.
  EXPECT_TRUE(model["images"]["reconstructions"].is_null());
  // No `mystyle eval` has run on the test workspace: every evaluation is reported as absent.
  ASSERT_TRUE(model["evaluation"].is_object());
  for (const char* kind : {"retrieval", "outfits", "robustness", "transfer", "probe"}) {
    EXPECT_TRUE(model["evaluation"][kind].is_null()) << kind;
  }
  for (const char* key : {"loss_curve", "accuracy_curve", "latent_space"}) {
    SCOPED_TRACE(key);
    ASSERT_TRUE(model["images"][key].is_string());
    auto res = client().Get(model["images"][key].get<std::string>().c_str());
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 200);
    EXPECT_EQ(res->get_header_value("Content-Type"), "image/png");
    EXPECT_TRUE(res->body.starts_with("\x89PNG"));
  }
  EXPECT_EQ(get_json("/images/model/history.png").first, 404);
}

// A saved `mystyle eval` report is served as it was written; one that is not JSON reads as absent.
TEST_F(ServerTest, ServesSavedEvaluationReports) {
  const auto path = workspace_ / "reports" / "eval" / "probe.json";
  struct Remove {
    std::filesystem::path p;
    ~Remove() { std::filesystem::remove(p); }
  } cleanup{path};
  const json report = {{"held_out_items", 12}, {"rows", json::array({{{"method", "m"}}})}};
  write_file_atomic(path, report.dump());
  EXPECT_EQ(get_json("/api/model").second["evaluation"]["probe"], report);
  write_file_atomic(path, "{\"rows\": [");
  EXPECT_TRUE(get_json("/api/model").second["evaluation"]["probe"].is_null());
}

TEST_F(ServerTest, ExportsPrometheusMetrics) {
  post_photo(photo());
  client().Get("/api/items/999999999");
  auto res = client().Get("/metrics");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_TRUE(res->get_header_value("Content-Type").starts_with("text/plain; version=0.0.4"));
  const std::string& text = res->body;
  EXPECT_NE(text.find("# TYPE mystyle_http_requests_total counter"), std::string::npos);
  EXPECT_NE(text.find("mystyle_http_requests_total{route=\"/api/recommend\",method=\"POST\",status=\"200\"}"),
            std::string::npos);
  EXPECT_NE(text.find("mystyle_http_request_duration_seconds_bucket{route=\"/api/recommend\",le=\"+Inf\"}"),
            std::string::npos);
  EXPECT_NE(text.find("mystyle_http_errors_total{route=\"/api/items/{id}\",status=\"404\"}"),
            std::string::npos);
  EXPECT_NE(text.find("mystyle_thumbnail_cache_bytes"), std::string::npos);
}

TEST_F(ServerTest, UnknownRoutesAndMethodsGetJsonErrors) {
  auto res = client().Get("/api/nothing-here");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 404);
  EXPECT_TRUE(json::parse(res->body)["error"].get<std::string>().find("/api/nothing-here") !=
              std::string::npos);
  auto post = client().Post("/api/categories", "{}", "application/json");
  ASSERT_TRUE(post);
  EXPECT_EQ(post->status, 404);
  EXPECT_TRUE(json::parse(post->body).contains("error"));
}

// Many clients at once: every answer complete and correct (recommend() is shared by the workers).
TEST_F(ServerTest, AnswersConcurrentRecommendations) {
  const std::string jpeg = photo();
  const std::string reference = [&] {
    auto r = post_photo(jpeg, "?k=4");
    json d = json::parse(r->body);
    return d["similar"].dump();
  }();
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 4; ++i) {
        auto r = post_photo(jpeg, "?k=4");
        if (r && r->status == 200 && json::parse(r->body)["similar"].dump() == reference) ++ok;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok, 32);
  EXPECT_EQ(get_json("/healthz").first, 200);
}

}  // namespace
}  // namespace mystyle::server
