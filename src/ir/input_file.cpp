#include "ir/input_file.h"

#include <fmt/format.h>
#include <sys/stat.h>

#include "qtune/error.h"

namespace qtune {

namespace {
const char *kind_of(mode_t mode) {
  if (S_ISFIFO(mode))
    return "a FIFO";
  if (S_ISSOCK(mode))
    return "a socket";
  if (S_ISCHR(mode) || S_ISBLK(mode))
    return "a device";
  return "a special file";
}
} // namespace

void require_regular_file(const std::string &path, std::string_view what) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0)
    return;
  if (S_ISDIR(st.st_mode))
    throw InputError(fmt::format("{}: {} is a directory, not a file", path, what));
  if (!S_ISREG(st.st_mode))
    throw InputError(
        fmt::format("{}: {} is not a regular file ({})", path, what, kind_of(st.st_mode)));
}

std::ifstream open_input_file(const std::string &path, std::string_view what,
                              std::ios::openmode mode) {
  require_regular_file(path, what);
  return std::ifstream(path, mode);
}

} // namespace qtune
