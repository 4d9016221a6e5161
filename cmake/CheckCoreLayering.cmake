# cmake -DROOT=<source dir> -P CheckCoreLayering.cmake
# core/ is the engine: it must build without a window system. Fails if any file under core/
# includes a Qt Widgets (or QCustomPlot) header.
file(GLOB_RECURSE _files "${ROOT}/core/*.h" "${ROOT}/core/*.hpp" "${ROOT}/core/*.cpp" "${ROOT}/core/*.cc")
set(_bad "")
foreach(f IN LISTS _files)
  file(STRINGS "${f}" _hits REGEX "^[ \t]*#[ \t]*include[ \t]*[<\"](QtWidgets|QWidget|QMainWindow|QApplication|QDialog|QAbstractButton|QLayout|qcustomplot)")
  if(_hits)
    list(APPEND _bad "${f}: ${_hits}")
  endif()
endforeach()
if(_bad)
  list(JOIN _bad "\n  " _msg)
  message(FATAL_ERROR "core/ must not include Qt Widgets headers:\n  ${_msg}")
endif()
