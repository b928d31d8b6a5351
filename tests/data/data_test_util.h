#pragma once
// Helpers shared by the data tests: scratch folders and catching the message of
// an expected InputError.
#include <filesystem>
#include <string>
#include <unistd.h>

#include "qtune/error.h"

namespace qtune::test {

// A fresh, empty folder under the system temp dir, unique to this process.
inline std::filesystem::path scratch_dir(const std::string &name) {
  std::filesystem::path p = std::filesystem::temp_directory_path() /
                            ("qtune_data_" + std::to_string(::getpid()) + "_" + name);
  std::filesystem::remove_all(p);
  std::filesystem::create_directories(p);
  return p;
}

// The message of the InputError `f` throws, or "(no error)".
template <typename F> std::string input_error_of(F &&f) {
  try {
    f();
  } catch (const qtune::InputError &e) {
    return e.what();
  }
  return "(no error)";
}

} // namespace qtune::test
