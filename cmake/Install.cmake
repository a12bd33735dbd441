# What `cmake --install` puts where (GNUInstallDirs), which is also the Debian package's
# layout (cmake/Package.cmake, prefix /usr):
#   bin/         sharegate, sharegate-ctl, sharegate-proxy (a farm's getwork rigs on one
#                stratum connection), and the operators' benchmark tools
#                sharegate-bench, sharegate-loadgen, sharegate-mine
#   /etc/sharegate/sharegate.conf   deploy/sharegate.conf (SHAREGATE_INSTALL_CONFDIR)
#   lib/systemd/system/sharegate.service, sharegate@.service (one of several instances),
#                      sharegate-proxy.service (reads /etc/sharegate/proxy.conf)
#   share/man/man1/sharegate.1.gz, sharegate-proxy.1.gz   made from --help and --version
#                                   by help2man
#   share/doc/sharegate/            README.md, docs/*.md, deploy/grafana, deploy/prometheus
#   share/doc/sharegate/examples/   haproxy.cfg and sharegate-instance.conf.example (many
#                                   instances behind HAProxy), sharegate-proxy.conf.example
# Installing and packaging never build: they take the build as it is (the package test
# packages the very build under test), so build first.
include(GNUInstallDirs)
set(CMAKE_SKIP_INSTALL_ALL_DEPENDENCY ON)

# Absolute, like the unit's ExecStart= and --config: a service's configuration is in
# /etc whatever the prefix (GNUInstallDirs' relative "etc" would be /usr/etc in the
# package). DESTDIR stages it like everything else; set it relative (etc/sharegate) for an
# installation under a private prefix.
set(SHAREGATE_INSTALL_CONFDIR /etc/sharegate CACHE STRING "Where sharegate.conf is installed")
option(SHAREGATE_MAN_PAGE "Generate the sharegate(1) and sharegate-proxy(1) man pages with help2man (skipped when help2man is missing)" ON)

# sharegate_man_page(TARGET NAME): TARGET.1.gz from the binary's --help and --version with
# help2man, with deploy/TARGET.h2m's sections, installed to man1. Compressed, as Debian
# installs man pages (-n: no time stamp in the .gz). Skipped when help2man is missing.
find_program(SHAREGATE_HELP2MAN help2man)
function(sharegate_man_page target name)
  if(NOT SHAREGATE_MAN_PAGE)
    return()
  endif()
  if(NOT SHAREGATE_HELP2MAN)
    message(STATUS "sharegate: help2man not found, the ${target}(1) man page is skipped (apt-get install help2man)")
    return()
  endif()
  set(man_page ${PROJECT_BINARY_DIR}/man/${target}.1.gz)
  add_custom_command(
    OUTPUT ${man_page}
    COMMAND ${CMAKE_COMMAND} -E make_directory ${PROJECT_BINARY_DIR}/man
    COMMAND ${SHAREGATE_HELP2MAN} --no-info --section 1 --include ${PROJECT_SOURCE_DIR}/deploy/${target}.h2m
            --output ${PROJECT_BINARY_DIR}/man/${target}.1 --name ${name} $<TARGET_FILE:${target}>
    COMMAND gzip -9nf ${PROJECT_BINARY_DIR}/man/${target}.1
    DEPENDS ${target} ${PROJECT_SOURCE_DIR}/deploy/${target}.h2m
    COMMENT "Generating the ${target}(1) man page with help2man"
    VERBATIM)
  add_custom_target(${target}-man-page ALL DEPENDS ${man_page})
  install(FILES ${man_page} DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
endfunction()

foreach(tool sharegate sharegate-ctl sharegate-proxy sharegate-bench sharegate-loadgen sharegate-mine)
  if(TARGET ${tool})
    install(TARGETS ${tool} RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
  endif()
endforeach()

if(TARGET sharegate)
  install(FILES ${PROJECT_SOURCE_DIR}/deploy/sharegate.conf DESTINATION ${SHAREGATE_INSTALL_CONFDIR})
  # Not CMAKE_INSTALL_LIBDIR (lib/x86_64-linux-gnu under /usr): systemd looks in
  # /usr/lib/systemd/system, which the package's "lib/systemd/system" is (/lib is
  # /usr/lib on Debian 12).
  install(FILES ${PROJECT_SOURCE_DIR}/deploy/systemd/sharegate.service
                ${PROJECT_SOURCE_DIR}/deploy/systemd/sharegate@.service DESTINATION lib/systemd/system)

  sharegate_man_page(sharegate "stratum and getwork front-end for ERC-918 token mining pools")
endif()

# sharegate-proxy: its unit, its man page and an example of its configuration (not a live
# /etc file: it runs on a farm's machine, most installations of the package never start it,
# and it cannot start without a pool and an account, which no shipped file could hold).
if(TARGET sharegate-proxy)
  install(FILES ${PROJECT_SOURCE_DIR}/deploy/systemd/sharegate-proxy.service DESTINATION lib/systemd/system)
  install(FILES ${PROJECT_SOURCE_DIR}/deploy/sharegate-proxy.conf.example DESTINATION ${CMAKE_INSTALL_DOCDIR}/examples)
  sharegate_man_page(sharegate-proxy "getwork mining rigs of a farm on one stratum connection to the pool")
endif()

set(doc_dir ${CMAKE_INSTALL_DOCDIR})
# The repository's layout under share/doc/sharegate, so that README.md's links work.
install(FILES ${PROJECT_SOURCE_DIR}/README.md DESTINATION ${doc_dir})
file(GLOB sharegate_doc_pages CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/docs/*.md)
install(FILES ${sharegate_doc_pages} DESTINATION ${doc_dir}/docs)
foreach(extra grafana prometheus)
  if(IS_DIRECTORY ${PROJECT_SOURCE_DIR}/deploy/${extra})
    # Without the promtool tests of the alert rules (tests/deploy).
    install(DIRECTORY ${PROJECT_SOURCE_DIR}/deploy/${extra} DESTINATION ${doc_dir}/deploy PATTERN "*.test.yml" EXCLUDE)
  endif()
endforeach()
# Many instances behind HAProxy (docs/operations.md): examples to copy, not live files (the
# haproxy package owns /etc/haproxy/haproxy.cfg, and each instance's /etc/sharegate/N.conf
# is the operator's).
install(FILES ${PROJECT_SOURCE_DIR}/deploy/haproxy/haproxy.cfg ${PROJECT_SOURCE_DIR}/deploy/sharegate-instance.conf.example
        DESTINATION ${doc_dir}/examples)
