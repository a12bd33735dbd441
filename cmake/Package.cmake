# The Debian package (CPack's DEB generator): `cpack -G DEB` in a build directory makes
# sharegate_<version>_amd64.deb of that build, with the layout of cmake/Install.cmake,
# the maintainer scripts of deploy/debian and /etc/sharegate/sharegate.conf as a
# conffile (an operator's edits survive upgrades). tests/package/package_test.sh installs,
# runs and purges it.
#
# Depends: worked out by dpkg-shlibdeps (package dpkg-dev) from the binaries' shared
# libraries (hiredis, spdlog, fmt, simdjson, the OpenCL ICD loader, libstdc++ ...), so the
# list follows what this build links; adduser is for postinst. A CUDA-enabled build
# adds no package dependency: verify_cuda links the CUDA runtime statically
# (CUDA_RUNTIME_LIBRARY Static, CUDA::cudart_static), which loads the driver's libcuda.so.1
# at run time, so a CUDA build needs only the NVIDIA driver on the machine, and without
# it --verifier auto passes over CUDA.
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME sharegate)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "stratum and getwork front-end for ERC-918 token mining pools")
string(CONCAT CPACK_PACKAGE_DESCRIPTION
    "sharegate speaks stratum and HTTP getwork to miners, verifies their shares in batches (CPU, CUDA or OpenCL) "
    "and queues accepted shares in Redis for the pool back-end; shares wait in a durable local spool while "
    "Redis is slow or down.")
set(CPACK_PACKAGE_CONTACT "sharegate maintainers <maintainers@users.noreply.b-seed-925d5cd6.example>")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)

# sharegate_0.1.0_amd64.deb
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS adduser)
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS redis-server)
set(CPACK_DEBIAN_PACKAGE_SUGGESTS prometheus)
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${PROJECT_SOURCE_DIR}/deploy/debian/conffiles ${PROJECT_SOURCE_DIR}/deploy/debian/postinst
    ${PROJECT_SOURCE_DIR}/deploy/debian/prerm ${PROJECT_SOURCE_DIR}/deploy/debian/postrm)
# The scripts 0755 and conffiles 0644 whatever the checkout's modes.
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)

# No source package: `make package_source` would pack build trees and .deps.
set(CPACK_SOURCE_GENERATOR "")
include(CPack)
