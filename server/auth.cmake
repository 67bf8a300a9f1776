# Connection tokens (sc_jwt) and channel permissions (sc_acl), a library of
# their own so the node and the unit tests link the same code. Included from
# server/CMakeLists.txt; depends only on jansson, OpenSSL's libcrypto and
# shard/'s base64.
find_package(OpenSSL 3.0 REQUIRED)
add_library(sc_auth STATIC
  ${CMAKE_CURRENT_LIST_DIR}/sc_jwt.c
  ${CMAKE_CURRENT_LIST_DIR}/sc_acl.c)
target_include_directories(sc_auth PUBLIC ${CMAKE_CURRENT_LIST_DIR})
# Deprecated OpenSSL calls must fail the build, not just warn.
target_compile_definitions(sc_auth PRIVATE OPENSSL_API_COMPAT=30000 OPENSSL_NO_DEPRECATED)
target_link_libraries(sc_auth PUBLIC sc_base64 sc_file PkgConfig::JANSSON OpenSSL::Crypto)
