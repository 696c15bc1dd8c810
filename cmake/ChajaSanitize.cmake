# CHAJA_SANITIZE / CHAJA_FUZZ: the ASan+UBSan build of Chaja's own code and the libFuzzer targets
# (tests/fuzz). Both need clang; scripts/test and scripts/fuzz configure build-san with them.
#
# The flags are added globally before the libraries are declared, so every Chaja target (the
# libraries, chaja_unit_tests, the fuzz targets) is compiled once with them; third-party code comes
# in as prebuilt Debian libraries and stays uninstrumented. With CHAJA_FUZZ the libraries also get
# coverage instrumentation (-fsanitize=fuzzer-no-link), so the same objects serve both the unit
# tests (the ASan runtime supplies no-op coverage callbacks) and the fuzz targets, which alone link
# libFuzzer's main (-fsanitize=fuzzer).
option(CHAJA_SANITIZE "Compile Chaja's code with AddressSanitizer and UndefinedBehaviorSanitizer" OFF)
option(CHAJA_FUZZ "Also instrument for libFuzzer and build the fuzz targets (tests/fuzz)" OFF)

if(CHAJA_FUZZ AND NOT CHAJA_SANITIZE)
  message(FATAL_ERROR "CHAJA_FUZZ=ON needs CHAJA_SANITIZE=ON (the fuzz targets rely on ASan/UBSan)")
endif()
if((CHAJA_SANITIZE OR CHAJA_FUZZ) AND NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
  message(FATAL_ERROR "CHAJA_SANITIZE and CHAJA_FUZZ need clang: configure with CXX=clang++ "
                      "(got ${CMAKE_CXX_COMPILER_ID})")
endif()

if(CHAJA_SANITIZE)
  # -fno-sanitize-recover: a UBSan report aborts the test, as an ASan report does, instead of
  # printing and carrying on where nobody reads it.
  set(CHAJA_SANITIZE_FLAGS -fsanitize=address,undefined -fno-sanitize-recover=undefined
                           -fno-omit-frame-pointer)
  add_compile_options(${CHAJA_SANITIZE_FLAGS})
  add_link_options(-fsanitize=address,undefined)
endif()
if(CHAJA_FUZZ)
  add_compile_options(-fsanitize=fuzzer-no-link)
endif()

# chaja_fuzz_target(NAME SOURCE): a libFuzzer executable (libFuzzer supplies main).
function(chaja_fuzz_target name source)
  add_executable(${name} ${source})
  target_link_options(${name} PRIVATE -fsanitize=fuzzer)
  chaja_warnings(${name})
endfunction()
