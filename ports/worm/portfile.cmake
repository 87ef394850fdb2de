# vcpkg overlay port for libworm, built from this source tree:
#   vcpkg install worm[proxy,python] --overlay-ports=<libworm>/ports
#   vcpkg install "worm[core]" --overlay-ports=<libworm>/ports     # worm::core only (no curl, SQLite, cairo)
# The library is static or shared as the triplet says (BUILD_SHARED_LIBS, set by
# vcpkg_cmake_configure); find_package(worm CONFIG [COMPONENTS ...]) then gives worm::core ... worm::worm.
set(SOURCE_PATH "${CMAKE_CURRENT_LIST_DIR}/../..")

vcpkg_check_features(OUT_FEATURE_OPTIONS FEATURE_OPTIONS
  FEATURES
    s3         WORM_WITH_S3
    uploader   WORM_WITH_UPLOADER
    audit-log  WORM_WITH_AUDIT_LOG
    compliance WORM_WITH_COMPLIANCE
    proxy  WORM_BUILD_PROXY
    python WORM_BUILD_PYTHON)

# The `worm` program needs every component (worm::worm).
set(WORM_ALL_FEATURES ON)
foreach(feature s3 uploader audit-log compliance)
  if(NOT feature IN_LIST FEATURES)
    set(WORM_ALL_FEATURES OFF)
  endif()
endforeach()

vcpkg_cmake_configure(
  SOURCE_PATH "${SOURCE_PATH}"
  OPTIONS
    ${FEATURE_OPTIONS}
    -DWORM_BUILD_CLI=${WORM_ALL_FEATURES}
    -DWORM_BUILD_TESTS=OFF
    -DWORM_BUILD_EXAMPLES=OFF
    -DWORM_BUILD_BENCH=OFF
    -DWORM_INSTALL=ON
    # The Python package goes with the tools (PYTHONPATH=<installed>/tools/worm/python).
    -DWORM_PYTHON_INSTALL_DIR=tools/worm/python)
vcpkg_cmake_install()
vcpkg_cmake_config_fixup(PACKAGE_NAME worm CONFIG_PATH lib/cmake/worm)
vcpkg_fixup_pkgconfig()

set(WORM_TOOLS)
if(WORM_ALL_FEATURES)
  list(APPEND WORM_TOOLS worm)
endif()
if("proxy" IN_LIST FEATURES)
  list(APPEND WORM_TOOLS worm-proxy)
endif()
if(WORM_TOOLS)
  vcpkg_copy_tools(TOOL_NAMES ${WORM_TOOLS} AUTO_CLEAN)
endif()

file(REMOVE_RECURSE "${CURRENT_PACKAGES_DIR}/debug/include" "${CURRENT_PACKAGES_DIR}/debug/share"
                    "${CURRENT_PACKAGES_DIR}/debug/tools")
file(INSTALL "${CMAKE_CURRENT_LIST_DIR}/usage" DESTINATION "${CURRENT_PACKAGES_DIR}/share/${PORT}")
vcpkg_install_copyright(FILE_LIST "${SOURCE_PATH}/LICENSE")
