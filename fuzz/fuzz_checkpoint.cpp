// TensorFlow checkpoint: the .index file (a LevelDB table of BundleEntryProtos)
// is the input; a fixed 64 KiB data shard sits beside it so entries reach the
// offset/size/crc checks and the tensor decoding.
#include "frontends/tensorflow/tf_bundle.h"
#include "frontends/tensorflow/tf_table.h"
#include "fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  using namespace qtune::fuzz;
  static const fs::path shard = [] {
    std::string bytes(65536, '\0');
    for (size_t i = 0; i < bytes.size(); ++i)
      bytes[i] = static_cast<char>(i * 131 + 7);
    return write_scratch("ckpt.data-00000-of-00001", bytes);
  }();
  fs::path index = write_scratch("ckpt.index", as_view(data, size));
  expect_clean([&] { qtune::tf::read_table(index.string()); });
  return expect_clean([&] { qtune::tf::read_bundle((scratch_dir() / "ckpt").string()); });
}
