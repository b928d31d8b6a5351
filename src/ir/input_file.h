#pragma once
// Every file qtune reads on a user's behalf (models, external data, inputs,
// images, annotations, records, configs) is checked here first: opening a FIFO
// blocks forever and a directory "opens" and reads as nothing, so both are
// refused with a message that says so.
#include <fstream>
#include <string>
#include <string_view>

namespace qtune {

// Throws InputError "<path>: <what> is a directory" or "<path>: <what> is not a
// regular file (a FIFO ...)". A path that does not exist passes, so the caller's
// own "cannot open" / "not found" message stays.
void require_regular_file(const std::string &path, std::string_view what = "file");

// `relative` resolved inside `dir`, for files a model names by path (ONNX
// external data, TF.js weight shards, a checkpoint's state file): a
// downloaded model must not read /etc/passwd or ../../secrets. Throws
// InputError "<where>: <what> '<relative>' is an absolute path ..." or
// "... points outside the model's folder '<dir>'" (after `..` and symlinks
// are resolved).
std::string confined_path(const std::string &dir, const std::string &relative,
                          const std::string &where, std::string_view what);

// require_regular_file, then an ifstream (binary unless `mode` says otherwise).
std::ifstream open_input_file(const std::string &path, std::string_view what = "file",
                              std::ios::openmode mode = std::ios::binary);

} // namespace qtune
