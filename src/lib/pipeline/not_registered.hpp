#pragma once
// Shared by the pipeline (worm::core), which reports it, and its upload hook
// (pipeline_uploads.cpp, worm::uploader), which throws it.
#include <string>

#include "worm/error.hpp"

namespace worm::detail {

// The uploader's registry refused the bundle (a full disk, a damaged file): nothing will
// upload it until a sync registers the signed files it finds (WormUploader::reconcile).
struct NotRegistered : Error {
    explicit NotRegistered(const Error& e) : Error(e.code(), std::string("not registered: ") + e.what()) {}
};

}  // namespace worm::detail
