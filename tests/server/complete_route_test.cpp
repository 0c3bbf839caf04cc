// POST /api/complete on the real server (loopback, httplib::Client): over a small real workspace
// with a compatibility model (one quick epoch), and over one without it (503).
#include <gtest/gtest.h>
#include <httplib.h>
#include <unistd.h>

#include <cmath>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "mystyle/core/file_io.h"
#include "mystyle/engine/catalog_edits.h"
#include "mystyle/train/compat_job.h"
#include "mystyle/engine/completer.h"
#include "mystyle/server/server.h"
#include "server_fixture.h"

namespace mystyle::server {
namespace {

using nlohmann::json;

constexpr std::size_t kMaxUploadBytes = 256 * 1024;
// The shared workspace of server_test (same outfits), and a copy of it with a compat model.
const std::filesystem::path kPlainWorkspace = MYSTYLE_SERVER_TEST_WORKSPACE;
const std::filesystem::path kCompatWorkspace = std::string(MYSTYLE_SERVER_TEST_WORKSPACE) + "-compat";
constexpr std::size_t kOutfits = 40;

/// The shared workspace copied to `kCompatWorkspace` with a compat model trained for one epoch
/// there; made under a temporary name and renamed, so concurrent test processes reuse one.
bool make_compat_workspace() {
  if (!testing::open_shared_workspace(kPlainWorkspace, kOutfits)) return false;
  if (std::filesystem::exists(engine::Workspace(kCompatWorkspace).model_file(engine::kCompatModel))) {
    try {
      engine::Recommender::open(engine::Workspace(kCompatWorkspace), engine::RecommenderConfig{});
      return true;
    } catch (const mystyle::Error&) {
      std::filesystem::remove_all(kCompatWorkspace);  // made by an older build (stale embeddings): make it again
    }
  }
  const auto tmp = kCompatWorkspace.string() + fmt::format(".tmp-{}", ::getpid());
  std::filesystem::remove_all(tmp);
  testing::copy_workspace(kPlainWorkspace, tmp);
  train::CompatTrainOptions options;
  options.settings.epochs = 1;
  options.threads = 2;
  train::train_compat_on_catalog(engine::Workspace(tmp), options);
  std::error_code ec;
  std::filesystem::rename(tmp, kCompatWorkspace, ec);
  if (ec) std::filesystem::remove_all(tmp);  // another process made it first
  return true;
}

/// A copy of kCompatWorkspace of one test's own (`name`-PID beside it), to edit; empty when the MANGO
/// data set is missing.
std::filesystem::path editable_compat_workspace(const std::string& name) {
  if (!make_compat_workspace()) return {};
  const auto dir = kCompatWorkspace.parent_path() / fmt::format("{}-{}", name, ::getpid());
  std::filesystem::remove_all(dir);
  testing::copy_workspace(kCompatWorkspace, dir);
  return dir;
}

/// MANGO photos (ascending) that no item of `rec`'s catalog uses: photos to add as new items.
std::vector<std::filesystem::path> unused_mango_photos(const engine::Recommender& rec) {
  std::set<std::string> used;
  for (const auto& item : rec.graph().items()) {
    if (item.image_path) used.insert(std::filesystem::path(*item.image_path).filename().string());
  }
  std::vector<std::filesystem::path> photos;
  for (const auto& e : std::filesystem::directory_iterator(testing::dataset_path("mango/images"))) {
    if (e.path().extension() == ".jpg" && !used.contains(e.path().filename().string())) photos.push_back(e.path());
  }
  std::ranges::sort(photos);
  return photos;
}

/// One real server on a free loopback port, listening on its own thread.
class LoopbackServer {
 public:
  explicit LoopbackServer(const std::filesystem::path& workspace)
      : recommender_(engine::Recommender::open(engine::Workspace(workspace), engine::RecommenderConfig{})) {
    ServerOptions options;
    options.port = 0;
    options.threads = 4;
    options.max_upload_bytes = kMaxUploadBytes;
    options.warm_up = false;
    server_ = std::make_unique<Server>(recommender_, engine::Workspace(workspace), options);
    port_ = server_->bind();
    thread_ = std::thread([this] { server_->listen(); });
    for (int i = 0; i < 500 && !server_->is_running(); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ~LoopbackServer() {
    server_->stop();
    thread_.join();
  }
  httplib::Client client() const {
    httplib::Client c("127.0.0.1", port_);
    c.set_read_timeout(30, 0);
    return c;
  }
  engine::Recommender& recommender() { return *recommender_; }

 private:
  std::shared_ptr<engine::Recommender> recommender_;
  std::unique_ptr<Server> server_;
  std::thread thread_;
  int port_ = 0;
};

std::string photo(const std::string& file = "2019_41085800_02.jpg") {
  return read_file_bytes(testing::dataset_path("mango/images") / file);
}

void expect_error(const httplib::Result& res, int status, const std::string& words) {
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, status) << res->body;
  EXPECT_EQ(res->get_header_value("Content-Type"), "application/json");
  const json body = json::parse(res->body, nullptr, false);
  ASSERT_TRUE(body.is_object() && body.contains("error")) << res->body;
  EXPECT_NE(body["error"].get<std::string>().find(words), std::string::npos) << body["error"];
}

class CompleteApiTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    try {
      if (!make_compat_workspace()) return;
      server_ = new LoopbackServer(kCompatWorkspace);
      completer_ =
          engine::Completer::open(engine::Workspace(kCompatWorkspace), server_->recommender()).release();
    } catch (const std::exception& e) {
      setup_error_ = e.what();  // reported by every test as a failure, not as a skip
    }
  }
  static void TearDownTestSuite() {
    delete completer_;
    delete server_;
  }
  void SetUp() override {
    if (!setup_error_.empty()) FAIL() << "setting up the compat workspace and server: " << setup_error_;
    if (server_ == nullptr) GTEST_SKIP() << "MANGO data set not found under MYSTYLE_DATASETS";
  }

  static httplib::Result post_photo(const std::string& bytes, const std::string& query = "",
                                    const std::string& filename = "garment.jpg") {
    httplib::MultipartFormDataItems form = {{"image", bytes, filename, "image/jpeg"}};
    return server_->client().Post(("/api/complete" + query).c_str(), form);
  }

  static json post_ok(const std::string& query) {
    auto res = post_photo(photo(), query);
    EXPECT_TRUE(res);
    if (!res) return {};
    EXPECT_EQ(res->status, 200) << res->body;
    EXPECT_EQ(res->get_header_value("Content-Type"), "application/json");
    return json::parse(res->body);
  }

  /// Every piece (candidates and outfits) is a catalog item of the slot it fills, the slots are
  /// those listed, and the photo's own slot is never filled.
  static void expect_pieces_fit(const json& doc) {
    const auto& graph = server_->recommender().graph();
    const std::string query_slot = doc["query"]["slot"];
    std::set<std::string> slots;
    for (const auto& s : doc["slots"]) slots.insert(s.get<std::string>());
    EXPECT_FALSE(slots.contains(query_slot)) << query_slot;
    auto expect_piece = [&](const json& piece, const std::string& slot) {
      EXPECT_EQ(piece["slot"], slot);
      const catalog::Item* item = graph.item(piece["item"]["item_id"].get<std::int64_t>());
      ASSERT_NE(item, nullptr) << piece;
      EXPECT_EQ(catalog::slot_name(item->slot), slot) << piece;
      EXPECT_EQ(piece["item"], engine::item_json(*item));
      EXPECT_TRUE(piece["item"]["image_url"].is_string()) << piece;
    };
    ASSERT_EQ(doc["candidates"].size(), slots.size());
    for (std::size_t i = 0; i < doc["candidates"].size(); ++i) {
      const auto& c = doc["candidates"][i];
      EXPECT_EQ(c["slot"], doc["slots"][i]);
      EXPECT_FALSE(c["pieces"].empty());
      for (const auto& p : c["pieces"]) expect_piece(p, c["slot"]);
    }
    for (const auto& o : doc["outfits"]) {
      ASSERT_EQ(o["pieces"].size(), slots.size()) << o;
      std::set<std::int64_t> ids;
      for (std::size_t i = 0; i < o["pieces"].size(); ++i) {
        expect_piece(o["pieces"][i], doc["slots"][i]);
        ids.insert(o["pieces"][i]["item"]["item_id"].get<std::int64_t>());
      }
      const std::size_t n = ids.size() + 1;  // the pieces and the photo
      EXPECT_EQ(o["pairs"].size(), n * (n - 1) / 2);
      for (const auto& pair : o["pairs"]) {
        EXPECT_TRUE(pair["a"] == "query" || ids.contains(pair["a"].get<std::int64_t>())) << pair;
        EXPECT_TRUE(ids.contains(pair["b"].get<std::int64_t>())) << pair;
      }
      EXPECT_FALSE(o["why"].get<std::string>().empty());
    }
  }

  static LoopbackServer* server_;
  static engine::Completer* completer_;
  static inline std::string setup_error_;
};

LoopbackServer* CompleteApiTest::server_ = nullptr;
engine::Completer* CompleteApiTest::completer_ = nullptr;

// The API answers exactly the document of `mystyle complete --json` (timings aside).
TEST_F(CompleteApiTest, ReturnsTheEngineDocument) {
  json doc = post_ok("?outfits=3&per_slot=4");
  for (const char* key : {"query", "request", "slots", "candidates", "outfits", "model", "timing_ms"}) {
    EXPECT_TRUE(doc.contains(key)) << key;
  }
  EXPECT_EQ(doc["query"]["name"], "garment.jpg");
  EXPECT_EQ(doc["query"]["slot_from"], "best match");
  EXPECT_TRUE(doc["query"]["best_match"].is_object());
  EXPECT_EQ(doc["request"]["slots"], "default");
  EXPECT_FALSE(doc["slots"].empty());
  EXPECT_FALSE(doc["outfits"].empty());
  EXPECT_LE(doc["outfits"].size(), 3u);
  for (const auto& c : doc["candidates"]) EXPECT_LE(c["pieces"].size(), 4u);
  EXPECT_GT(doc["timing_ms"]["total"].get<double>(), 0.0);

  engine::CompleteRequest request;
  request.outfits = 3;
  request.per_slot = 4;
  const std::string bytes = photo();
  const auto response = completer_->complete(
      {reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()}, "garment.jpg", request);
  json expected = completer_->to_json(response, request);
  // The server also looks for a person's pieces: a garment alone is answered exactly the same.
  EXPECT_EQ(doc["mode"], "garment");
  EXPECT_TRUE(doc["pieces"].empty());
  EXPECT_EQ(doc["piece"], 0);
  for (const char* key : {"mode", "photo", "piece", "pieces"}) doc.erase(key);
  for (json* d : {&doc, &expected}) d->erase("timing_ms");
  EXPECT_EQ(doc, expected);
}

TEST_F(CompleteApiTest, EveryPieceIsACatalogItemOfItsSlotAndNeverThePhotosSlot) {
  expect_pieces_fit(post_ok("?outfits=5"));
  // The photo's slot asked for among the slots to fill is dropped.
  const json asked = post_ok("?slot=bottom&slots=bottom,main_top,shoes,bag&outfits=2");
  EXPECT_EQ(asked["query"]["slot"], "bottom");
  EXPECT_EQ(asked["query"]["slot_from"], "request");
  for (const auto& s : asked["slots"]) EXPECT_NE(s, "bottom");
  expect_pieces_fit(asked);
  // Every thumbnail the page will show is served.
  const auto& first = asked["candidates"][0]["pieces"][0]["item"];
  auto image = server_->client().Get(first["image_url"].get<std::string>().c_str());
  ASSERT_TRUE(image);
  EXPECT_EQ(image->status, 200);
  EXPECT_EQ(image->get_header_value("Content-Type"), "image/jpeg");
}

TEST_F(CompleteApiTest, ReadsARawBodyAndFormFields) {
  auto raw = server_->client().Post(
      "/api/complete?slot=main_top&slots=bottom,shoes&outfits=1&per_slot=2&name=top.jpg", photo(),
      "image/jpeg");
  ASSERT_TRUE(raw);
  ASSERT_EQ(raw->status, 200) << raw->body;
  const json doc = json::parse(raw->body);
  EXPECT_EQ(doc["query"]["name"], "top.jpg");
  EXPECT_EQ(doc["query"]["slot"], "main_top");
  EXPECT_EQ(doc["request"]["slots"], json({"bottom", "shoes"}));
  EXPECT_LE(doc["outfits"].size(), 1u);
  for (const auto& s : doc["slots"]) EXPECT_TRUE(s == "bottom" || s == "shoes") << s;
  for (const auto& c : doc["candidates"]) EXPECT_LE(c["pieces"].size(), 2u);

  const std::string category = "Accesories, Swim and Intimate";
  ASSERT_TRUE(std::ranges::binary_search(server_->recommender().categories(), category));
  httplib::MultipartFormDataItems form = {{"image", photo(), "a.jpg", "image/jpeg"},
                                          {"category", category, "", ""},
                                          {"outfits", "0", "", ""},
                                          {"per_slot", "3", "", ""}};
  auto res = server_->client().Post("/api/complete", form);
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;
  const json by_form = json::parse(res->body);
  EXPECT_EQ(by_form["request"]["category"], category);
  EXPECT_TRUE(by_form["outfits"].empty());
  EXPECT_FALSE(by_form["candidates"].empty());
  for (const auto& c : by_form["candidates"]) {
    EXPECT_LE(c["pieces"].size(), 3u);
    for (const auto& p : c["pieces"]) EXPECT_EQ(p["item"]["category"], category);
  }
}

// colour= (any case, or a colour name; from the query or a form field): every proposed piece is of
// that family, and the family used is echoed.
TEST_F(CompleteApiTest, ProposesOnlyPiecesOfTheColourAsked) {
  for (const auto& [asked, family] :
       std::vector<std::pair<std::string, std::string>>{{"Black", "black"}, {"navy", "blue"}}) {
    SCOPED_TRACE(asked);
    const json doc = post_ok("?outfits=2&per_slot=3&colour=" + asked);
    EXPECT_EQ(doc["request"]["colour"], family);
    for (const auto& c : doc["candidates"]) {
      for (const auto& p : c["pieces"]) EXPECT_EQ(p["item"]["colour_family"], family);
    }
    for (const auto& o : doc["outfits"]) {
      for (const auto& p : o["pieces"]) EXPECT_EQ(p["item"]["colour_family"], family);
    }
  }
  httplib::MultipartFormDataItems form = {{"image", photo(), "a.jpg", "image/jpeg"},
                                          {"colour", "WHITE", "", ""}};
  auto res = server_->client().Post("/api/complete", form);
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;
  const json by_form = json::parse(res->body);
  EXPECT_EQ(by_form["request"]["colour"], "white");
  for (const auto& c : by_form["candidates"]) {
    for (const auto& p : c["pieces"]) EXPECT_EQ(p["item"]["colour_family"], "white");
  }
}

TEST_F(CompleteApiTest, RefusesBadParametersWith400NamingThem) {
  const std::string jpeg = photo();
  for (const auto& [query, name] :
       std::vector<std::pair<std::string, std::string>>{{"?outfits=-1", "'outfits'"},
                                                        {"?outfits=21", "'outfits'"},
                                                        {"?outfits=abc", "'outfits'"},
                                                        {"?outfits=3x", "'outfits'"},
                                                        {"?per_slot=0", "'per_slot'"},
                                                        {"?per_slot=51", "'per_slot'"},
                                                        {"?slots=main_top,cape", "'slots'"},
                                                        {"?slot=cape", "'slot'"},
                                                        {"?category=NoSuchCategory", "category"},
                                                        {"?colour=chartreuse", "parameter 'colour'"}}) {
    SCOPED_TRACE(query);
    expect_error(post_photo(jpeg, query), 400, name);
  }
}

TEST_F(CompleteApiTest, RefusesBadUploadsLikeRecommend) {
  std::string big = photo();
  big.resize(kMaxUploadBytes + 1000, '\0');
  expect_error(post_photo(big), 413, "limit");
  expect_error(post_photo("just some text, not a photo\n", "", "notes.txt"), 415, "notes.txt");
  const std::string jpeg = photo();
  expect_error(post_photo(jpeg.substr(0, jpeg.size() / 3), "", "cut.jpg"), 422, "cut.jpg");
  expect_error(server_->client().Post("/api/complete", "", "image/jpeg"), 400, "empty");
  httplib::MultipartFormDataItems no_image = {{"photo", jpeg, "a.jpg", "image/jpeg"}};
  expect_error(server_->client().Post("/api/complete", no_image), 400, "'image'");
}

TEST_F(CompleteApiTest, TheModelDocumentSaysItIsAvailable) {
  auto res = server_->client().Get("/api/model");
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200);
  const json complete = json::parse(res->body)["complete"];
  EXPECT_EQ(complete["available"], true);
  EXPECT_TRUE(complete["reason"].is_null());
  EXPECT_EQ(complete["model"]["name"], "compat");
  EXPECT_EQ(complete["model"]["outfits_learned_from"], completer_->description()["outfits_learned_from"]);
}

// A workspace without models/compat.model: the rest is served, /api/complete says what to run.
TEST(CompleteApiWithoutModelTest, Answers503NamingTheTrainCommand) {
  if (!testing::open_shared_workspace(kPlainWorkspace, kOutfits)) GTEST_SKIP() << "MANGO data set not found";
  ASSERT_FALSE(std::filesystem::exists(engine::Workspace(kPlainWorkspace).model_file(engine::kCompatModel)));
  const LoopbackServer server(kPlainWorkspace);
  httplib::MultipartFormDataItems form = {{"image", photo(), "a.jpg", "image/jpeg"}};
  expect_error(server.client().Post("/api/complete", form), 503, "mystyle train --model compat");
  // Whatever the parameters: the feature itself is missing.
  expect_error(server.client().Post("/api/complete?outfits=-1", form), 503, "mystyle train --model compat");
  auto model = server.client().Get("/api/model");
  ASSERT_TRUE(model);
  ASSERT_EQ(model->status, 200);
  const json complete = json::parse(model->body)["complete"];
  EXPECT_EQ(complete["available"], false);
  EXPECT_NE(complete["reason"].get<std::string>().find("mystyle train --model compat"), std::string::npos);
  auto recommend = server.client().Post("/api/recommend", form);
  ASSERT_TRUE(recommend);
  EXPECT_EQ(recommend->status, 200);
}

// A reload after an edit reuses what the previous "complete the look" computed, and ends with exactly
// what opening from scratch gives (features bit for bit, views up to the batch's rounding).
TEST(CompleteReloadTest, ReopenAfterAnEditEqualsAFreshOpenAndComputesOnlyTheNewItem) {
  const auto dir = editable_compat_workspace("reopen");
  if (dir.empty()) GTEST_SKIP() << "MANGO data set not found under MYSTYLE_DATASETS";
  const engine::Workspace ws(dir);
  std::shared_ptr<engine::Recommender> first = engine::Recommender::open(ws, engine::RecommenderConfig{});
  const auto before = engine::Completer::open(ws, *first);
  EXPECT_EQ(before->items_computed(), before->table().size());

  // Unchanged workspace: nothing is computed again.
  std::shared_ptr<engine::Recommender> same = engine::Recommender::open(ws, engine::RecommenderConfig{});
  EXPECT_EQ(engine::Completer::reopen(ws, *same, *before)->items_computed(), 0u);

  // One item added with a photo no item has.
  const std::filesystem::path photo = unused_mango_photos(*first).front();
  catalog::Item item;
  item.source = "admin";
  item.source_id = "reopen-1";
  item.category = "Bottoms";
  item.type = "Trousers";
  item.slot = catalog::Slot::kBottom;
  const auto added = engine::add_item_with_photo(ws, item, read_file_bytes(photo));
  std::shared_ptr<engine::Recommender> second = engine::Recommender::open(ws, engine::RecommenderConfig{});
  const auto reopened = engine::Completer::reopen(ws, *second, *before);
  const auto fresh = engine::Completer::open(ws, *second);
  EXPECT_EQ(reopened->items_computed(), 1u);
  ASSERT_EQ(reopened->table().size(), fresh->table().size());
  ASSERT_EQ(reopened->table().size(), before->table().size() + 1);
  ASSERT_TRUE(reopened->table().has(added.item.id));
  float worst = 0;
  for (const auto& x : second->graph().items()) {
    if (!fresh->table().has(x.id)) continue;
    for (const auto other : catalog::kAllSlots) {
      const float* a = reopened->table().view(x.id, other);
      const float* b = fresh->table().view(x.id, other);
      ASSERT_NE(a, nullptr);
      for (int k = 0; k < fresh->table().dim(); ++k) worst = std::max(worst, std::abs(a[k] - b[k]));
    }
  }
  EXPECT_LT(worst, 1e-4f);
  std::filesystem::remove_all(dir);
}

// Complete the look over a recommender with edits applied in place (Completer::over): a deleted item
// is never proposed, and the candidates are those of a completer opened afresh after the edit.
TEST(CompleteInPlaceTest, ADeletedItemIsNeverProposedAndTheRestIsAsAFreshOpen) {
  const auto dir = editable_compat_workspace("in-place");
  if (dir.empty()) GTEST_SKIP() << "MANGO data set not found under MYSTYLE_DATASETS";
  const engine::Workspace ws(dir);
  std::shared_ptr<engine::Recommender> rec = engine::Recommender::open(ws, engine::RecommenderConfig{});
  const auto completer = engine::Completer::open(ws, *rec);
  const auto photo = *rec->graph().items().front().image_path;
  const std::string bytes = read_file_bytes(photo);
  const auto span = std::span(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
  engine::CompleteRequest request;
  request.per_slot = 10;
  const auto first = completer->complete(span, "photo", request);
  ASSERT_FALSE(first.result.candidates.empty());
  ASSERT_FALSE(first.result.candidates.front().pieces.empty());
  const std::int64_t doomed = first.result.candidates.front().pieces.front().item;

  ASSERT_TRUE(engine::remove_item(ws, doomed));
  engine::RecommenderEdits edits;
  edits.removed = {doomed};
  std::shared_ptr<engine::Recommender> edited = rec->with_edits(edits);
  const auto over = completer->over(*edited);
  const auto after = over->complete(span, "photo", request);
  std::shared_ptr<engine::Recommender> reopened = engine::Recommender::open(ws, engine::RecommenderConfig{});
  const auto fresh = engine::Completer::open(ws, *reopened)->complete(span, "photo", request);
  ASSERT_EQ(after.result.slots, fresh.result.slots);
  for (std::size_t s = 0; s < after.result.candidates.size(); ++s) {
    std::set<std::int64_t> got, want;
    for (const auto& p : after.result.candidates[s].pieces) got.insert(p.item);
    for (const auto& p : fresh.result.candidates[s].pieces) want.insert(p.item);
    EXPECT_FALSE(got.contains(doomed));
    EXPECT_EQ(got, want) << "slot " << catalog::slot_name(after.result.slots[s]);
  }
  for (const auto& outfit : after.result.outfits) {
    for (const auto& p : outfit.pieces) EXPECT_NE(p.item, doomed);
  }
  // The recommender it was made from still has the item: a request in flight keeps its answer.
  EXPECT_NE(rec->graph().item(doomed), nullptr);
  std::filesystem::remove_all(dir);
}

// An item added in place (Completer::over with the edit): its colour features and views are computed
// at once and laid over the loaded ones, so it is proposed as a fresh open after the edit proposes it;
// the loaded table is shared, not copied.
TEST(CompleteInPlaceTest, AnAddedItemIsProposedAsAFreshOpenProposesIt) {
  const auto dir = editable_compat_workspace("in-place-add");
  if (dir.empty()) GTEST_SKIP() << "MANGO data set not found under MYSTYLE_DATASETS";
  const engine::Workspace ws(dir);
  std::shared_ptr<engine::Recommender> rec = engine::Recommender::open(ws, engine::RecommenderConfig{});
  const auto completer = engine::Completer::open(ws, *rec);

  // Two items added one edit at a time (a layer over a layer), with photos no item has: shoes and a bag.
  const std::vector<std::filesystem::path> photos = unused_mango_photos(*rec);
  ASSERT_GE(photos.size(), 5u);
  std::shared_ptr<engine::Recommender> edited = rec;
  std::unique_ptr<engine::Completer> over;
  std::vector<std::int64_t> added_ids;
  const std::pair<const char*, catalog::Slot> kinds[] = {{"Shoes", catalog::Slot::kShoes}, {"Bags", catalog::Slot::kBag}};
  for (std::size_t i = 0; i < 2; ++i) {
    catalog::Item item;
    item.source = "admin";
    item.source_id = fmt::format("in-place-add-{}", i);
    item.category = "Accesories, Swim and Intimate";
    item.type = kinds[i].first;
    item.slot = kinds[i].second;
    const auto added = engine::add_item_with_photo(ws, item, read_file_bytes(photos[i]));
    engine::RecommenderEdits edits;
    edits.added = {added.item};
    edits.vectors = added.vectors.item;
    edits.view_vectors = added.vectors.views;
    edited = edited->with_edits(edits);
    over = (over ? *over : *completer).over(*edited, edits);
    EXPECT_EQ(over->items_computed(), 1u) << "only the added item is embedded";
    added_ids.push_back(added.item.id);
  }

  std::shared_ptr<engine::Recommender> reopened = engine::Recommender::open(ws, engine::RecommenderConfig{});
  const auto fresh = engine::Completer::open(ws, *reopened);
  ASSERT_EQ(over->table().size(), fresh->table().size());
  for (const std::int64_t id : added_ids) {
    ASSERT_TRUE(over->table().has(id));
    EXPECT_EQ(over->table().slot(id), fresh->table().slot(id));
    float worst = 0;
    for (const auto other : catalog::kAllSlots) {
      const float* a = over->table().view(id, other);
      const float* b = fresh->table().view(id, other);
      ASSERT_NE(a, nullptr);
      ASSERT_NE(b, nullptr);
      for (int k = 0; k < fresh->table().dim(); ++k) worst = std::max(worst, std::abs(a[k] - b[k]));
    }
    EXPECT_LT(worst, 1e-4f) << "item " << id;
    EXPECT_NEAR(over->table().score(added_ids[0], added_ids[1]), fresh->table().score(added_ids[0], added_ids[1]),
                1e-4f);
  }
  // The per-slot candidates for photos of other slots: what a fresh open proposes, the new shoes and
  // bag included where it has them.
  engine::CompleteRequest request;
  request.per_slot = engine::CompleteRequest::kMaxPerSlot;
  request.outfits = 0;
  std::size_t proposed = 0;
  for (std::size_t q = 0; q < 3; ++q) {
    const std::string bytes = read_file_bytes(photos[2 + q]);
    const auto span = std::span(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
    const auto got = over->complete(span, "photo", request);
    const auto want = fresh->complete(span, "photo", request);
    ASSERT_EQ(got.result.slots, want.result.slots);
    for (std::size_t s = 0; s < got.result.candidates.size(); ++s) {
      std::set<std::int64_t> a, b;
      for (const auto& p : got.result.candidates[s].pieces) a.insert(p.item);
      for (const auto& p : want.result.candidates[s].pieces) b.insert(p.item);
      EXPECT_EQ(a, b) << "photo " << q << ", slot " << catalog::slot_name(got.result.slots[s]);
      for (const std::int64_t id : added_ids) proposed += a.contains(id);
    }
  }
  EXPECT_GT(proposed, 0u) << "the added shoes or bag are among the candidates somewhere";
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace mystyle::server
