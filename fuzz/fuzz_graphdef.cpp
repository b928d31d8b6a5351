// TensorFlow frozen GraphDef, binary (.pb), read and imported into our IR.
#include "frontends/tensorflow/tf_import.h"
#include "frontends/tensorflow/tf_source.h"
#include "fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  using namespace qtune::fuzz;
  fs::path pb = write_scratch("graph.pb", as_view(data, size));
  return expect_clean([&] { qtune::tf::import_graph(qtune::tf::read_frozen_graph(pb.string())); });
}
