// ONNX model bytes, with a 4 KiB `w.bin` beside the model so inputs that name
// external data reach the offset/length/confinement checks.
#include "frontends/onnx/onnx_import.h"
#include "fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  using namespace qtune::fuzz;
  static const fs::path weights = write_scratch("w.bin", std::string(4096, '\x3f'));
  fs::path model = write_scratch("model.onnx", as_view(data, size));
  return expect_clean([&] { qtune::load_onnx(model.string()); });
}
