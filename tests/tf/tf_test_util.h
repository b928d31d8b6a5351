#pragma once
// Helpers shared by the TensorFlow tests: the variable listings of the data
// folder's index.txt / ops.txt dumps (made with TensorFlow's own tools) and
// error capture.
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>
#include <sstream>
#include <string>
#include <unistd.h>
#include <vector>

#include "../test_util.h"
#include "qtune/error.h"

namespace qtune::test {

struct ListedVariable {
  std::string name, dtype; // dtype as the dump spells it: float, int64 ...
  Shape shape;
};

// The "  name  dtype  [d0, d1]" lines of a dump, starting at the first line equal
// to `section` (or at the top when empty) up to the next "########" section.
inline std::vector<ListedVariable> listed_variables(const std::string &file,
                                                    const std::string &section = "") {
  std::ifstream in(file);
  EXPECT_TRUE(in) << "cannot open " << file;
  std::vector<ListedVariable> out;
  std::string line;
  bool inside = section.empty();
  while (std::getline(in, line)) {
    if (!inside) {
      inside = line == section;
      continue;
    }
    if (!section.empty() && line.rfind("########", 0) == 0)
      break;
    size_t open = line.find('['), close = line.rfind(']');
    if (line.rfind("  ", 0) != 0 || open == std::string::npos || close == std::string::npos)
      continue;
    std::istringstream head(line.substr(0, open));
    ListedVariable v;
    if (!(head >> v.name >> v.dtype))
      continue;
    std::istringstream dims(line.substr(open + 1, close - open - 1));
    std::string d;
    while (std::getline(dims, d, ','))
      if (d.find_first_not_of(' ') != std::string::npos)
        v.shape.push_back(std::stoll(d));
    out.push_back(v);
  }
  return out;
}

// Runs `f`, returns the InputError's message; fails the test when `f` throws
// nothing or another kind, or when the message is not one line.
// QTUNE_TEST_SHOW_ERRORS=1 prints the messages.
template <typename F> std::string input_error(F &&f) {
  try {
    f();
  } catch (const InputError &e) {
    if (std::getenv("QTUNE_TEST_SHOW_ERRORS"))
      std::printf("InputError: %s\n", e.what());
    EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos) << e.what();
    return e.what();
  } catch (const std::exception &e) {
    ADD_FAILURE() << "expected InputError, got: " << e.what();
    return e.what();
  }
  ADD_FAILURE() << "expected InputError, nothing thrown";
  return "";
}

// A fresh, empty directory under the system temp dir (unique per process).
inline std::filesystem::path temp_dir(const std::string &name) {
  auto d = std::filesystem::temp_directory_path() /
           ("qtune_tf_" + name + "_" + std::to_string(getpid()));
  std::filesystem::remove_all(d);
  std::filesystem::create_directories(d);
  return d;
}

inline std::string read_bytes(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), {});
}

inline void write_bytes(const std::string &path, const std::string &bytes) {
  std::ofstream(path, std::ios::binary).write(bytes.data(), std::streamsize(bytes.size()));
}

} // namespace qtune::test
