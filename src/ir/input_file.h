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

// require_regular_file, then an ifstream (binary unless `mode` says otherwise).
std::ifstream open_input_file(const std::string &path, std::string_view what = "file",
                              std::ios::openmode mode = std::ios::binary);

} // namespace qtune
