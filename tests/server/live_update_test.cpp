// Live updates (issue 13): a running server serves what another process imports and embeds, and
// what the admin API adds or deletes, without a restart; a restart serves the same. A real server
// on a loopback port over a copy of the shared test workspace (writes must not touch the shared one).
#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>
#include <vector>

#include "mystyle/core/file_io.h"
#include "mystyle/engine/catalog_edits.h"
#include "mystyle/engine/embeddings.h"
#include "mystyle/engine/recommender.h"
#include "mystyle/server/server.h"
#include "server_fixture.h"

namespace mystyle::server {
namespace {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;

constexpr const char* kToken = "test-admin-token-0123456789";

/// The first `n` MANGO product photos (by name) that no item of the workspace at `workspace` uses.
std::vector<fs::path> unused_mango_photos(const fs::path& workspace, std::size_t n) {
  std::set<std::string> used;
  catalog::Catalog cat(workspace);
  for (const auto& item : cat.all_items()) {
    if (item.image_path) used.insert(fs::path(*item.image_path).filename().string());
  }
  std::vector<fs::path> all;
  for (const auto& entry : fs::directory_iterator(testing::dataset_path("mango/images"))) {
    if (entry.path().extension() == ".jpg" && !used.contains(entry.path().filename().string())) all.push_back(entry.path());
  }
  std::sort(all.begin(), all.end());
  all.resize(std::min(all.size(), n));
  return all;
}

class LiveUpdateTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!testing::open_shared_workspace(shared_, /*outfit_count=*/40)) return;
    workspace_ = fs::path(MYSTYLE_SERVER_TEST_WORKSPACE).parent_path() / fmt::format("live-{}", ::getpid());
    fs::remove_all(workspace_);
    testing::copy_workspace(shared_, workspace_);
    start(engine::Recommender::open(engine::Workspace(workspace_), engine::RecommenderConfig{}));
  }
  static void start(std::shared_ptr<engine::Recommender> recommender) {
    ServerOptions options;
    options.port = 0;
    options.threads = 6;
    options.watch_interval_ms = 100;
    options.admin_token = kToken;
    server_ = new Server(std::move(recommender), engine::Workspace(workspace_), options);
    port_ = server_->bind();
    thread_ = new std::thread([] { server_->listen(); });
    for (int i = 0; i < 500 && !server_->is_running(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  static void stop() {
    if (server_ == nullptr) return;
    server_->stop();
    thread_->join();
    delete thread_;
    delete server_;
    server_ = nullptr;
    thread_ = nullptr;
  }
  static void TearDownTestSuite() {
    stop();
    if (!workspace_.empty()) fs::remove_all(workspace_);
  }
  void SetUp() override {
    if (server_ == nullptr) GTEST_SKIP() << "MANGO data set not found under MYSTYLE_DATASETS";
  }

  static httplib::Client client() {
    httplib::Client c("127.0.0.1", port_);
    c.set_read_timeout(30, 0);
    return c;
  }
  static httplib::Headers admin() { return {{"Authorization", std::string("Bearer ") + kToken}}; }

  static std::vector<fs::path> unused_photos(std::size_t n) { return unused_mango_photos(workspace_, n); }

  static httplib::Result add_item(const fs::path& photo, const std::string& source_id,
                                  const httplib::Headers& headers = admin(),
                                  const std::string& colour_family = "") {
    httplib::MultipartFormDataItems form = {
        {"image", read_file_bytes(photo), photo.filename().string(), "image/jpeg"},
        {"source_id", source_id, "", ""},
        {"name", "Test piece " + source_id, "", ""},
        {"category", "Tops", "", ""},
        {"type", "T-shirt", "", ""},
        {"colour", "White", "", ""},
        {"colour_name", "Off-white", "", ""},
        {"shop_url", "https://example.com/" + source_id, "", ""}};
    if (!colour_family.empty()) form.push_back({"colour_family", colour_family, "", ""});
    return client().Post("/api/items", headers, form);
  }

  /// The ids of the similar items POST /api/recommend finds for `photo`.
  static std::vector<std::int64_t> similar_ids(const fs::path& photo, int k = 5) {
    auto res = client().Post(fmt::format("/api/recommend?k={}", k), read_file_bytes(photo), "image/jpeg");
    EXPECT_TRUE(res);
    if (!res) return {};
    EXPECT_EQ(res->status, 200) << res->body;
    std::vector<std::int64_t> ids;
    const json doc = json::parse(res->body);
    for (const auto& s : doc["similar"]) ids.push_back(s["item_id"].get<std::int64_t>());
    return ids;
  }

  static json healthz() { return json::parse(client().Get("/healthz")->body); }

  /// Three clients sending `jpeg` to /api/recommend (and, with `and_items`, reading /api/items) until
  /// stop(); each answer counted as ok (200) or failed.
  struct BackgroundQueries {
    std::atomic<bool> done{false};
    std::atomic<int> ok{0}, failed{0};
    std::vector<std::thread> clients;
    BackgroundQueries(const std::string& jpeg, int k, bool and_items) {
      for (int t = 0; t < 3; ++t) {
        clients.emplace_back([this, &jpeg, k, and_items] {
          while (!done) {
            auto res = client().Post(fmt::format("/api/recommend?k={}", k), jpeg, "image/jpeg");
            (res && res->status == 200 ? ok : failed)++;
            if (!and_items) continue;
            auto item = client().Get("/api/items?per_page=5");
            (item && item->status == 200 ? ok : failed)++;
          }
        });
      }
    }
    void stop() {
      done = true;
      for (auto& c : clients) c.join();
      clients.clear();
    }
    ~BackgroundQueries() { stop(); }
  };

  static inline fs::path shared_ = MYSTYLE_SERVER_TEST_WORKSPACE;
  static inline fs::path workspace_;
  static inline Server* server_ = nullptr;
  static inline std::thread* thread_ = nullptr;
  static inline int port_ = 0;
};

TEST_F(LiveUpdateTest, AdminApiNeedsTheToken) {
  const auto photo = unused_photos(1).at(0);
  auto missing = add_item(photo, "no-token", {});
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 401);
  EXPECT_EQ(missing->get_header_value("WWW-Authenticate").rfind("Bearer", 0), 0u);
  auto wrong = add_item(photo, "wrong-token", {{"Authorization", "Bearer test-admin-token-0123456780"}});
  ASSERT_TRUE(wrong);
  EXPECT_EQ(wrong->status, 401);
  EXPECT_NE(json::parse(wrong->body)["error"].get<std::string>().find("wrong admin token"), std::string::npos);
  auto del = client().Delete("/api/items/1");
  ASSERT_TRUE(del);
  EXPECT_EQ(del->status, 401);
  // Nothing was written.
  catalog::Catalog cat(workspace_);
  EXPECT_FALSE(cat.find_item_by_source("admin", "no-token"));
  EXPECT_FALSE(cat.find_item_by_source("admin", "wrong-token"));
  EXPECT_TRUE(cat.find_item(1));

  // A server without a token has no admin API at all.
  ServerOptions options;
  options.port = 0;
  options.warm_up = false;
  options.watch_interval_ms = 0;
  Server off(engine::Recommender::open(engine::Workspace(workspace_), engine::RecommenderConfig{}),
             engine::Workspace(workspace_), options);
  const int port = off.bind();
  std::thread t([&] { off.listen(); });
  for (int i = 0; i < 500 && !off.is_running(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  httplib::Client c("127.0.0.1", port);
  auto refused = c.Delete("/api/items/1", admin());
  off.stop();
  t.join();
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 403);
  EXPECT_NE(json::parse(refused->body)["error"].get<std::string>().find("--admin-token"), std::string::npos);
}

TEST_F(LiveUpdateTest, AddedItemIsRecommendedAtOnceDeletedOneIsGoneAndRestartServesTheSame) {
  const auto photos = unused_photos(2);
  ASSERT_EQ(photos.size(), 2u);
  const auto generation = healthz()["generation"].get<int>();

  auto added = add_item(photos[0], "live-1");
  ASSERT_TRUE(added);
  ASSERT_EQ(added->status, 201) << added->body;
  const json item = json::parse(added->body);
  const std::int64_t id = item["item_id"].get<std::int64_t>();
  EXPECT_TRUE(item["indexed"].get<bool>());
  EXPECT_EQ(item["slot"], "main_top");  // natural_slot of a T-shirt
  EXPECT_EQ(item["colour"], "White");
  EXPECT_EQ(item["colour_name"], "Off-white");
  EXPECT_EQ(item["colour_family"], "white");  // read from the colour name
  EXPECT_EQ(added->get_header_value("Location"), fmt::format("/api/items/{}", id));
  EXPECT_GT(healthz()["generation"].get<int>(), generation);

  // Served at once: its page, its photo, and it is the best match for its own photo.
  EXPECT_EQ(client().Get(fmt::format("/api/items/{}", id))->status, 200);
  auto image = client().Get(fmt::format("/images/items/{}", id));
  ASSERT_TRUE(image);
  EXPECT_EQ(image->status, 200);
  EXPECT_EQ(similar_ids(photos[0]).at(0), id);
  // Stored in the workspace: the photo under photos/, a vector in the embeddings (and views) file.
  const engine::Workspace ws(workspace_);
  const auto embeddings = engine::load_embeddings(ws.embeddings_file(engine::kDefaultModel, "flat"));
  EXPECT_TRUE(std::ranges::binary_search(embeddings.ids, id));
  catalog::Catalog cat(workspace_);
  const auto stored = cat.find_item(id);
  ASSERT_TRUE(stored);
  ASSERT_TRUE(stored->image_path);
  EXPECT_EQ(fs::path(*stored->image_path).parent_path(), ws.photos_dir());

  // A colour family that is not one is refused, naming the field.
  auto bad_family = add_item(photos[1], "live-bad-family", admin(), "navy");
  ASSERT_TRUE(bad_family);
  EXPECT_EQ(bad_family->status, 400);
  EXPECT_NE(bad_family->body.find("field 'colour_family': unknown colour family 'navy'"), std::string::npos)
      << bad_family->body;

  // The same (source, source_id) again is refused and changes nothing.
  auto again = add_item(photos[0], "live-1");
  ASSERT_TRUE(again);
  EXPECT_EQ(again->status, 400);
  EXPECT_NE(json::parse(again->body)["error"].get<std::string>().find("already in the catalog"), std::string::npos);
  // A photo that is not an image is refused before anything is written.
  {
    httplib::MultipartFormDataItems form = {{"image", "not an image at all", "x.jpg", "image/jpeg"},
                                            {"source_id", "broken", "", ""},
                                            {"category", "Tops", "", ""}};
    auto broken = client().Post("/api/items", admin(), form);
    ASSERT_TRUE(broken);
    EXPECT_GE(broken->status, 400);
    EXPECT_LT(broken->status, 500);
    EXPECT_FALSE(cat.find_item_by_source("admin", "broken"));
  }

  // Restart: a new server on the same workspace serves the item.
  stop();
  start(engine::Recommender::open(engine::Workspace(workspace_), engine::RecommenderConfig{}));
  EXPECT_EQ(client().Get(fmt::format("/api/items/{}", id))->status, 200);
  EXPECT_EQ(similar_ids(photos[0]).at(0), id);

  // Delete: gone from the API, the recommendations, the embeddings; a second delete is a 404.
  auto del = client().Delete(fmt::format("/api/items/{}", id), admin());
  ASSERT_TRUE(del);
  EXPECT_EQ(del->status, 204);
  EXPECT_EQ(client().Get(fmt::format("/api/items/{}", id))->status, 404);
  EXPECT_EQ(client().Get(fmt::format("/images/items/{}", id))->status, 404);
  const auto after = similar_ids(photos[0], 20);
  EXPECT_EQ(std::ranges::find(after, id), after.end());
  EXPECT_FALSE(std::ranges::binary_search(
      engine::load_embeddings(ws.embeddings_file(engine::kDefaultModel, "flat")).ids, id));
  EXPECT_FALSE(fs::exists(*stored->image_path));
  EXPECT_EQ(client().Delete(fmt::format("/api/items/{}", id), admin())->status, 404);

  // Its id is never given again, though it was the largest.
  auto next = add_item(photos[1], "live-2");
  ASSERT_TRUE(next);
  ASSERT_EQ(next->status, 201) << next->body;
  EXPECT_GT(json::parse(next->body)["item_id"].get<std::int64_t>(), id);
}

TEST_F(LiveUpdateTest, AddedOutfitIsServedWithItsPieces) {
  catalog::Catalog cat(workspace_);
  const auto items = cat.all_items();
  ASSERT_GE(items.size(), 3u);
  const json body = {{"source_id", "look-1"},
                     {"members", {{{"item_id", items[0].id}}, {{"item_id", items[2].id}, {"slot", "bottom"}}}}};
  auto res = client().Post("/api/outfits", admin(), body.dump(), "application/json");
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 201) << res->body;
  const json outfit = json::parse(res->body);
  const std::int64_t id = outfit["outfit_id"].get<std::int64_t>();
  ASSERT_EQ(outfit["pieces"].size(), 2u);
  EXPECT_EQ(outfit["pieces"][1]["outfit_slot"], "bottom");
  auto got = client().Get(fmt::format("/api/outfits/{}", id));
  ASSERT_TRUE(got);
  EXPECT_EQ(got->status, 200);
  const json first = json::parse(client().Get(fmt::format("/api/items/{}", items[0].id))->body);
  EXPECT_NE(std::ranges::find(first["outfit_ids"], json(id)), first["outfit_ids"].end());

  // Bad outfits: a piece that does not exist, a single piece, not JSON.
  const json unknown = {{"source_id", "look-2"}, {"members", {{{"item_id", 999999}}, {{"item_id", items[0].id}}}}};
  EXPECT_EQ(client().Post("/api/outfits", admin(), unknown.dump(), "application/json")->status, 404);
  const json single = {{"source_id", "look-3"}, {"members", {{{"item_id", items[0].id}}}}};
  EXPECT_EQ(client().Post("/api/outfits", admin(), single.dump(), "application/json")->status, 400);
  EXPECT_EQ(client().Post("/api/outfits", admin(), "{not json", "application/json")->status, 400);
}

// Another process imports and embeds; the running server serves the new item within 2 seconds.
TEST_F(LiveUpdateTest, ImportAndEmbedByAnotherProcessAreServedWithin2Seconds) {
  const auto photos = unused_photos(5);
  ASSERT_GE(photos.size(), 5u);
  const fs::path photo = photos[4];
  const fs::path dir = workspace_.parent_path() / fmt::format("live-import-{}", ::getpid());
  fs::create_directories(dir);
  fs::copy_file(photo, dir / "new.jpg", fs::copy_options::overwrite_existing);
  write_file_atomic(dir / "items.csv",
                    "id,name,category,type,colour,url,image\n"
                    "imported-1,Imported piece,Tops,Shirt,Blue,https://example.com/imported-1,new.jpg\n");
  const std::string bin = MYSTYLE_BIN;
  const std::string ws = workspace_.string();
  ASSERT_EQ(std::system(fmt::format("'{}' import csv -w '{}' --items '{}' --source other >/dev/null 2>&1", bin, ws,
                                    (dir / "items.csv").string())
                            .c_str()),
            0);
  ASSERT_EQ(std::system(fmt::format("'{}' embed -w '{}' --threads 1 >/dev/null 2>&1", bin, ws).c_str()), 0);
  const auto embedded = Clock::now();
  std::int64_t id = 0;
  {
    catalog::Catalog cat(workspace_);
    const auto item = cat.find_item_by_source("other", "imported-1");
    ASSERT_TRUE(item);
    id = item->id;
  }
  double seen_after = -1;
  while (std::chrono::duration<double>(Clock::now() - embedded).count() < 5.0) {
    const auto ids = similar_ids(photo, 1);
    if (!ids.empty() && ids[0] == id) {
      seen_after = std::chrono::duration<double>(Clock::now() - embedded).count();
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  fs::remove_all(dir);
  ASSERT_GE(seen_after, 0.0) << "the imported item was not recommended within 5 s";
  EXPECT_LT(seen_after, 2.0);
  RecordProperty("seconds_until_served", std::to_string(seen_after));
  EXPECT_EQ(healthz()["last_reload_error"], nullptr);
}

// Admin edits are served in place (no reopen), and what is served is what a reopen of the workspace
// serves: the same similar items with the same scores, the same outfits.
TEST_F(LiveUpdateTest, EditsAreServedInPlaceExactlyAsAReopenServesThem) {
  ASSERT_TRUE(server_->reload());  // whatever an earlier test's processes wrote is read now, not during this test
  const json before = healthz();
  const auto photos = unused_photos(8);
  ASSERT_GE(photos.size(), 8u);
  // A loaded item that outfits hold, to delete.
  std::int64_t doomed = 0, partner = 0;
  fs::path doomed_photo;
  {
    catalog::Catalog cat(workspace_);
    for (const auto& item : cat.all_items()) {
      if (doomed == 0 && item.image_path && cat.outfits_with_item(item.id).size() >= 2) {
        doomed = item.id;
        doomed_photo = *item.image_path;
      } else if (partner == 0 && item.image_path) {
        partner = item.id;
      }
    }
  }
  ASSERT_NE(doomed, 0);
  ASSERT_NE(partner, 0);
  auto added = add_item(photos[5], "in-place-1");
  ASSERT_TRUE(added);
  ASSERT_EQ(added->status, 201) << added->body;
  const std::int64_t id = json::parse(added->body)["item_id"].get<std::int64_t>();
  ASSERT_EQ(client().Delete(fmt::format("/api/items/{}", doomed), admin())->status, 204);
  const json look = {{"source_id", "in-place-look"}, {"members", {{{"item_id", id}}, {{"item_id", partner}}}}};
  auto outfit = client().Post("/api/outfits", admin(), look.dump(), "application/json");
  ASSERT_TRUE(outfit);
  ASSERT_EQ(outfit->status, 201) << outfit->body;

  const json after = healthz();
  EXPECT_EQ(after["edits_in_place"].get<int>(), before["edits_in_place"].get<int>() + 3);
  EXPECT_EQ(after["reloads"], before["reloads"]) << "an edit reopened the workspace";
  EXPECT_EQ(after["generation"].get<int>(), before["generation"].get<int>() + 3);
  EXPECT_GE(after["edits_since_reopen"].get<int>(), 3);
  EXPECT_EQ(client().Get(fmt::format("/api/items/{}", doomed))->status, 404);

  // The same photos through the server (in place) and through a recommender opened now.
  auto reopened = engine::Recommender::open(engine::Workspace(workspace_), engine::RecommenderConfig{});
  for (const fs::path& photo : {photos[5], doomed_photo, photos[6]}) {
    auto res = client().Post("/api/recommend?k=10&outfits=20", read_file_bytes(photo), "image/jpeg");
    ASSERT_TRUE(res);
    ASSERT_EQ(res->status, 200) << res->body;
    const json served = json::parse(res->body);
    engine::RecommendRequest request;
    request.k = 10;
    request.max_outfits = 20;
    const json fresh = reopened->to_json(reopened->recommend_file(photo, request), request);
    ASSERT_EQ(served["similar"].size(), fresh["similar"].size()) << photo;
    for (std::size_t i = 0; i < fresh["similar"].size(); ++i) {
      EXPECT_EQ(served["similar"][i]["item_id"], fresh["similar"][i]["item_id"]) << photo << " rank " << i;
      EXPECT_NEAR(served["similar"][i]["score"].get<double>(), fresh["similar"][i]["score"].get<double>(), 1e-12);
      EXPECT_NE(served["similar"][i]["item_id"].get<std::int64_t>(), doomed);
    }
    ASSERT_EQ(served["outfits"].size(), fresh["outfits"].size()) << photo;
    for (std::size_t i = 0; i < fresh["outfits"].size(); ++i)
      EXPECT_EQ(served["outfits"][i]["outfit_id"], fresh["outfits"][i]["outfit_id"]) << photo << " outfit " << i;
  }
  // The added item is its photo's best match; the added outfit is among its outfits.
  const json item = json::parse(client().Get(fmt::format("/api/items/{}", id))->body);
  EXPECT_EQ(item["outfit_ids"].size(), 1u);
  EXPECT_EQ(similar_ids(photos[5]).at(0), id);
  // Complete the look never proposes the deleted item.
  auto completed = client().Post("/api/complete?per_slot=20", read_file_bytes(photos[6]), "image/jpeg");
  ASSERT_TRUE(completed);
  if (completed->status == 200) {
    EXPECT_EQ(completed->body.find(fmt::format("\"item_id\":{},", doomed)), std::string::npos);
  }
}

// Edits while photo queries run: every query is answered (each from one version of the catalog).
TEST_F(LiveUpdateTest, QueriesDuringEditsAllSucceed) {
  const auto photos = unused_photos(12);
  ASSERT_GE(photos.size(), 12u);
  ASSERT_TRUE(server_->reload());
  const std::string jpeg = read_file_bytes(photos[0]);
  BackgroundQueries queries(jpeg, 5, /*and_items=*/false);
  const json before = healthz();
  std::vector<std::int64_t> ids;
  for (int i = 8; i < 12; ++i) {
    auto added = add_item(photos[static_cast<std::size_t>(i)], fmt::format("during-{}", i));
    ASSERT_TRUE(added);
    ASSERT_EQ(added->status, 201) << added->body;
    ids.push_back(json::parse(added->body)["item_id"].get<std::int64_t>());
  }
  for (const std::int64_t id : ids) EXPECT_EQ(client().Delete(fmt::format("/api/items/{}", id), admin())->status, 204);
  queries.stop();
  EXPECT_GT(queries.ok.load(), 0);
  EXPECT_EQ(queries.failed.load(), 0);
  EXPECT_EQ(healthz()["edits_in_place"].get<int>(), before["edits_in_place"].get<int>() + 8);
  for (const std::int64_t id : ids) EXPECT_EQ(client().Get(fmt::format("/api/items/{}", id))->status, 404);
}

// Reloads while requests run: every request is answered, from the state it started with.
TEST_F(LiveUpdateTest, RequestsDuringReloadsAllSucceed) {
  const std::string jpeg = read_file_bytes(unused_photos(3).at(2));
  BackgroundQueries queries(jpeg, 3, /*and_items=*/true);
  const auto before = server_->generation();
  for (int i = 0; i < 4; ++i) EXPECT_TRUE(server_->reload());
  queries.stop();
  // At least 4: the watcher may swap in one more of its own (the previous test's embed writes its
  // files one after the other, and the last can land after that test stopped waiting).
  EXPECT_GE(server_->generation(), before + 4);
  EXPECT_GT(queries.ok.load(), 0);
  EXPECT_EQ(queries.failed.load(), 0);
}

// The admin API's writer keeps its model between adds: an add through it stores the vector a freshly
// loaded model gives, the same model file rewritten is loaded again and still agrees, and a model file
// replaced by a broken one is noticed at the next add (an error naming it), not encoded with the old one.
TEST(WorkspaceWriterTest, KeepsItsModelOnlyWhileTheFileIsUnchanged) {
  fs::path shared = MYSTYLE_SERVER_TEST_WORKSPACE;
  if (!testing::open_shared_workspace(shared, /*outfit_count=*/40)) GTEST_SKIP() << "MANGO data set not found";
  const fs::path dir = shared.parent_path() / fmt::format("writer-{}", ::getpid());
  fs::remove_all(dir);
  testing::copy_workspace(shared, dir);
  const engine::Workspace ws(dir);
  const std::vector<fs::path> photos = unused_mango_photos(dir, 4);
  ASSERT_EQ(photos.size(), 4u);

  engine::WorkspaceWriter writer(ws, {});
  const auto add = [&](int i) {
    catalog::Item item;
    item.source = "admin";
    item.source_id = fmt::format("writer-{}", i);
    item.category = "Tops";
    item.type = "T-Shirt";
    item.slot = catalog::Slot::kMainTop;
    return writer.add_item(item, read_file_bytes(photos[static_cast<std::size_t>(i)]));
  };
  const auto stored = [&](std::int64_t id) {
    const engine::Embeddings e = engine::load_embeddings(ws.embeddings_file(engine::kDefaultModel, "flat"));
    const auto at = std::ranges::lower_bound(e.ids, id);
    EXPECT_TRUE(at != e.ids.end() && *at == id);
    const auto row = e.row(static_cast<std::size_t>(at - e.ids.begin()));
    return std::vector<float>(row.begin(), row.end());
  };
  const auto fresh = [&](int i) {
    auto loaded = engine::load_embedding_model(ws, engine::kDefaultModel);
    return engine::encode_catalog_photo(loaded.model, nn::LatentPooling::kFlat, photos[static_cast<std::size_t>(i)],
                                        false)
        .item;
  };
  const auto near = [](const std::vector<float>& a, const std::vector<float>& b) {
    float worst = a.size() == b.size() ? 0.0f : 1.0f;
    for (std::size_t k = 0; k < std::min(a.size(), b.size()); ++k) worst = std::max(worst, std::abs(a[k] - b[k]));
    return worst;
  };
  EXPECT_LT(near(stored(add(0).item.id), fresh(0)), 1e-5f);
  EXPECT_LT(near(stored(add(1).item.id), fresh(1)), 1e-5f);  // the kept model

  const fs::path model_file = ws.model_file(engine::kDefaultModel);
  const std::string model_bytes = read_file_bytes(model_file);
  write_file_atomic(model_file, model_bytes);  // a new file, the same model: loaded again, same vectors
  EXPECT_LT(near(stored(add(2).item.id), fresh(2)), 1e-5f);

  write_file_atomic(model_file, model_bytes.substr(0, model_bytes.size() / 2));
  try {
    add(3);
    ADD_FAILURE() << "an add after the model file was replaced by a broken one succeeded";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(model_file.string()), std::string::npos) << e.what();
  }
  fs::remove_all(dir);
}

}  // namespace
}  // namespace mystyle::server
