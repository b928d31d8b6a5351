#include "data/dataset_convert.h"

#include <filesystem>

#include "data/dataset.h"
#include "data/image_decode.h"
#include "data/od_example.h"
#include "data/tfrecord.h"

namespace qtune::data {

ConvertStats convert_coco_to_tfrecord(const std::string &annotations_json,
                                      const std::string &image_dir, const std::string &out_path) {
  CocoRawDataset ds(annotations_json, image_dir);
  TFRecordWriter writer(out_path);
  ConvertStats stats;
  for (size_t i = 0; i < ds.size(); ++i) {
    Sample s = ds.get(i);
    s.format = is_png(s.encoded) ? "png" : "jpeg";
    // A truncated or corrupt image would be copied into the record as is and
    // only fail (or decode grey) at evaluation: decode it once here.
    (void)decode_image(s.encoded, s.name);
    writer.write(make_od_example(s, std::filesystem::path(s.name).filename().string()));
    ++stats.images;
    stats.objects += s.truth.boxes.size();
  }
  writer.close();
  return stats;
}

} // namespace qtune::data
