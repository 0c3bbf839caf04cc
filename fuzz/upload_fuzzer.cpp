// Fuzzes what the server does with an uploaded photo after its HTTP parsing: the bytes go to
// engine::Recommender::recommend (decode with limits, preprocess, encode, search, outfits), then
// to_json with the seen image, exactly as POST /api/recommend does (src/server/api_routes.cpp).
// The HTTP-side parsing (multipart field, query parameters) lives in an anonymous namespace in
// api_routes.cpp and cannot be called from here; the request's parameters are drawn from the
// input's last byte instead, within the ranges the server's parsers accept.
//
// Setup (once per process): a workspace with a four-item catalog whose photos are drawn with
// OpenCV, a small untrained encoder saved with the project's writer, its embeddings.
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "fuzz_support.h"
#include "mystyle/catalog/import.h"
#include "mystyle/engine/embeddings.h"
#include "mystyle/engine/recommender.h"
#include "mystyle/nn/model_file.h"
#include "mystyle/nn/model_spec.h"

using namespace mystyle;

namespace {

std::unique_ptr<engine::Recommender> recommender;

void make_workspace(const std::filesystem::path& root) {
  const auto shop = root.parent_path() / "shop";
  std::filesystem::create_directories(shop);
  const cv::Scalar colours[] = {{200, 30, 30}, {30, 30, 200}, {30, 160, 30}, {20, 20, 20}};
  for (int i = 0; i < 4; ++i) {
    cv::Mat photo(64, 48, CV_8UC3, cv::Scalar(240, 240, 240));
    cv::rectangle(photo, cv::Rect(10 + i, 8, 26, 40 + 3 * i), colours[i], cv::FILLED);
    cv::imwrite((shop / ("item" + std::to_string(i) + ".png")).string(), photo);
  }
  fuzz::write_file(shop / "items.csv",
                   "id,name,category,url,type,image\n"
                   "a,Red top,Tops,https://shop/a,T-Shirt,item0.png\n"
                   "b,Blue jeans,Bottoms,https://shop/b,Jeans,item1.png\n"
                   "c,Green bag,Accessories,https://shop/c,Handbag,item2.png\n"
                   "d,Black shoes,Shoes,https://shop/d,Sandals,item3.png\n");
  fuzz::write_file(shop / "outfits.csv", "outfit_id,item_id\n1,a\n1,b\n1,d\n2,a\n2,c\n");
  catalog::Catalog cat(root);
  catalog::import_csv(cat, shop / "items.csv", shop / "outfits.csv");

  const engine::Workspace ws(root);
  nn::Model model(nn::parse_model_spec("model style\ninput 3 32\nconv 4 relu\nmaxpool\nconv 4 relu\nmaxpool\n"
                                       "latent\nl2norm\n"),
                  /*init_seed=*/1);
  nn::save_model(ws.model_file("style"), model);
  engine::embed_catalog(ws, "style", nn::LatentPooling::kFlat, /*threads=*/1);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  const auto root = fuzz::scratch_dir() / "workspace";
  make_workspace(root);
  engine::RecommenderConfig config;
  config.model = "style";
  config.use_views = false;
  config.limits = {/*max_bytes=*/std::size_t{1} << 20, /*max_pixels=*/1 << 20};
  recommender = engine::Recommender::open(engine::Workspace(root), config);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::uint8_t knobs = size > 0 ? data[size - 1] : 0;
  engine::RecommendRequest request;
  request.metric = static_cast<index::Metric>(knobs % 3);
  request.k = 1 + (knobs >> 2) % 6;
  request.max_outfits = (knobs >> 4) % 3;
  request.mode = (knobs & 0x40) ? recommend::CoordinationMode::kSeed : recommend::CoordinationMode::kRanked;
  request.same_slot = (knobs & 0x80) != 0;
  if (knobs % 5 == 0) request.category = "Bottoms";
  if (knobs % 7 == 0) request.slot = catalog::kAllSlots[knobs % catalog::kAllSlots.size()];

  fuzz::expect_only_mystyle_errors([&] {
    const engine::RecommendResult result = recommender->recommend({data, size}, "upload", request);
    fuzz::check(result.similar.size() <= request.k, "more similar items than k");
    const std::string json = recommender->to_json(result, request, /*include_seen_image=*/true)
                                 .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    fuzz::check(!json.empty(), "empty JSON answer");
  });
  return 0;
}
