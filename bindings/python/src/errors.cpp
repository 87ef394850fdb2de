// C++ exceptions -> the Python classes in worm/errors.py.
//
// The classes are plain Python (so they have normal constructors, attributes and
// pickling); the translator builds one through worm.errors and raises it.
#include <pybind11/pybind11.h>

#include <array>
#include <exception>
#include <string>

#include "bindings.hpp"
#include "worm/error.hpp"

namespace worm::python {

namespace {

constexpr std::array kAllCodes = {
    ErrorCode::invalid_argument, ErrorCode::config,      ErrorCode::io,
    ErrorCode::parse,            ErrorCode::schema,      ErrorCode::crypto,
    ErrorCode::verification,     ErrorCode::not_found,   ErrorCode::object_locked,
    ErrorCode::integrity,        ErrorCode::already_exists, ErrorCode::storage,
    ErrorCode::network,          ErrorCode::timeout,     ErrorCode::s3,
    ErrorCode::internal,
};

void raise(const py::object& exception) {
    PyErr_SetObject(reinterpret_cast<PyObject*>(Py_TYPE(exception.ptr())), exception.ptr());
}

void raise_worm_error(const Error& e) {
    py::object errors = py::module_::import("worm.errors");
    raise(errors.attr("_from_code")(std::string(to_string(e.code())), to_py_str(e.what())));
}

void raise_s3_error(const S3Error& e) {
    py::object errors = py::module_::import("worm.errors");
    raise(errors.attr("_from_s3")(std::string(to_string(e.code())), to_py_str(e.what()), py::arg("status") = e.http_status(),
                                 py::arg("code") = to_py_str(e.s3_code()),
                                 py::arg("request_id") = to_py_str(e.request_id()),
                                 py::arg("resource") = to_py_str(e.resource()),
                                 py::arg("server_message") = to_py_str(e.server_message()),
                                 py::arg("method") = to_py_str(e.info().method),
                                 py::arg("retryable") = e.retryable()));
}

ErrorCode parse_code(const std::string& name) {
    for (ErrorCode code : kAllCodes)
        if (to_string(code) == name) return code;
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

    // Test hooks: raise a given C++ error, so the mapping is testable without a server.
    m.def(
        "_raise_error", [](const std::string& code, const std::string& message) {
            throw Error(parse_code(code), message);
        },
        py::arg("code"), py::arg("message"));
    m.def(
        "_raise_s3_error",
        [](int status, const std::string& code, const std::string& message, const std::string& request_id,
           const std::string& resource, const std::string& worm_code) {
            throw S3Error(S3ErrorInfo{.http_status = status, .code = code, .message = message,
                                      .request_id = request_id, .resource = resource, .method = "PUT"},
                          parse_code(worm_code));
        },
        py::arg("status"), py::arg("code"), py::arg("message") = "", py::arg("request_id") = "",
        py::arg("resource") = "", py::arg("worm_code") = "s3");
}

}  // namespace worm::python
