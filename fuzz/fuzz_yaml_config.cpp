// LPOT-style YAML tuning configuration (every section, transforms, limits).
#include "fuzz_util.h"
#include "tune/config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  using namespace qtune::fuzz;
  return expect_clean(
      [&] { qtune::tune::parse_config(std::string(as_view(data, size)), "c.yaml"); });
}
