// C++ exceptions -> the Python classes in worm/errors.py.
//
// The classes are plain Python (so they have normal constructors, attributes and
// pickling); the translator picks the class for the error's code (python_class below),
// builds one through worm.errors and raises it. The codes themselves come from
// error.hpp's table (all_error_codes / parse_error_code): no list of them here.
#include <pybind11/pybind11.h>

#include <exception>
#include <string>

#include "bindings.hpp"
#include "worm/error.hpp"

namespace worm::python {

namespace {

// The worm.errors class each code raises. A switch without default: the compiler
// (-Wswitch) names any ErrorCode added to error.hpp and missing here.
const char* python_class(ErrorCode code) {
    switch (code) {
        case ErrorCode::config: return "ConfigError";
        case ErrorCode::invalid_argument:
        case ErrorCode::parse:
        case ErrorCode::schema: return "InputError";
        case ErrorCode::verification: return "VerificationError";
        case ErrorCode::crypto: return "CryptoError";
        case ErrorCode::io:
        case ErrorCode::storage:
        case ErrorCode::already_exists: return "StorageError";
        case ErrorCode::not_found: return "NotFoundError";
        case ErrorCode::object_locked: return "ObjectLockedError";
        case ErrorCode::integrity: return "IntegrityError";
        case ErrorCode::network:
        case ErrorCode::timeout: return "NetworkError";
        case ErrorCode::s3: return "S3Error";
        case ErrorCode::internal: return "WormError";
    }
    return "WormError";
}

// An S3Error the client classified is also the matching StorageError subclass.
const char* python_s3_class(ErrorCode code) {
    switch (code) {
        case ErrorCode::not_found: return "S3NotFoundError";
        case ErrorCode::object_locked: return "S3ObjectLockedError";
        case ErrorCode::integrity: return "S3IntegrityError";
        default: return "S3Error";
    }
}

void raise(const py::object& exception) {
    PyErr_SetObject(reinterpret_cast<PyObject*>(Py_TYPE(exception.ptr())), exception.ptr());
}

void raise_worm_error(const Error& e) {
    py::object errors = py::module_::import("worm.errors");
    raise(errors.attr(python_class(e.code()))(to_py_str(e.what()), py::arg("code") = std::string(to_string(e.code()))));
}

void raise_s3_error(const S3Error& e) {
    py::object errors = py::module_::import("worm.errors");
    raise(errors.attr(python_s3_class(e.code()))(
        to_py_str(e.what()), py::arg("status") = e.http_status(), py::arg("s3_code") = to_py_str(e.s3_code()),
        py::arg("request_id") = to_py_str(e.request_id()), py::arg("resource") = to_py_str(e.resource()),
        py::arg("server_message") = to_py_str(e.server_message()), py::arg("method") = to_py_str(e.info().method),
        py::arg("retryable") = e.retryable(), py::arg("code") = std::string(to_string(e.code()))));
}

ErrorCode parse_code(const std::string& name) {
    if (const auto code = parse_error_code(name)) return *code;
    throw Error(ErrorCode::invalid_argument, "unknown error code '" + name + "'");
}

}  // namespace

py::str to_py_str(std::string_view text) {
    PyObject* s = PyUnicode_DecodeUTF8(text.data(), static_cast<Py_ssize_t>(text.size()), "replace");
    if (!s) throw py::error_already_set();
    return py::reinterpret_steal<py::str>(s);
}

ByteInput::ByteInput(py::handle value) : keep_(py::reinterpret_borrow<py::object>(value)) {
    if (PyBytes_Check(value.ptr())) {
        char* data = nullptr;
        Py_ssize_t size = 0;
        if (PyBytes_AsStringAndSize(value.ptr(), &data, &size) != 0) throw py::error_already_set();
        view_ = std::string_view(data, static_cast<std::size_t>(size));
    } else if (PyUnicode_Check(value.ptr())) {
        Py_ssize_t size = 0;
        const char* data = PyUnicode_AsUTF8AndSize(value.ptr(), &size);
        if (!data) throw py::error_already_set();  // lone surrogate: UnicodeEncodeError
        view_ = std::string_view(data, static_cast<std::size_t>(size));
    } else {
        py::buffer_info info = py::reinterpret_borrow<py::buffer>(value).request();
        copy_.assign(static_cast<const char*>(info.ptr), static_cast<std::size_t>(info.size * info.itemsize));
        view_ = copy_;
    }
}

void bind_errors(py::module_& m) {
    py::register_exception_translator([](std::exception_ptr p) {
        try {
            if (p) std::rethrow_exception(p);
        } catch (const S3Error& e) {
            try {
                raise_s3_error(e);
            } catch (py::error_already_set& failure) {
                failure.restore();  // worm.errors could not be imported: surface that
            }
        } catch (const Error& e) {
            try {
                raise_worm_error(e);
            } catch (py::error_already_set& failure) {
                failure.restore();
            }
        }
    });

    m.def(
        "error_codes",
        [] {
            py::tuple names(all_error_codes().size());
            std::size_t i = 0;
            for (ErrorCode code : all_error_codes()) names[i++] = py::str(std::string(to_string(code)));
            return names;
        },
        "Every worm error code name (WormError.code), from the C++ table in error.hpp.");

    // Test hooks: raise a given C++ error, so the mapping is testable without a server.
    m.def(
        "_raise_error", [](const std::string& code, const std::string& message) {
            throw Error(parse_code(code), message);
        },
        py::arg("code"), py::arg("message"));
    m.def(
        "_raise_s3_error",
        [](int status, const std::string& s3_code, const std::string& message, const std::string& request_id,
           const std::string& resource, const std::string& code) {
            throw S3Error(S3ErrorInfo{.http_status = status, .code = s3_code, .message = message,
                                      .request_id = request_id, .resource = resource, .method = "PUT"},
                          parse_code(code));
        },
        py::arg("status"), py::arg("s3_code"), py::arg("message") = "", py::arg("request_id") = "",
        py::arg("resource") = "", py::arg("code") = "s3");
}

}  // namespace worm::python
