# cmake -DSTATE_DIR=… -P ResetTestState.cmake: the state a new machine has, for one test run.
if(NOT STATE_DIR)
  message(FATAL_ERROR "STATE_DIR is not set")
endif()
file(REMOVE_RECURSE ${STATE_DIR})
file(MAKE_DIRECTORY ${STATE_DIR}/home/.cache ${STATE_DIR}/tmp ${STATE_DIR}/pocl-cache)
