#pragma once
// Levenshtein distance, case-insensitive: "did you mean" suggestions for YAML keys
// and op_wise node names.
#include <string>

namespace qtune {

size_t edit_distance_nocase(const std::string &a, const std::string &b);

} // namespace qtune
