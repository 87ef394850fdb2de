# Gives RapidJSON's headers one target name, worm::rapidjson, whichever package found them.
#
# worm::worm links it PUBLIC (json.hpp and bundle.hpp include <rapidjson/document.h>), so
# the installed package carries RapidJSON's include path. Used by libworm's own build and
# by the installed wormConfig.cmake, right after find_package/find_dependency(RapidJSON):
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
