#include "json_views.h"

#include "mystyle/engine/recommender.h"

#include <fmt/format.h>

namespace mystyle::server {


nlohmann::json outfit_json(const catalog::Outfit& outfit, const recommend::OutfitGraph& graph) {
  nlohmann::json pieces = nlohmann::json::array();
  for (const auto& member : outfit.members) {
    const catalog::Item* item = graph.item(member.item_id);
    if (item == nullptr) continue;
    nlohmann::json piece = item_json(*item);
    piece["outfit_slot"] = catalog::slot_name(member.slot);
    pieces.push_back(std::move(piece));
  }
  const bool has_photo = outfit.photo_path.has_value();
  return {{"outfit_id", outfit.id},
          {"source", outfit.source},
          {"source_id", outfit.source_id},
          {"has_photo", has_photo},
          {"photo_url", has_photo ? nlohmann::json(fmt::format("/images/outfits/{}", outfit.id))
                                  : nlohmann::json(nullptr)},
          {"pieces", std::move(pieces)}};
}

}  // namespace mystyle::server
