# Gives RapidJSON's headers one target name, worm::rapidjson, whichever package found them.
#
# The libraries and worm_private (the CLI, module, tests: src/include's headers use it) link
# it inside the build only; no installed header includes RapidJSON. Used by libworm's own
# build, right after find_package(RapidJSON):
#   - vcpkg and conan provide an imported target (rapidjson / RapidJSON::RapidJSON);
#   - RapidJSON's own RapidJSONConfig.cmake (Debian, a source install) sets only
#     RAPIDJSON_INCLUDE_DIRS (RapidJSON_INCLUDE_DIRS in some releases).
if(TARGET worm::rapidjson)
  return()
endif()
add_library(worm::rapidjson INTERFACE IMPORTED)
if(TARGET RapidJSON::RapidJSON)
  set_target_properties(worm::rapidjson PROPERTIES INTERFACE_LINK_LIBRARIES RapidJSON::RapidJSON)
elseif(TARGET rapidjson)
  set_target_properties(worm::rapidjson PROPERTIES INTERFACE_LINK_LIBRARIES rapidjson)
elseif(RAPIDJSON_INCLUDE_DIRS OR RapidJSON_INCLUDE_DIRS)
  set_target_properties(worm::rapidjson PROPERTIES
    INTERFACE_INCLUDE_DIRECTORIES "${RAPIDJSON_INCLUDE_DIRS};${RapidJSON_INCLUDE_DIRS}")
else()
  message(FATAL_ERROR "RapidJSON was found but names neither a target nor RAPIDJSON_INCLUDE_DIRS")
endif()
