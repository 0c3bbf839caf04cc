// Writes the fuzz targets' seed corpora (tests/data/fuzz/corpus/<target>/): small real files, made by the
// project's own writers (model, index, embeddings, feature cache, compat model) or cut from the
// shared data sets (a few MANGO and AI-Hub CSV lines, one MANGO photo shrunk to a thumbnail).
//   make_fuzz_seeds OUT_DIR DATASETS_DIR        (`./run fuzz --make-seeds` runs it)
// Deterministic: the same data sets give the same bytes, so regenerated seeds diff cleanly, except
// the feature cache's key (it hashes the scratch photo's path and time; the fuzz target replaces it).
#include <fmt/format.h>
#include <zlib.h>

#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <set>
#include <vector>

#include "fuzz_support.h"
#include "mystyle/catalog/catalog.h"
#include "mystyle/core/csv_reader.h"
#include "mystyle/engine/compat_model.h"
#include "mystyle/engine/embeddings.h"
#include "mystyle/engine/simple_features.h"
#include "mystyle/image/decode.h"
#include "mystyle/index/exact_index.h"
#include "mystyle/index/faiss_index.h"
#include "mystyle/index/index_io.h"
#include "mystyle/nn/model_file.h"
#include "mystyle/nn/model_spec.h"

namespace fs = std::filesystem;
using namespace mystyle;

namespace {

fs::path out_root;

void put(const std::string& target, const std::string& name, std::string_view bytes) {
  const fs::path dir = out_root / target;
  fs::create_directories(dir);
  fuzz::write_file(dir / name, bytes);
}

std::string encode(const cv::Mat& rgb, const std::string& ext, std::vector<int> params = {}) {
  cv::Mat bgr;
  if (rgb.channels() == 3) {
    cv::cvtColor(rgb, bgr, cv::COLOR_RGB2BGR);
  } else {
    bgr = rgb;
  }
  std::vector<std::uint8_t> bytes;
  if (!cv::imencode(ext, bgr, bytes, params)) throw Error("cannot encode " + ext);
  return {bytes.begin(), bytes.end()};
}

// A JPEG with an APP1 Exif segment holding orientation `orientation` (inserted after SOI).
std::string with_exif_orientation(const std::string& jpeg, std::uint16_t orientation) {
  std::string tiff("II*\0\x08\0\0\0", 8);
  tiff += std::string("\x01\0", 2);                      // one IFD entry
  tiff += std::string("\x12\x01\x03\0\x01\0\0\0", 8);    // tag 0x0112, SHORT, count 1
  tiff += static_cast<char>(orientation);
  tiff += std::string("\0\0\0\0\0\0\0", 7);              // value padding, next IFD = 0
  const std::string body = std::string("Exif\0\0", 6) + tiff;
  const std::size_t length = body.size() + 2;
  std::string segment = "\xFF\xE1";
  segment += static_cast<char>(length >> 8);
  segment += static_cast<char>(length & 0xFF);
  return jpeg.substr(0, 2) + segment + body + jpeg.substr(2);
}

std::vector<std::string> read_lines(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path.string() + ": cannot open (is the data set there?)", ErrorKind::kNotFound);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line + "\n");
  return lines;
}

std::string unquote(std::string s) {
  if (s.size() >= 2 && s.front() == '"') s = s.substr(1, s.size() - 2);
  return s;
}

/// Writes the image targets' seeds; returns the MANGO thumbnail JPEG (the upload in the API's seeds).
std::string image_seeds(const fs::path& datasets) {
  // A real catalog photo, shrunk to a thumbnail: real JPEG statistics in a few hundred bytes.
  const cv::Mat photo = image::read_image(datasets / "mango" / "images" / "2019_53000586_TO.jpg");
  cv::Mat thumb;
  cv::resize(photo, thumb, cv::Size(24, 36), 0, 0, cv::INTER_AREA);
  const std::string jpeg = encode(thumb, ".jpg", {cv::IMWRITE_JPEG_QUALITY, 60});
  cv::Mat drawn(20, 16, CV_8UC3, cv::Scalar(240, 240, 240));
  cv::rectangle(drawn, cv::Rect(4, 3, 8, 14), cv::Scalar(30, 60, 160), cv::FILLED);
  cv::Mat rgba(12, 10, CV_8UC4, cv::Scalar(10, 200, 30, 128));
  cv::Mat gray16(9, 7, CV_16UC1, cv::Scalar(40000));
  const std::string gif("GIF89a\x01\0\x01\0\x80\0\0\xff\xff\xff\0\0\0!\xf9\x04\x01\0\0\0\0,\0\0\0\0\x01\0\x01\0\0\x02\x02\x44\x01\0;",
                        43);
  for (const std::string target : {"image", "upload"}) {
    put(target, "mango_thumb.jpg", jpeg);
    put(target, "mango_thumb_exif6.jpg", with_exif_orientation(jpeg, 6));
    put(target, "drawn.png", encode(drawn, ".png"));
  }
  put("image", "progressive.jpg", encode(drawn, ".jpg", {cv::IMWRITE_JPEG_PROGRESSIVE, 1}));
  put("image", "rgba.png", encode(rgba, ".png"));
  put("image", "gray16.png", encode(gray16, ".png"));
  put("image", "drawn.bmp", encode(drawn, ".bmp"));
  put("image", "drawn.webp", encode(drawn, ".webp", {cv::IMWRITE_WEBP_QUALITY, 50}));
  put("image", "one_pixel.gif", gif);
  return jpeg;
}

std::string gzip(const std::string& bytes) {
  z_stream z{};
  if (deflateInit2(&z, Z_BEST_COMPRESSION, Z_DEFLATED, /*windowBits=gzip*/ 31, 9, Z_DEFAULT_STRATEGY) != Z_OK)
    throw Error("deflateInit2 failed");
  std::string out(deflateBound(&z, bytes.size()), '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(bytes.data()));
  z.avail_in = static_cast<uInt>(bytes.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  const int rc = deflate(&z, Z_FINISH);
  out.resize(z.total_out);
  deflateEnd(&z);
  if (rc != Z_STREAM_END) throw Error("deflate failed");
  return out;
}

/// api_request: whole requests (mode '0'), framed parts ('1') and direct parts ('2'), see
/// api_request_fuzzer.cpp; `jpeg` is the photo they upload.
void request_seeds(const std::string& jpeg) {
  const std::string sep(fuzz::kFileSeparator);
  const std::string boundary = "XyZ";
  const std::string multipart =
      "--" + boundary + "\r\nContent-Disposition: form-data; name=\"k\"\r\n\r\n7\r\n--" + boundary +
      "\r\nContent-Disposition: form-data; name=\"image\"; filename=\"photo.jpg\"\r\n"
      "Content-Type: image/jpeg\r\n\r\n" +
      jpeg + "\r\n--" + boundary + "--\r\n";
  const auto post = [](const std::string& target, const std::string& headers, const std::string& body) {
    return "POST " + target + " HTTP/1.1\r\nHost: localhost\r\n" + headers +
           "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  };
  put("api_request", "raw_items.http",
      "0GET /api/items?category=Tops&slot=bottom&q=Jeans%20Blue&page=2&per_page=10 HTTP/1.1\r\nHost: "
      "localhost\r\n\r\n");
  put("api_request", "raw_recommend_multipart.http",
      "0" + post("/api/recommend?metric=cosine&mode=seed&same_slot=on&outfits=3",
                 "Content-Type: multipart/form-data; boundary=" + boundary + "\r\n", multipart));
  put("api_request", "raw_complete_body.http",
      "0" + post("/api/"
                 "complete?slots=shoes,bag&outfits=3&per_slot=5&slot=bottom&category=Bottoms&name=photo.jpg",
                 "Content-Type: image/jpeg\r\n", jpeg));
  // Bodies that cpp-httplib 0.11 reads past the body limit (3 KB in the target) unless refused
  // before they are read: chunked (five chunks of the photo), without Content-Length, gzip-inflated.
  std::string chunked =
      "0POST /api/recommend?k=3 HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (int i = 0; i < 5; ++i) chunked += fmt::format("{:x}\r\n", jpeg.size()) + jpeg + "\r\n";
  put("api_request", "raw_recommend_chunked.http", chunked + "0\r\n\r\n");
  std::string unsized =
      "0POST /api/recommend HTTP/1.1\r\nHost: localhost\r\nContent-Type: image/jpeg\r\n\r\n";
  for (int i = 0; i < 5; ++i) unsized += jpeg;
  put("api_request", "raw_recommend_no_length.http", unsized);
  put("api_request", "raw_recommend_gzip.http",
      "0" + post("/api/recommend", "Content-Type: image/jpeg\r\nContent-Encoding: gzip\r\n",
                 gzip(std::string(std::size_t{1} << 16, '\0'))));
  put("api_request", "framed_multipart",
      "1k=12&metric=pearson" + sep + "multipart/form-data; boundary=" + boundary + sep + multipart + sep +
          "Connection: close");
  put("api_request", "direct_fields",
      "2k=10&outfits=0&category=Bottoms&page=3" + sep + std::string("image\0a.jpg\0", 12) + jpeg + sep +
          std::string("slots\0\0hat,dress", 16));
  put("api_request", "direct_body", "2name=x.jpg&same_slot=no" + sep + jpeg);
}

void csv_seeds(const fs::path& datasets) {
  const auto products = read_lines(datasets / "mango" / "product_data.csv");
  const auto outfit_rows = read_lines(datasets / "mango" / "outfit_data.csv");
  // MANGO: outfit 1 and the products it names.
  std::string outfits = outfit_rows[0];
  std::set<std::string> wanted;
  for (std::size_t i = 1; i < outfit_rows.size() && outfit_rows[i].starts_with("1,"); ++i) {
    outfits += outfit_rows[i];
    std::string id = outfit_rows[i].substr(2);
    id.pop_back();
    wanted.insert(unquote(id));
  }
  std::string product_csv = products[0];
  for (std::size_t i = 1; i < products.size(); ++i) {
    if (wanted.contains(unquote(products[i].substr(0, products[i].find(','))))) product_csv += products[i];
  }
  // The same products in the generic shop format (quoted fields, one item with an image).
  std::string items_csv = "id,name,category,url,family,type,colour,slot,image\n";
  std::string generic_outfits = "outfit_id,item_id,slot,photo\n";
  CsvReader reader(datasets / "mango" / "product_data.csv");
  std::vector<std::string> row;
  reader.read_row(row);
  const CsvHeader h(row, reader.where());
  bool first = true;
  while (reader.read_row(row)) {
    const std::string& id = row[h.require("cod_modelo_color")];
    if (!wanted.contains(id)) continue;
    const std::string& type = row[h.require("des_product_type")];
    items_csv += fmt::format("{},\"{}, {}\",\"{}\",https://shop.example/{},{},{},{},,{}\n", id, type,
                             row[h.require("des_color_specification_esp")], row[h.require("des_product_category")], id,
                             row[h.require("des_product_family")], type, row[h.require("des_agrup_color_eng")],
                             first ? "photos/item.jpg" : "");
    generic_outfits += fmt::format("look-1,{},,{}\n", id, first ? "look.jpg" : "");
    first = false;
  }
  const std::string sep(fuzz::kFileSeparator);
  put("import_mango", "outfit1.csvs", product_csv + sep + outfits);
  put("import_mango", "products_only.csvs", product_csv);
  put("import_csv", "items_and_outfits.csvs", items_csv + sep + generic_outfits);
  put("import_csv", "items_only.csvs", items_csv);

  const auto aihub = read_lines(datasets / "my-style-manager" / "uni_wearing.csv");
  std::string aihub_csv;
  for (std::size_t i = 0; i < 6 && i < aihub.size(); ++i) aihub_csv += aihub[i];
  put("import_aihub", "uni_wearing_head.csv", aihub_csv);

  put("csv_reader", "products_head.csv", products[0] + products[1] + products[2]);
  put("csv_reader", "quoting.csv",
      "\xEF\xBB\xBFid,name,note\r\n1,\"a, b\",\"two\nlines\"\r\n2,\"say \"\"hi\"\"\",\r\n\r\n3,,last");
}

nn::Model tiny_model() {
  return nn::Model(nn::parse_model_spec("model tiny\ninput 3 8\nconv 2 relu\nmaxpool\nbatchnorm\nlatent\n"
                                        "upsample\nconv 3 sigmoid\n"),
                   /*init_seed=*/1);
}

void file_seeds(const fs::path& scratch) {
  nn::Model model = tiny_model();
  nn::save_model(scratch / "tiny.model", model);
  put("model_file", "tiny.model", read_file_bytes(scratch / "tiny.model"));
  nn::Model encoder(nn::parse_model_spec("model enc\ninput 1 4\nlinear 3 relu\nlatent\nl2norm\n"), 2);
  nn::save_model(scratch / "enc.checkpoint", encoder, nn::ModelFileKind::kCheckpoint, "trainer state");
  put("model_file", "encoder.checkpoint", read_file_bytes(scratch / "enc.checkpoint"));

  constexpr std::size_t dim = 4;
  std::vector<std::int64_t> ids;
  std::vector<float> vectors;
  for (int i = 0; i < 12; ++i) {
    ids.push_back(100 + i);
    for (std::size_t d = 0; d < dim; ++d) vectors.push_back(static_cast<float>((i * 7 + int(d) * 3) % 11) - 5.0f);
  }
  index::ExactIndex exact(dim, index::Metric::kCosine);
  exact.add(std::span(ids).first(5), std::span(vectors).first(5 * dim));
  index::save_index(exact, scratch / "exact.index");
  put("index", "exact.index", read_file_bytes(scratch / "exact.index"));
  index::FaissIndex hnsw(dim, index::Metric::kEuclidean, {/*neighbors_per_node=*/4, /*ef_construction=*/8,
                                                         /*ef_search=*/8, /*exact_filter_max=*/2});
  hnsw.add(ids, vectors);
  const std::int64_t removed = 103;
  hnsw.remove(std::span(&removed, 1));
  index::save_index(hnsw, scratch / "hnsw.index");
  put("index", "hnsw.index", read_file_bytes(scratch / "hnsw.index"));

  engine::Embeddings e;
  e.dim = static_cast<int>(dim);
  e.model_hash = 42;
  e.ids.assign(ids.begin(), ids.begin() + 5);
  e.vectors.assign(vectors.begin(), vectors.begin() + 5 * dim);
  engine::save_embeddings(scratch / "emb.bin", e);
  put("embeddings", "five.bin", read_file_bytes(scratch / "emb.bin"));
  // The same with an edit log: one row removed, one replaced, one added.
  engine::EmbeddingEdits edits;
  edits.removed = {ids[1]};
  edits.put_ids = {ids[2], 999};
  edits.put_vectors.assign(vectors.begin() + 6 * dim, vectors.begin() + 8 * dim);
  engine::append_embedding_edits(scratch / "emb.bin", edits);
  put("embeddings", "five-with-log.bin",
      read_file_bytes(scratch / "emb.bin") + read_file_bytes(engine::edit_log_file(scratch / "emb.bin")));

  // The feature cache of one item with a photo.
  cv::Mat drawn(20, 16, CV_8UC3, cv::Scalar(240, 240, 240));
  cv::rectangle(drawn, cv::Rect(4, 3, 8, 14), cv::Scalar(160, 60, 30), cv::FILLED);
  cv::imwrite((scratch / "item.png").string(), drawn);
  catalog::Item item;
  item.id = 7;
  item.image_path = (scratch / "item.png").string();
  (void)engine::load_simple_features(scratch / "features", std::span(&item, 1), 1);
  for (const auto& entry : fs::directory_iterator(scratch / "features" / "cache")) {
    put("simple_features", "one_item.bin", read_file_bytes(entry.path()));
  }

  // The compat model: a small network of the shape train_compat makes, and its description.
  constexpr int style_dim = 4, colour_dim = image::kColourDim + image::kHsvDim;
  engine::CompatModel compat(
      nn::Model(nn::parse_model_spec(fmt::format("model compat\ninput {} 1\nlinear 2 relu\nlinear 2\nlatent\nl2norm\n",
                                                 style_dim + colour_dim + 2 * engine::kCompatSlots)),
                1),
      style_dim, colour_dim);
  compat.save(scratch / "compat.model", scratch / "compat.json",
              nlohmann::json{{"settings", {{"epochs", 1}}}, {"outfits", 2}});
  const std::string json = read_file_bytes(scratch / "compat.json");
  put("compat", "description.json", json);
  put("compat", "model_and_description", read_file_bytes(scratch / "compat.model") + std::string(fuzz::kFileSeparator) + json);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s OUT_DIR DATASETS_DIR\n", argv[0]);
    return 2;
  }
  try {
    out_root = argv[1];
    const fs::path datasets = argv[2];
    request_seeds(image_seeds(datasets));
    csv_seeds(datasets);
    file_seeds(fuzz::scratch_dir());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "make_fuzz_seeds: %s\n", e.what());
    return 1;
  }
  return 0;
}
