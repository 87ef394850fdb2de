// bindings.hpp: what the module's translation units share.
//
// The module converts types and maps errors; it holds no logic. Each concern has a
// bind_<concern>() in its own .cpp, called from module.cpp in dependency order.
// Every call that blocks (files, network, crypto over big inputs) releases the GIL.
#pragma once

#include <pybind11/pybind11.h>
#include <pybind11/stl.h>
#include <pybind11/stl/filesystem.h>

#include <rapidjson/document.h>

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "worm/time.hpp"

namespace worm {
struct UploaderOptions;
}

namespace worm::python {

namespace py = pybind11;

// Uploader options for the module: the uploader's once-per-problem log goes to Python's
// `worm` logger (as a warning) instead of stderr.
UploaderOptions python_uploader_options();

void bind_errors(py::module_& m);
void bind_json(py::module_& m);
void bind_sigv4(py::module_& m);
void bind_signer(py::module_& m);
void bind_storage(py::module_& m);
void bind_config(py::module_& m);
void bind_uploader(py::module_& m);
void bind_pipeline(py::module_& m);
void bind_audit(py::module_& m);
void bind_compliance(py::module_& m);
void bind_audit_log(py::module_& m);
void bind_migrate(py::module_& m);

// Bytes handed in from Python (bytes, str as UTF-8, or any buffer such as bytearray),
// readable without the GIL: bytes and str are viewed in place (immutable, and we keep a
// reference), anything else is copied first.
class ByteInput {
public:
    explicit ByteInput(py::handle value);
    std::string_view view() const { return view_; }

private:
    py::object keep_;
    std::string copy_;
    std::string_view view_;
};

// A Python str from UTF-8 bytes that may not be valid UTF-8 (paths, server messages):
// invalid bytes become U+FFFD instead of raising.
py::str to_py_str(std::string_view text);

// Python value (dict, list, tuple, str, int, float, bool, None) -> JSON DOM. Raises
// TypeError for other types and worm InputError for NaN/Infinity, lone surrogates,
// non-str keys or nesting deeper than the JSON parser allows; messages name the
// JSON pointer. Needs the GIL.
rapidjson::Document to_json(py::handle value);
// The same into a value of an existing document, as its top-level member `member` (named in errors).
rapidjson::Value to_json_value(py::handle value, rapidjson::Document::AllocatorType& allocator,
                               std::string_view member);
// JSON DOM -> Python value (dicts keep member order). Needs the GIL.
py::object to_python(const rapidjson::Value& value);

// Python datetime (aware, or naive meaning UTC) -> TimePoint, and back (aware, UTC).
TimePoint to_time_point(py::handle datetime);
py::object to_datetime(TimePoint t);
// A retention date from a datetime (naive = UTC) or RFC 3339 text, up to 9999-12-31.
RetentionDate to_retention_date(py::handle datetime);
py::object to_datetime(RetentionDate t);

}  // namespace worm::python
