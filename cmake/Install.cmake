# What `cmake --install` puts where (GNUInstallDirs), which is also the Debian package's
# layout (cmake/Package.cmake, prefix /usr):
#   bin/         sharegate, sharegate-ctl, and the operators' benchmark tools
#                sharegate-bench, sharegate-loadgen, sharegate-mine
#   /etc/sharegate/sharegate.conf   deploy/sharegate.conf (SHAREGATE_INSTALL_CONFDIR)
#   lib/systemd/system/sharegate.service, sharegate@.service (one of several instances)
#   share/man/man1/sharegate.1.gz   made from --help and --version by help2man
#   share/doc/sharegate/            README.md, docs/*.md, deploy/grafana, deploy/prometheus
#   share/doc/sharegate/examples/   haproxy.cfg and sharegate-instance.conf.example (many
#                                   instances behind HAProxy)
# Installing and packaging never build: they take the build as it is (the package test
# packages the very build under test), so build first.
include(GNUInstallDirs)
set(CMAKE_SKIP_INSTALL_ALL_DEPENDENCY ON)

# Absolute, like the unit's ExecStart= and --config: a service's configuration is in
# /etc whatever the prefix (GNUInstallDirs' relative "etc" would be /usr/etc in the
# package). DESTDIR stages it like everything else; set it relative (etc/sharegate) for an
# installation under a private prefix.
set(SHAREGATE_INSTALL_CONFDIR /etc/sharegate CACHE STRING "Where sharegate.conf is installed")
option(SHAREGATE_MAN_PAGE "Generate the sharegate(1) man page with help2man (skipped when help2man is missing)" ON)

foreach(tool sharegate sharegate-ctl sharegate-bench sharegate-loadgen sharegate-mine)
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

  find_program(SHAREGATE_HELP2MAN help2man)
  if(SHAREGATE_MAN_PAGE AND SHAREGATE_HELP2MAN)
    # Compressed, as Debian installs man pages (-n: no time stamp in the .gz).
    set(man_page ${PROJECT_BINARY_DIR}/man/sharegate.1.gz)
    add_custom_command(
      OUTPUT ${man_page}
      COMMAND ${CMAKE_COMMAND} -E make_directory ${PROJECT_BINARY_DIR}/man
      COMMAND ${SHAREGATE_HELP2MAN} --no-info --section 1 --include ${PROJECT_SOURCE_DIR}/deploy/sharegate.h2m
              --output ${PROJECT_BINARY_DIR}/man/sharegate.1
              --name "stratum and getwork front-end for ERC-918 token mining pools" $<TARGET_FILE:sharegate>
      COMMAND gzip -9nf ${PROJECT_BINARY_DIR}/man/sharegate.1
      DEPENDS sharegate ${PROJECT_SOURCE_DIR}/deploy/sharegate.h2m
      COMMENT "Generating the sharegate(1) man page with help2man"
      VERBATIM)
    add_custom_target(sharegate-man-page ALL DEPENDS ${man_page})
    install(FILES ${man_page} DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
  elseif(SHAREGATE_MAN_PAGE)
    message(STATUS "sharegate: help2man not found, the sharegate(1) man page is skipped (apt-get install help2man)")
  endif()
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
