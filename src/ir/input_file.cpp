#include "ir/input_file.h"

#include <algorithm>
#include <filesystem>
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

namespace {
bool is_inside(const std::filesystem::path &inner, const std::filesystem::path &dir) {
  auto [d, i] = std::mismatch(dir.begin(), dir.end(), inner.begin(), inner.end());
  return d == dir.end() && i != inner.end();
}
} // namespace

std::string confined_path(const std::string &dir, const std::string &relative,
                          const std::string &where, std::string_view what) {
  namespace fs = std::filesystem;
  fs::path rel(relative);
  if (rel.is_absolute())
    throw InputError(fmt::format("{}: {} '{}' is an absolute path; it must be relative to the "
                                 "model's folder",
                                 where, what, relative));
  fs::path base = dir.empty() ? fs::path(".") : fs::path(dir);
  std::error_code ec_dir, ec_file;
  fs::path real_dir = fs::canonical(base, ec_dir);
  fs::path real_file = fs::weakly_canonical(base / rel, ec_file);
  if (ec_dir || ec_file || !is_inside(real_file, real_dir))
    throw InputError(fmt::format("{}: {} '{}' points outside the model's folder '{}'", where, what,
                                 relative, real_dir.string()));
  return (base / rel).string();
}

std::ifstream open_input_file(const std::string &path, std::string_view what,
                              std::ios::openmode mode) {
  require_regular_file(path, what);
  return std::ifstream(path, mode);
}

} // namespace qtune
