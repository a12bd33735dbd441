# Writes the files INPUTS, concatenated, as one C++ raw string literal into OUTPUT.
# The delimiter is one no OpenCL source contains.
set(text "")
foreach(input IN LISTS INPUTS)
  file(READ ${input} content)
  string(APPEND text "${content}\n")
endforeach()
string(FIND "${text}" ")sharegate_cl\"" clash)
if(NOT clash EQUAL -1)
  message(FATAL_ERROR "the OpenCL source contains the raw string delimiter )sharegate_cl\"")
endif()
file(WRITE ${OUTPUT}.tmp
     "// Generated from ${INPUTS} by embed_source.cmake; do not edit.\n"
     "#pragma once\n"
     "namespace sharegate::opencl {\n"
     "inline constexpr char kVerifySharesSource[] = R\"sharegate_cl(${text})sharegate_cl\";\n"
     "}\n")
file(COPY_FILE ${OUTPUT}.tmp ${OUTPUT} ONLY_IF_DIFFERENT)
file(REMOVE ${OUTPUT}.tmp)
