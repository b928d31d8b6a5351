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

# cpack -G DEB in build/: a Debian package of the same tree.
set(CPACK_PACKAGE_NAME qtune)
set(CPACK_PACKAGE_CONTACT "qtune maintainers")
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
include(CPack)
