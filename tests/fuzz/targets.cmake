# The fuzz targets and what each is built from, shared by CMakeLists.txt
# (libFuzzer builds) and replay.cmake (plain builds replaying the corpora).
set(SC_FUZZ_TARGETS request json delivery config shardmap base64 redis_url handshake)
set(SC_FUZZ_DIR ${CMAKE_CURRENT_LIST_DIR})

# sc_fuzz_target(<exe> <target>): the executable <exe> built from
# fuzz_<target>.c, linked with the library that target exercises.
function(sc_fuzz_target exe target)
  set(srcs ${SC_FUZZ_DIR}/fuzz_${target}.c ${SC_FUZZ_DIR}/fuzz_util.c)
  if(target STREQUAL "shardmap")
    # sc_shard alone: the shard map must stay fuzzable without lws/Redis.
    set(libs sc_shard)
  elseif(target STREQUAL "base64" OR target STREQUAL "redis_url")
    # shard/'s small shared libraries, alone.
    set(libs sc_${target})
  else()
    # sc_shard too: the config target checks shard identities against it.
    set(libs sc_node sc_shard)
  endif()
  if(target STREQUAL "request" OR target STREQUAL "delivery")
    list(APPEND srcs ${SC_FUZZ_DIR}/fuzz_msg.c)
  endif()
  add_executable(${exe} ${srcs} ${ARGN})
  target_include_directories(${exe} PRIVATE ${SC_FUZZ_DIR})
  # The targets decode what the code under test produced with jansson.
  target_link_libraries(${exe} PRIVATE ${libs} PkgConfig::JANSSON)
endfunction()
