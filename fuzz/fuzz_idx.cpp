// MNIST-style IDX files (plain or gzip). The first byte picks which file of the
// pair is the fuzz input; the other one is a valid one-item file.
#include "data/dataset.h"
#include "fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  using namespace qtune::fuzz;
  if (size == 0)
    return 0;
  static const std::string one_label("\0\0\x08\x01\0\0\0\x01\x05", 9);
  static const std::string one_image =
      std::string("\0\0\x08\x03\0\0\0\x01\0\0\0\x1c\0\0\0\x1c", 16) + std::string(784, '\x80');
  bool fuzz_labels = data[0] & 1;
  std::string_view rest = as_view(data + 1, size - 1);
  fs::path images = write_scratch("images.idx", fuzz_labels ? one_image : rest);
  fs::path labels = write_scratch("labels.idx", fuzz_labels ? rest : one_label);
  return expect_clean([&] {
    qtune::data::MnistDataset d(images.string(), labels.string());
    if (d.size() > 0)
      d.get(d.size() - 1);
  });
}
