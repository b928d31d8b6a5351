// TFRecord framing (lengths, masked CRCs) and every record as a tf.Example of
// the object-detection form (encoded image, boxes, labels).
#include "data/od_example.h"
#include "data/tfrecord.h"
#include "fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  using namespace qtune::fuzz;
  small_image_limit();
  fs::path file = write_scratch("data.record", as_view(data, size));
  return expect_clean([&] {
    qtune::data::TFRecordReader reader(file.string());
    std::string record;
    for (int i = 0; i < 64 && reader.next(record); ++i)
      expect_clean([&] { qtune::data::parse_od_example(record, "data.record: record"); });
  });
}
