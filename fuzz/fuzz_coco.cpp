// COCO annotations JSON (images, categories, annotations, polygons and RLEs).
#include "data/coco.h"
#include "fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  using namespace qtune::fuzz;
  return expect_clean([&] {
    qtune::coco::Dataset d = qtune::coco::parse_coco(as_view(data, size), "gt.json");
    d.build_index();
  });
}
