#pragma once
// tf.train.Example in the TensorFlow Object Detection API layout (what
// create_coco_tf_record.py writes): image/encoded, image/format, image/height,
// image/width, image/source_id, image/object/bbox/{xmin,ymin,xmax,ymax}
// (normalized to 0..1), image/object/class/{label,text}, image/object/is_crowd,
// image/object/area. Labels are COCO category ids.
#include <string>
#include <string_view>

#include "data/sample.h"

namespace qtune::data {

// Parses one serialized Example; `where` (e.g. "file.record: record 7") prefixes
// errors such as a missing required feature.
Sample parse_od_example(std::string_view bytes, const std::string &where);

// Serializes a sample (encoded image + boxes in pixels) as an Example.
std::string make_od_example(const Sample &sample, const std::string &filename);

} // namespace qtune::data
