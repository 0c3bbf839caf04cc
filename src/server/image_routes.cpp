// Pictures: item thumbnails and outfit photos (by catalog id only, never by a path from the
// request), the training report's pictures and the latent-space projection.
#include <fmt/format.h>

#include <charconv>
#include <opencv2/imgcodecs.hpp>
#include <vector>

#include "mystyle/core/error.h"
#include "mystyle/core/file_io.h"
#include "mystyle/engine/embeddings.h"
#include "mystyle/server/latent_plot.h"
#include "routes.h"

namespace mystyle::server {
namespace {

void reply_image(httplib::Response& res, const std::shared_ptr<const std::string>& bytes, const char* type,
                 const char* cache_control) {
  res.set_header("Cache-Control", cache_control);
  // The shared bytes stay alive until the provider has sent them, without a copy.
  res.set_content_provider(bytes->size(), type,
                           [bytes](std::size_t offset, std::size_t length, httplib::DataSink& sink) {
                             return sink.write(bytes->data() + offset, length);
                           });
}

std::shared_ptr<const std::string> latent_space_png(ServerState& state) {
  const auto snap = state.snapshot();
  std::lock_guard lock(state.latent_mutex);  // drawn once per snapshot; concurrent requests wait for it
  if (!state.latent_png || state.latent_generation != snap->generation) {
    const auto& config = snap->recommender->config();
    const auto embeddings = engine::load_embeddings(
        state.workspace.embeddings_file(config.model, engine::pooling_name(config.pooling)));
    const cv::Mat plot = plot_latent_projection(embeddings, snap->recommender->graph());
    std::vector<std::uint8_t> png;
    if (!cv::imencode(".png", plot, png))
      throw Error("could not encode the latent-space plot", ErrorKind::kIo);
    state.latent_png = std::make_shared<const std::string>(png.begin(), png.end());
    state.latent_generation = snap->generation;
  }
  return state.latent_png;
}

}  // namespace

void item_thumbnail(const httplib::Request& req, httplib::Response& res, ServerState& state) {
  const std::int64_t id = id_from_match(req);
  const auto snap = state.snapshot();
  const catalog::Item* item = snap->recommender->graph().item(id);
  if (item == nullptr) throw Error(fmt::format("no item with id {}", id), ErrorKind::kNotFound);
  if (!item->image_path) throw Error(fmt::format("item {} has no photo", id), ErrorKind::kNotFound);
  // Keyed by the photo's path too: an item whose photo changed in a reload gets the new one.
  const auto bytes = state.thumbnails.get_or_make(fmt::format("item/{}/{}", id, *item->image_path), [&] {
    return make_jpeg_thumbnail(*item->image_path, state.options.thumbnail_side_px,
                               snap->recommender->config().limits);
  });
  reply_image(res, bytes, "image/jpeg", "public, max-age=3600");
}

void outfit_photo(const httplib::Request& req, httplib::Response& res, ServerState& state) {
  const std::int64_t id = id_from_match(req);
  const auto snap = state.snapshot();
  const catalog::Outfit* outfit = snap->recommender->graph().outfit(id);
  if (outfit == nullptr) throw Error(fmt::format("no outfit with id {}", id), ErrorKind::kNotFound);
  if (!outfit->photo_path) throw Error(fmt::format("outfit {} has no photo", id), ErrorKind::kNotFound);
  const auto bytes = state.thumbnails.get_or_make(fmt::format("outfit/{}/{}", id, *outfit->photo_path), [&] {
    return make_jpeg_thumbnail(*outfit->photo_path, state.options.outfit_photo_side_px,
                               snap->recommender->config().limits);
  });
  reply_image(res, bytes, "image/jpeg", "public, max-age=3600");
}

void model_image(const httplib::Request& req, httplib::Response& res, ServerState& state) {
  const std::string name = req.matches[1];
  if (!is_model_image(name)) throw Error(fmt::format("no model picture '{}'", name), ErrorKind::kNotFound);
  if (name == "latent_space.png") {
    reply_image(res, latent_space_png(state), "image/png", "no-cache");
    return;
  }
  const auto path = state.workspace.report_dir(state.config.model) / name;
  if (!std::filesystem::exists(path)) {
    throw Error(fmt::format("no {} yet: run `mystyle train` to make the training report", name),
                ErrorKind::kNotFound);
  }
  // Report pictures are small and change when the model is retrained: read them each time.
  reply_image(res, std::make_shared<const std::string>(read_file_bytes(path, std::size_t{32} << 20)),
              "image/png", "no-cache");
}

}  // namespace mystyle::server
