#pragma once
// Model inputs from files, as `qtune run --input NAME=FILE` reads them: raw
// little-endian values of the input's dtype (.f32, .u8 ...; the extension must
// agree) or a JPEG / PNG for an image-shaped input.
#include <string>

#include "ir/graph.h"

namespace qtune::data {

// FILE for input `vi`: an image when it is a JPEG or PNG (RGB 0..255, resized
// to the input's H x W when fixed), else raw values whose shape is `shape_arg`
// ("1x256x256x3") when given, else the declared dims with at most one unknown
// dim, which the file size decides. Errors name the file and the input.
Tensor read_model_input(const ValueInfo &vi, const std::string &file,
                        const std::string &shape_arg = "");

} // namespace qtune::data
