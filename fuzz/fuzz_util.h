#pragma once
// Shared by the libFuzzer targets: parsers that take a path get the fuzz input
// written into a private scratch folder first; a qtune::Error is the expected
// answer to bad bytes, anything else escaping (std::out_of_range, bad_alloc,
// a signal, a sanitizer report) is a finding.
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <unistd.h>

#include "qtune/error.h"

namespace qtune::fuzz {

namespace fs = std::filesystem;

// /tmp/qtune-fuzz-<pid>/, removed when the process ends normally.
inline const fs::path &scratch_dir() {
  static const fs::path dir = [] {
    fs::path d = fs::temp_directory_path() / ("qtune-fuzz-" + std::to_string(getpid()));
    fs::create_directories(d);
    std::atexit([] {
      std::error_code ec;
      fs::remove_all(scratch_dir(), ec);
    });
    return d;
  }();
  return dir;
}

inline fs::path write_scratch(const std::string &name, std::string_view bytes) {
  fs::path p = scratch_dir() / name;
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  return p;
}

inline std::string_view as_view(const uint8_t *data, size_t size) {
  return {reinterpret_cast<const char *>(data), size};
}

// Runs `parse`; a qtune::Error is a correct rejection.
template <class F> int expect_clean(F &&parse) {
  try {
    parse();
  } catch (const qtune::Error &) {
  }
  return 0;
}

// Image limits small enough that a lying header costs milliseconds, not the
// default 100-megapixel budget per input.
inline void small_image_limit() {
  setenv("QTUNE_MAX_IMAGE_PIXELS", "4000000", 1);
}

} // namespace qtune::fuzz
