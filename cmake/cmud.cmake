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
