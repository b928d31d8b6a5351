// The C++ API in one page: tune a model with your own calibration batches and
// your own accuracy function (the seed's `Quantization(conf)(model, q_dataloader,
// eval_func)`).
//
//   build-api/tune_fashion_mnist examples/fashion_mnist/fashion_mnist.yaml \
//       examples/fashion_mnist/fashion_mnist_cnn.onnx
#include <cstdio>
#include <stdexcept>
#include <string>
#include <vector>
#include <zlib.h>

#include "qtune/qtune.h"

namespace {

// Reads an IDX file (gzip-compressed, as Debian ships Fashion-MNIST).
std::vector<uint8_t> read_idx_gz(const std::string &path, size_t header_bytes) {
  gzFile f = gzopen(path.c_str(), "rb");
  if (!f)
    throw std::runtime_error(path + ": cannot open");
  std::vector<uint8_t> all;
  uint8_t buf[1 << 16];
  int n;
  while ((n = gzread(f, buf, sizeof(buf))) > 0)
    all.insert(all.end(), buf, buf + n);
  gzclose(f);
  if (all.size() < header_bytes)
    throw std::runtime_error(path + ": truncated");
  return {all.begin() + static_cast<long>(header_bytes), all.end()};
}

// Images [first, first+count) as a float batch [count,1,28,28] scaled to 0..1.
qtune::Tensor image_batch(const std::vector<uint8_t> &pixels, size_t first, size_t count) {
  qtune::Tensor t(qtune::DType::f32, {static_cast<int64_t>(count), 1, 28, 28});
  float *out = t.data<float>();
  for (size_t i = 0; i < count * 784; ++i)
    out[i] = pixels[first * 784 + i] / 255.0f;
  return t;
}

} // namespace

int main(int argc, char **argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s CONFIG.yaml MODEL.onnx [OUTPUT.onnx]\n", argv[0]);
    return 2;
  }
  const std::string dir = "/usr/share/datasets/fashion-mnist/";
  try {
    auto train = read_idx_gz(dir + "train-images-idx3-ubyte.gz", 16);
    auto test = read_idx_gz(dir + "t10k-images-idx3-ubyte.gz", 16);
    auto labels = read_idx_gz(dir + "t10k-labels-idx1-ubyte.gz", 8);

    // Calibration: 8 batches of 32 training images.
    qtune::CallbackDataLoader calib([&](size_t i) -> std::optional<qtune::Batch> {
      if (i >= 8)
        return std::nullopt;
      return qtune::Batch{{"image", image_batch(train, i * 32, 32)}};
    });

    // Accuracy: top-1 on the first 2000 test images, computed by us.
    qtune::EvalFunc top1 = [&](qtune::Model &m) {
      int correct = 0;
      for (size_t b = 0; b < 2000; b += 100) {
        auto out = m.run({{"image", image_batch(test, b, 100)}});
        const float *logits = out[0].data<float>();
        for (size_t i = 0; i < 100; ++i) {
          int best = 0;
          for (int c = 1; c < 10; ++c)
            if (logits[i * 10 + c] > logits[i * 10 + best])
              best = c;
          correct += best == labels[b + i];
        }
      }
      return correct / 2000.0;
    };

    qtune::Quantization q(argv[1]);
    if (argc > 3)
      q.set_output(argv[3]);
    qtune::Model fp32(argv[2]);
    qtune::Model best = q(fp32, calib, top1);

    const qtune::TuneSummary &s = q.summary();
    std::printf("FP32 top-1 %.4f -> INT8 top-1 %.4f (goal %s), ops int8/fp32 %d/%d, "
                "%lld trials, latency %.3f -> %.3f ms\nsaved %s\n",
                s.baseline_accuracy, s.best_accuracy, s.goal_met ? "met" : "not met", s.ops_int8,
                s.ops_fp32, static_cast<long long>(s.trials), s.baseline_latency_ms,
                s.best_latency_ms, s.output.c_str());
    // The returned model is ready to run.
    std::printf("re-check of the returned model: top-1 %.4f\n", top1(best));
    return s.goal_met ? 0 : 3;
  } catch (const std::exception &e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
