# The stratum server (included by frontend/CMakeLists.txt).

# What each request becomes (server/request_dispatch.hpp), in a library of its own so that
# the fuzz target links the session's decisions without Boost.Asio, spdlog or hiredis.
add_library(sharegate_dispatch STATIC ${CMAKE_CURRENT_LIST_DIR}/request_dispatch.cpp)
target_include_directories(sharegate_dispatch PUBLIC ${CMAKE_CURRENT_SOURCE_DIR})
target_link_libraries(sharegate_dispatch PUBLIC sharegate_protocol sharegate_core PRIVATE sharegate_warnings)

add_library(sharegate_server STATIC
  ${CMAKE_CURRENT_LIST_DIR}/admin_endpoint.cpp
  ${CMAKE_CURRENT_LIST_DIR}/admission.cpp
  ${CMAKE_CURRENT_LIST_DIR}/ban_book.cpp
  ${CMAKE_CURRENT_LIST_DIR}/batcher.cpp
  ${CMAKE_CURRENT_LIST_DIR}/durable_share_store.cpp
  ${CMAKE_CURRENT_LIST_DIR}/getwork_calls.cpp
  ${CMAKE_CURRENT_LIST_DIR}/getwork_door.cpp
  ${CMAKE_CURRENT_LIST_DIR}/http_connection.cpp
  ${CMAKE_CURRENT_LIST_DIR}/inline_verify_queue.cpp
  ${CMAKE_CURRENT_LIST_DIR}/io_threads.cpp
  ${CMAKE_CURRENT_LIST_DIR}/log_format.cpp
  ${CMAKE_CURRENT_LIST_DIR}/options.cpp
  ${CMAKE_CURRENT_LIST_DIR}/proxy_handshake.cpp
  ${CMAKE_CURRENT_LIST_DIR}/reply_queue.cpp
  ${CMAKE_CURRENT_LIST_DIR}/server.cpp
  ${CMAKE_CURRENT_LIST_DIR}/server_metrics.cpp
  ${CMAKE_CURRENT_LIST_DIR}/session.cpp
  ${CMAKE_CURRENT_LIST_DIR}/thread_mailbox.cpp
  ${CMAKE_CURRENT_LIST_DIR}/var_diff_cache.cpp
  ${CMAKE_CURRENT_LIST_DIR}/verify_step.cpp)
target_include_directories(sharegate_server PUBLIC ${CMAKE_CURRENT_SOURCE_DIR})
target_compile_definitions(sharegate_server PUBLIC SHAREGATE_VERSION="${PROJECT_VERSION}")
target_link_libraries(sharegate_server
  PUBLIC sharegate_dispatch sharegate_pool sharegate_spool sharegate_protocol sharegate_redis sharegate_verifiers sharegate_cli sharegate_metrics
         Boost::headers spdlog::spdlog Threads::Threads
  PRIVATE sharegate_warnings)

add_executable(sharegate ${CMAKE_CURRENT_LIST_DIR}/main.cpp)
target_link_libraries(sharegate PRIVATE sharegate_server sharegate_warnings)
