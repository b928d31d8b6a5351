# cmake --install build --prefix P: P/bin/qtune, P/lib/libqtune_*.a,
# P/include/qtune/*.h and P/lib/cmake/qtune/ (find_package(qtune CONFIG),
# target qtune::qtune). Nothing installed names a path of this build.
include(CMakePackageConfigHelpers)
set(QTUNE_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/qtune)

install(TARGETS qtune RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(DIRECTORY include/qtune DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} FILES_MATCHING PATTERN "*.h")
install(EXPORT qtuneTargets NAMESPACE qtune:: DESTINATION ${QTUNE_CMAKE_DIR})

configure_package_config_file(cmake/qtuneConfig.cmake.in
  ${CMAKE_CURRENT_BINARY_DIR}/qtuneConfig.cmake INSTALL_DESTINATION ${QTUNE_CMAKE_DIR})
# SameMajorVersion: include/qtune/version.h promises source compatibility
# within a major version.
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/qtuneConfigVersion.cmake
  COMPATIBILITY SameMajorVersion)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/qtuneConfig.cmake
  ${CMAKE_CURRENT_BINARY_DIR}/qtuneConfigVersion.cmake cmake/qtuneDependencies.cmake
  DESTINATION ${QTUNE_CMAKE_DIR})

# cpack -G DEB in build/: a Debian package of the same tree (under /usr).
# Depends: the runtime libraries of bin/qtune (dpkg-shlibdeps) and the -dev
# packages whose CMake files and libraries qtuneConfig.cmake finds, since the
# static libraries link them (scripts/deps.sh installs the same ones).
set(CPACK_PACKAGE_NAME qtune)
set(CPACK_PACKAGE_CONTACT "qtune maintainers")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
  "Accuracy-driven post-training INT8 quantization for CPU inference (CLI and C++ package)")
set(CPACK_DEBIAN_PACKAGE_SECTION devel)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(qtune_deb_depends "g++, cmake, libdnnl-dev, ocl-icd-opencl-dev, libonnx-dev, libprotobuf-dev,"
  " libyaml-cpp-dev, nlohmann-json3-dev, libfmt-dev, zlib1g-dev, libpng-dev, libturbojpeg0-dev,"
  " libsnappy-dev")
if(QTUNE_WITH_MPI)
  string(APPEND qtune_deb_depends ", libopenmpi-dev")
endif()
string(REPLACE ";" "" CPACK_DEBIAN_PACKAGE_DEPENDS "${qtune_deb_depends}")
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
include(CPack)
