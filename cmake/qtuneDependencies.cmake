# System libraries that ship no usable CMake package on Debian 12 (oneDNN's
# needs OpenCL's; libturbojpeg may come with pkg-config only): imported targets
# qtune_dep::<name> from find_library. Included by the build and by the
# installed qtuneConfig.cmake, so the installed package names no build-machine
# path: the consumer's find_library locates them.
foreach(qtune_dep dnnl turbojpeg snappy)
  if(NOT TARGET qtune_dep::${qtune_dep})
    find_library(QTUNE_${qtune_dep}_LIBRARY ${qtune_dep})
    if(NOT QTUNE_${qtune_dep}_LIBRARY)
      set(qtune_dependencies_missing "lib${qtune_dep} (find_library ${qtune_dep})")
      break()
    endif()
    add_library(qtune_dep::${qtune_dep} UNKNOWN IMPORTED)
    set_target_properties(qtune_dep::${qtune_dep} PROPERTIES
      IMPORTED_LOCATION "${QTUNE_${qtune_dep}_LIBRARY}")
  endif()
endforeach()
unset(qtune_dep)
