#pragma once
// COCO's 80 detection category names by category id (1..90), for labelling
// detections when no dataset with its own category list is at hand.
#include <cstdint>
#include <string>

namespace qtune::data {

// "dog" for 18; "" for ids COCO does not use.
std::string coco_category_name(int64_t id);

} // namespace qtune::data
