# Every external dependency, with the minimum version the project is tested against.
# All of them come from Debian 12 packages (see packaging/setup-debian.sh).
find_package(Eigen3 3.4 REQUIRED NO_MODULE)
find_package(SQLite3 3.40 REQUIRED)
find_package(OpenSSL 3.0 REQUIRED)
# Cairo (libcairo2-dev) draws the PNG charts core/util writes (plot.h), with fontconfig's fonts
# (fonts-dejavu-core: DejaVu Sans).
find_package(PkgConfig REQUIRED)
pkg_check_modules(CAIRO REQUIRED IMPORTED_TARGET cairo>=1.16)
find_package(nlohmann_json 3.11 REQUIRED)
find_package(CLI11 2.1 REQUIRED)
find_package(Threads REQUIRED)
# ICU (libicu-dev): NFD, case mapping and character categories for BERT's WordPiece tokenizer
# (core/model/wordpiece.cpp).
find_package(ICU 72 REQUIRED COMPONENTS uc)
# libtorch: Debian's libtorch-dev 1.13 (CPU) or the libtorch inside a PyTorch 2.x install
# (configure with -DCMAKE_PREFIX_PATH=$(python3 -c 'import torch;print(torch.utils.cmake_prefix_path)')).
find_package(Torch 1.13 REQUIRED)
# Newer libtorch (PyTorch 2.x) refuses anything before C++20 in its torch/all.h; 1.13 builds as C++17.
find_file(_larimar_torch_all torch/all.h PATHS ${TORCH_INCLUDE_DIRS} NO_DEFAULT_PATH)
if(_larimar_torch_all)
  file(STRINGS "${_larimar_torch_all}" _larimar_torch_cxx20 REGEX "C\\+\\+20 or later")
  if(_larimar_torch_cxx20)
    target_compile_features(larimar_options INTERFACE cxx_std_20)
    message(STATUS "libtorch ${Torch_VERSION} needs C++20: building as C++20")
  endif()
endif()

if(LARIMAR_BUILD_GUI)
  find_package(Qt6 6.4 REQUIRED COMPONENTS Core Gui Widgets PrintSupport Test)
  # Debian's QCustomPlotQt6 package ships no version file; 2.1 is checked from its header below.
  find_package(QCustomPlotQt6 REQUIRED)
  file(STRINGS /usr/include/qcustomplot.h _qcp_version REGEX "define QCUSTOMPLOT_VERSION_STR")
  if(_qcp_version AND NOT _qcp_version MATCHES "\"2\\.[1-9]")
    message(FATAL_ERROR "QCustomPlot 2.1 or newer is needed, found: ${_qcp_version}")
  endif()
endif()
if(LARIMAR_BUILD_TESTS)
  find_package(GTest 1.12 REQUIRED)
  include(GoogleTest)
endif()
if(LARIMAR_BUILD_BENCHMARKS)
  find_package(benchmark 1.7 REQUIRED)
endif()
