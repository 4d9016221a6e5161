# One INTERFACE target that carries the language standard, warnings and sanitizers.
# Every project target links larimar_options; nothing sets flags globally.
if(NOT CMAKE_BUILD_TYPE AND NOT CMAKE_CONFIGURATION_TYPES)
  set(CMAKE_BUILD_TYPE Release CACHE STRING "Build type" FORCE)
endif()
set(CMAKE_EXPORT_COMPILE_COMMANDS ON)
set(CMAKE_RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/bin)
set(CMAKE_POSITION_INDEPENDENT_CODE ON)

add_library(larimar_options INTERFACE)
target_compile_features(larimar_options INTERFACE cxx_std_17)
target_compile_options(larimar_options INTERFACE
  $<$<CXX_COMPILER_ID:GNU,Clang>:-Wall -Wextra -Wpedantic -Wno-unused-parameter>
  $<$<AND:$<CXX_COMPILER_ID:GNU,Clang>,$<BOOL:${LARIMAR_WARNINGS_AS_ERRORS}>>:-Werror>)
# Eigen: keep asserts out of Release builds, they cost 2x in the memory hot path.
target_compile_definitions(larimar_options INTERFACE
  $<$<CONFIG:Release,RelWithDebInfo>:EIGEN_NO_DEBUG>
  LARIMAR_VERSION="${PROJECT_VERSION}"
  LARIMAR_SOURCE_DIR="${PROJECT_SOURCE_DIR}")

set(_larimar_sanitizers "")
if(LARIMAR_ENABLE_ASAN)
  list(APPEND _larimar_sanitizers address)
endif()
if(LARIMAR_ENABLE_UBSAN)
  list(APPEND _larimar_sanitizers undefined)
endif()
if(_larimar_sanitizers)
  list(JOIN _larimar_sanitizers "," _larimar_san)
  target_compile_options(larimar_options INTERFACE -fsanitize=${_larimar_san} -fno-omit-frame-pointer)
  target_link_options(larimar_options INTERFACE -fsanitize=${_larimar_san})
endif()

# Debian's hardening (dpkg-buildflags hardening=+all): stack protector, stack clash protection,
# fortified libc calls (needs optimisation, so Release-type builds only), control-flow protection
# where the target has it, full RELRO (relro + now). PIE comes from POSITION_INDEPENDENT_CODE.
# packaging/check-package.sh checks the installed binaries for it.
option(LARIMAR_HARDENING "Build with Debian's hardening flags" ON)
if(LARIMAR_HARDENING AND CMAKE_CXX_COMPILER_ID MATCHES "GNU|Clang")
  include(CheckCXXCompilerFlag)
  include(CheckPIESupported)
  check_pie_supported()
  check_cxx_compiler_flag(-fcf-protection LARIMAR_HAS_CF_PROTECTION)
  target_compile_options(larimar_options INTERFACE
    -fstack-protector-strong -fstack-clash-protection
    $<$<BOOL:${LARIMAR_HAS_CF_PROTECTION}>:-fcf-protection>
    $<$<CONFIG:Release,RelWithDebInfo,MinSizeRel>:-U_FORTIFY_SOURCE -D_FORTIFY_SOURCE=2>)
  target_link_options(larimar_options INTERFACE LINKER:-z,relro LINKER:-z,now)
endif()
