// bundle_json.hpp (private: src/include, never installed): the bundle functions of
// worm/bundle.hpp over parsed RapidJSON documents, for the library's own code (pipeline,
// audit, migration, CLI, Python module), which holds documents already and would otherwise
// serialize and parse them again.
#pragma once

#include <rapidjson/document.h>

#include <string>

#include "worm/bundle.hpp"
#include "worm/export.hpp"
#include "worm/time.hpp"

namespace worm {

// As the text overloads in bundle.hpp.
WORM_API void validate_bundle_schema(const rapidjson::Value& bundle);
WORM_API std::string compute_bundle_hash(const rapidjson::Value& bundle);
WORM_API void verify_bundle_hash(const rapidjson::Value& bundle);

// IncidentInputs parsed. A Null document means "not given".
struct IncidentDocuments {
    rapidjson::Document incident;
    rapidjson::Document runbook;
    rapidjson::Document execution;
    rapidjson::Document actions;
    rapidjson::Document artifacts;
};

// Each non-empty section parsed strictly (Error(parse) naming "incident input /runbook", ...).
WORM_API IncidentDocuments parse_incident_documents(const IncidentInputs& inputs);

// process_incident of bundle.hpp over parsed sections, returning the bundle document.
WORM_API rapidjson::Document process_incident(const std::string& client_id, const std::string& bundle_id,
                                              IncidentDocuments inputs, const Clock& clock = system_clock());

}  // namespace worm
