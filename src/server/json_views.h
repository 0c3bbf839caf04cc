#pragma once
// Internal to the server: catalog objects as the API's JSON (the same item fields as the engine's
// recommendation document, so the web app renders both with one function).
#include <nlohmann/json.hpp>

#include "mystyle/catalog/catalog.h"
#include "mystyle/engine/recommender.h"
#include "mystyle/recommend/outfit_graph.h"

namespace mystyle::server {

using engine::item_json;  // the engine's item fields, shared with the recommendation document

/// outfit_id, source, source_id, has_photo, photo_url, pieces: [item + outfit_slot] in outfit order.
nlohmann::json outfit_json(const catalog::Outfit& outfit, const recommend::OutfitGraph& graph);

}  // namespace mystyle::server
