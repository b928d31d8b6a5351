#pragma once
// Errors are exceptions carrying context (file, place, problem); the CLI catches
// them once and prints e.what() as a single line.
#include <stdexcept>
#include <string>

namespace qtune {

class Error : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

// Thrown for user input we cannot accept (malformed model, YAML, image ...).
class InputError : public Error {
public:
  using Error::Error;
};

// An op, attribute or dtype combination we do not implement.
class UnsupportedError : public Error {
public:
  using Error::Error;
};

} // namespace qtune
