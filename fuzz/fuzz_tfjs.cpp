// TF.js graph model: model.json (topology + weightsManifest), with one fixed
// 4 KiB shard `group1-shard1of1.bin` beside it, read and imported.
#include "frontends/tensorflow/tf_import.h"
#include "frontends/tensorflow/tf_source.h"
#include "fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  using namespace qtune::fuzz;
  static const fs::path shard = write_scratch("group1-shard1of1.bin", std::string(4096, '\x01'));
  fs::path json = write_scratch("model.json", as_view(data, size));
  return expect_clean([&] { qtune::tf::import_graph(qtune::tf::read_tfjs(json.string())); });
}
