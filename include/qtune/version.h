#pragma once
/// @file
/// qtune's version, the one place it is written (CMakeLists.txt reads it for
/// the project and package version). The C++ API follows semantic versioning:
/// a new major version may break source compatibility, a new minor version
/// only adds, a patch version only fixes. find_package(qtune 0.1 CONFIG)
/// accepts 0.1 and any later 0.x.

/// Major version: incompatible API changes.
#define QTUNE_VERSION_MAJOR 0
/// Minor version: additions that keep existing code compiling.
#define QTUNE_VERSION_MINOR 1
/// Patch version: fixes only.
#define QTUNE_VERSION_PATCH 0
/// "MAJOR.MINOR.PATCH".
#define QTUNE_VERSION_STRING "0.1.0"

namespace qtune {

/// The version of the library the program runs with ("MAJOR.MINOR.PATCH"),
/// which may differ from QTUNE_VERSION_STRING, the headers' version.
const char *version();

} // namespace qtune
