# cmud_library(NAME <lib> SOURCES ... [DEPS ...] [TESTS ...])
# Makes target cmud_<lib> with alias cmud::<lib>, public headers under
# include/, and one gtest binary cmud_<lib>_test from the TESTS sources.
function(cmud_library)
  cmake_parse_arguments(ARG "" "NAME" "SOURCES;DEPS;TESTS" ${ARGN})
  set(target cmud_${ARG_NAME})
  add_library(${target} STATIC ${ARG_SOURCES})
  add_library(cmud::${ARG_NAME} ALIAS ${target})
  target_include_directories(${target}
    PUBLIC ${PROJECT_SOURCE_DIR}/include
    PRIVATE ${CMAKE_CURRENT_SOURCE_DIR})
  target_link_libraries(${target} PUBLIC ${ARG_DEPS})
  if(ARG_TESTS AND BUILD_TESTING)
    add_executable(${target}_test ${ARG_TESTS})
    target_include_directories(${target}_test PRIVATE ${CMAKE_CURRENT_SOURCE_DIR})
    target_link_libraries(${target}_test PRIVATE ${target} GTest::gtest_main GTest::gmock)
    gtest_discover_tests(${target}_test DISCOVERY_TIMEOUT 60
      PROPERTIES LABELS ${ARG_NAME})
  endif()
endfunction()

# cmud_fuzz(NAME <harness> SOURCES ... DEPS ...)
# A libFuzzer harness (LLVMFuzzerTestOneInput) with its seed corpus in
# tests/fuzz/corpus/<harness>. With CMUD_FUZZ (clang) it is built as a
# fuzzer, and ctest "fuzz.<harness>" (label fuzz) fuzzes it for
# CMUD_FUZZ_SECONDS on top of the corpus. In every other build it is linked
# with a replay main and ctest "fuzz_replay.<harness>" runs it over the
# corpus once: the harness keeps compiling, and every input that once
# crashed it (kept in the corpus) is a regression test.
function(cmud_fuzz)
  cmake_parse_arguments(ARG "" "NAME" "SOURCES;DEPS" ${ARGN})
  if(NOT BUILD_TESTING)
    return()
  endif()
  set(target fuzz_${ARG_NAME})
  set(corpus ${PROJECT_SOURCE_DIR}/tests/fuzz/corpus/${ARG_NAME})
  add_executable(${target} ${ARG_SOURCES})
  target_include_directories(${target} PRIVATE ${CMAKE_CURRENT_SOURCE_DIR})
  target_link_libraries(${target} PRIVATE ${ARG_DEPS})
  if(CMUD_FUZZ)
    target_link_options(${target} PRIVATE -fsanitize=fuzzer)
    add_test(NAME fuzz.${ARG_NAME}
      COMMAND bash ${PROJECT_SOURCE_DIR}/tests/fuzz/run.sh
              $<TARGET_FILE:${target}> ${corpus} ${CMUD_FUZZ_SECONDS}
              ${CMAKE_BINARY_DIR}/fuzz/${ARG_NAME})
    set_tests_properties(fuzz.${ARG_NAME} PROPERTIES LABELS fuzz
      TIMEOUT 900)
  else()
    target_link_libraries(${target} PRIVATE cmud_fuzz_replay)
    add_test(NAME fuzz_replay.${ARG_NAME} COMMAND ${target} ${corpus})
    set_tests_properties(fuzz_replay.${ARG_NAME} PROPERTIES
      LABELS fuzz_replay TIMEOUT 300)
  endif()
endfunction()
