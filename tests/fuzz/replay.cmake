# Replays the seed corpora and the crash regressions of tests/fuzz through
# each fuzz target with a plain main() (fuzz_replay_main.c), so every build
# (gcc RelWithDebInfo and the ASan build alike) runs them:
#   ctest -L fuzz
# Included from tests/CMakeLists.txt. One test per target and directory,
# and the driver reads the directory at run time, so a new regression file
# needs no reconfigure.
include(${CMAKE_CURRENT_LIST_DIR}/targets.cmake)

foreach(t ${SC_FUZZ_TARGETS})
  sc_fuzz_target(fuzz_replay_${t} ${t} ${SC_FUZZ_DIR}/fuzz_replay_main.c)
  foreach(kind corpus regressions)
    if(IS_DIRECTORY ${SC_FUZZ_DIR}/${kind}/${t})
      add_test(NAME fuzz_${kind}_${t}
               COMMAND fuzz_replay_${t} ${SC_FUZZ_DIR}/${kind}/${t})
      set_tests_properties(fuzz_${kind}_${t} PROPERTIES TIMEOUT 120 LABELS fuzz)
    endif()
  endforeach()
endforeach()
