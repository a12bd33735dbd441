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
