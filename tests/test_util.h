#pragma once
// Where tests find ../shared/data: $QTUNE_SHARED_DATA, else the path compiled in
// from the source tree. Missing data is a loud failure, never a silent skip.
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>
#include <string>
#include <vector>

#include "qtune/tensor.h"
#include "tune/benchmark_model.h"

namespace qtune::test {

inline std::string shared_data(const std::string &rel = "") {
  const char *env = std::getenv("QTUNE_SHARED_DATA");
  std::filesystem::path root = env && *env ? env : QTUNE_DEFAULT_SHARED_DATA;
  if (!std::filesystem::exists(root)) {
    ADD_FAILURE() << "shared test data not found at " << root
                  << "; set QTUNE_SHARED_DATA to the shared/data folder";
    throw std::runtime_error("shared data missing");
  }
  return (root / rel).string();
}

// The Fashion-MNIST IDX files Debian's package installs (file names as published:
// "t10k-images-idx3-ubyte.gz" ...).
inline std::string fashion_mnist(const std::string &file = "") {
  return "/usr/share/datasets/fashion-mnist/" + file;
}

inline std::string source_dir(const std::string &rel = "") {
  return (std::filesystem::path(QTUNE_SOURCE_DIR) / rel).string();
}

// f32 tensor of a fixed pseudo-random pattern in [-1, 1) (a linear congruential
// sequence from `seed`): the same values on every platform and run.
inline Tensor random_tensor(Shape shape, uint32_t seed) {
  return tune::lcg_uniform(std::move(shape), seed, -1.f, 1.f);
}

// A whole file of raw little-endian float32 values (empty if it cannot be read).
inline std::vector<float> read_f32_file(const std::filesystem::path &p) {
  std::ifstream f(p, std::ios::binary | std::ios::ate);
  if (!f)
    return {};
  std::vector<float> v(static_cast<size_t>(f.tellg()) / 4);
  f.seekg(0);
  f.read(reinterpret_cast<char *>(v.data()), static_cast<std::streamsize>(v.size() * 4));
  return v;
}

inline std::string qtune_binary() {
  return std::string(QTUNE_BINARY_DIR) + "/qtune";
}

} // namespace qtune::test
