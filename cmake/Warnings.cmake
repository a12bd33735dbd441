# Warnings and sanitizers, applied to our targets only (not to third-party code).
add_library(sharegate_warnings INTERFACE)
target_compile_options(sharegate_warnings INTERFACE $<$<COMPILE_LANGUAGE:CXX>:-Wall -Wextra>)
if(SHAREGATE_WERROR)
  target_compile_options(sharegate_warnings INTERFACE $<$<COMPILE_LANGUAGE:CXX>:-Werror>)
endif()

if(SHAREGATE_SANITIZE)
  add_compile_options($<$<COMPILE_LANGUAGE:CXX>:-fsanitize=${SHAREGATE_SANITIZE}> $<$<COMPILE_LANGUAGE:CXX>:-fno-omit-frame-pointer>
                      $<$<COMPILE_LANGUAGE:CXX>:-fno-sanitize-recover=all>)
  add_link_options(-fsanitize=${SHAREGATE_SANITIZE})
endif()

# ThreadSanitizer does not model standalone fences (GCC warns, -Wtsan). Boost.Asio puts
# one around every handler it runs ("fenced blocks"); its scheduler already hands each
# handler over under a mutex, which TSan does see, so the fences add nothing TSan needs.
if(SHAREGATE_SANITIZE MATCHES "thread")
  add_compile_definitions(BOOST_ASIO_DISABLE_FENCED_BLOCK)
endif()
