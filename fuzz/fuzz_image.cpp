// JPEG (libjpeg-turbo) and PNG (libpng) decoding with our header limits and
// corrupt-data checks.
#include "data/image_decode.h"
#include "fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  using namespace qtune::fuzz;
  small_image_limit();
  return expect_clean([&] { qtune::data::decode_image(as_view(data, size), "image"); });
}
