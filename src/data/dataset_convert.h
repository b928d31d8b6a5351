#pragma once
// `qtune dataset convert`: COCO annotations + images -> TFRecord of Object
// Detection API Examples (what TensorFlow's create_coco_tf_record.py writes).
#include <cstddef>
#include <string>

namespace qtune::data {

struct ConvertStats {
  size_t images = 0;
  size_t objects = 0;
};

// Writes atomically (temp file + rename). Missing images are errors naming the file.
ConvertStats convert_coco_to_tfrecord(const std::string &annotations_json,
                                      const std::string &image_dir, const std::string &out_path);

} // namespace qtune::data
