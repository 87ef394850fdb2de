// Python values <-> RapidJSON, and canonical_json.
//
// canonical_json never goes through Python's json module: the Python value is turned
// into a RapidJSON DOM here (strictly: no NaN, no non-str keys, no lone surrogates)
// and the C++ RFC 8785 serializer writes it. JSON text goes through json::parse_strict,
// which refuses duplicate keys and invalid UTF-8.
#include <pybind11/pybind11.h>

#include <cmath>
#include <limits>
#include <string>

#include "bindings.hpp"
#include "worm/error.hpp"
#include "worm/json.hpp"

namespace worm::python {

namespace {

using Allocator = rapidjson::Document::AllocatorType;

// Where a value sits, as a chain of parents on the stack: the JSON pointer string is only
// built when an error names it (building it for every member cost more than the conversion).
struct Where {
    const Where* parent = nullptr;
    std::string_view key;   // the member name, or
    std::size_t index = 0;  // the array index when is_index
    bool is_index = false;

    std::string pointer() const {
        if (!parent) return "";
        return is_index ? json::pointer_append(parent->pointer(), index) : json::pointer_append(parent->pointer(), key);
    }
    std::string text() const {
        const std::string p = pointer();
        return p.empty() ? "the top level" : "'" + p + "'";
    }
};

// UTF-8 view of a str, valid while the str lives (CPython caches the UTF-8 form).
std::string_view utf8_of(py::handle str, const Where& where) {
    Py_ssize_t size = 0;
    const char* data = PyUnicode_AsUTF8AndSize(str.ptr(), &size);
    if (!data) {
        PyErr_Clear();  // a lone surrogate ("\ud800") has no UTF-8 form
        throw Error(ErrorCode::invalid_argument,
                    "JSON value at '" + where.pointer() + "': string is not valid Unicode (lone surrogate)");
    }
    return std::string_view(data, static_cast<std::size_t>(size));
}

rapidjson::Value convert(py::handle value, Allocator& allocator, const Where& where, int depth) {
    if (depth > json::kMaxDepth)
        throw Error(ErrorCode::invalid_argument,
                    "JSON value nested deeper than " + std::to_string(json::kMaxDepth) + " levels at " +
                        where.text() + " (or a container that contains itself)");
    if (value.is_none()) return rapidjson::Value(rapidjson::kNullType);
    if (PyBool_Check(value.ptr())) return rapidjson::Value(value.ptr() == Py_True);
    if (PyLong_Check(value.ptr())) {
        int overflow = 0;
        long long v = PyLong_AsLongLongAndOverflow(value.ptr(), &overflow);
        if (overflow == 0) {
            if (v == -1 && PyErr_Occurred()) throw py::error_already_set();
            return rapidjson::Value(static_cast<std::int64_t>(v));
        }
        if (overflow > 0) {
            unsigned long long u = PyLong_AsUnsignedLongLong(value.ptr());
            if (!PyErr_Occurred()) return rapidjson::Value(static_cast<std::uint64_t>(u));
            PyErr_Clear();
        }
        double d = PyLong_AsDouble(value.ptr());
        if (d == -1.0 && PyErr_Occurred()) {
            PyErr_Clear();
            throw Error(ErrorCode::invalid_argument,
                        "JSON value at " + where.text() + ": integer is too large for a JSON number (IEEE double)");
        }
        return rapidjson::Value(d);
    }
    if (PyFloat_Check(value.ptr())) {
        double d = PyFloat_AsDouble(value.ptr());
        if (!std::isfinite(d))
            throw Error(ErrorCode::invalid_argument,
                        "JSON value at " + where.text() + ": NaN and Infinity are not JSON numbers");
        return rapidjson::Value(d);
    }
    if (PyUnicode_Check(value.ptr())) {
        const std::string_view s = utf8_of(value, where);
        return rapidjson::Value(s.data(), static_cast<rapidjson::SizeType>(s.size()), allocator);
    }
    if (PyDict_Check(value.ptr())) {
        rapidjson::Value object(rapidjson::kObjectType);
        PyObject* key = nullptr;
        PyObject* member = nullptr;
        Py_ssize_t pos = 0;
        while (PyDict_Next(value.ptr(), &pos, &key, &member)) {  // borrowed references
            if (!PyUnicode_Check(key))
                throw Error(ErrorCode::invalid_argument,
                            "JSON object at " + where.text() + ": key " + std::string(py::str(py::repr(key))) +
                                " is not a str (JSON keys are strings; convert it explicitly)");
            const std::string_view name = utf8_of(key, where);
            const Where child{&where, name};
            rapidjson::Value converted = convert(member, allocator, child, depth + 1);
            object.AddMember(rapidjson::Value(name.data(), static_cast<rapidjson::SizeType>(name.size()), allocator),
                             converted, allocator);
        }
        return object;
    }
    if (PyList_Check(value.ptr()) || PyTuple_Check(value.ptr())) {
        rapidjson::Value array(rapidjson::kArrayType);
        std::size_t index = 0;
        for (py::handle item : value) {
            const Where child{&where, {}, index, true};
            array.PushBack(convert(item, allocator, child, depth + 1), allocator);
            ++index;
        }
        return array;
    }
    throw py::type_error("object of type " + std::string(py::str(value.get_type().attr("__name__"))) + " at " +
                         where.text() + " is not JSON serializable");
}

}  // namespace

rapidjson::Value to_json_value(py::handle value, rapidjson::Document::AllocatorType& allocator,
                               std::string_view member) {
    const Where root;
    return convert(value, allocator, Where{&root, member}, 1);
}

rapidjson::Document to_json(py::handle value) {
    rapidjson::Document document;
    rapidjson::Value converted = convert(value, document.GetAllocator(), Where{}, 0);
    // Already in the document's allocator: moved in, not copied.
    static_cast<rapidjson::Value&>(document).Swap(converted);
    return document;
}

py::object to_python(const rapidjson::Value& value) {
    switch (value.GetType()) {
        case rapidjson::kNullType: return py::none();
        case rapidjson::kFalseType: return py::bool_(false);
        case rapidjson::kTrueType: return py::bool_(true);
        case rapidjson::kStringType: return to_py_str(std::string_view(value.GetString(), value.GetStringLength()));
        case rapidjson::kNumberType:
            if (value.IsInt64()) return py::int_(value.GetInt64());
            if (value.IsUint64()) return py::int_(value.GetUint64());
            return py::float_(value.GetDouble());
        case rapidjson::kArrayType: {
            py::list list;
            for (const auto& item : value.GetArray()) list.append(to_python(item));
            return list;
        }
        case rapidjson::kObjectType: {
            py::dict dict;
            for (const auto& member : value.GetObject())
                dict[to_py_str(std::string_view(member.name.GetString(), member.name.GetStringLength()))] =
                    to_python(member.value);
            return dict;
        }
    }
    return py::none();
}

namespace {

// Microseconds from the epoch to a datetime (naive = UTC); datetime's years 1-9999 fit in 64 bits.
std::chrono::microseconds micros_since_epoch(py::handle value) {
    py::module_ dt = py::module_::import("datetime");
    if (!py::isinstance(value, dt.attr("datetime")))
        throw py::type_error("expected a datetime or an RFC 3339 string");
    py::object utc = dt.attr("timezone").attr("utc");
    py::object aware = value.attr("tzinfo").is_none() ? value.attr("replace")(py::arg("tzinfo") = utc) : py::reinterpret_borrow<py::object>(value);
    py::object delta = aware - dt.attr("datetime")(1970, 1, 1, py::arg("tzinfo") = utc);
    long long micros = delta.attr("days").cast<long long>() * 86'400'000'000LL +
                       delta.attr("seconds").cast<long long>() * 1'000'000LL +
                       delta.attr("microseconds").cast<long long>();
    return std::chrono::microseconds(micros);
}

py::object datetime_from_micros(std::chrono::microseconds micros) {
    py::module_ dt = py::module_::import("datetime");
    py::object utc = dt.attr("timezone").attr("utc");
    return dt.attr("datetime")(1970, 1, 1, py::arg("tzinfo") = utc) +
           dt.attr("timedelta")(py::arg("microseconds") = micros.count());
}

}  // namespace

TimePoint to_time_point(py::handle value) {
    if (PyUnicode_Check(value.ptr())) return parse_rfc3339(value.cast<std::string>());
    const auto micros = micros_since_epoch(value);
    using Limits = std::numeric_limits<TimePoint::rep>;
    if (micros.count() > Limits::max() / 1000 || micros.count() < Limits::min() / 1000)
        throw Error(ErrorCode::invalid_argument,
                    "datetime " + py::str(value).cast<std::string>() + " is outside 1677-09-21T00:12:44Z..2262-04-11T23:47:16Z, the range of a time point");
    return TimePoint(std::chrono::duration_cast<TimePoint::duration>(micros));
}

py::object to_datetime(TimePoint t) {
    return datetime_from_micros(std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()));
}

RetentionDate to_retention_date(py::handle value) {
    if (PyUnicode_Check(value.ptr())) return parse_retention_date(value.cast<std::string>());
    const auto millis = std::chrono::floor<std::chrono::milliseconds>(micros_since_epoch(value));
    try {
        return RetentionDate(RetentionDate::Millis(millis));
    } catch (const Error&) {
        throw Error(ErrorCode::invalid_argument, "retention date " + py::str(value).cast<std::string>() +
                                                     " is outside the supported range " +
                                                     std::string(retention_date_min) + " to " +
                                                     std::string(retention_date_max));
    }
}

py::object to_datetime(RetentionDate t) {
    return datetime_from_micros(std::chrono::duration_cast<std::chrono::microseconds>(t.millis().time_since_epoch()));
}

void bind_json(py::module_& m) {
    m.def(
        "canonical_json",
        [](py::handle value) {
            rapidjson::Document document = to_json(value);
            py::gil_scoped_release release;
            return json::canonicalize(document);
        },
        py::arg("obj"),
        "RFC 8785 canonical JSON of a Python value (dict, list, tuple, str, int, float, bool, None).\n\n"
        "Raises TypeError for other types, InputError for NaN/Infinity, non-str keys and lone surrogates.");
    m.def(
        "canonical_json_text",
        [](py::handle text) {
            std::string bytes = PyBytes_Check(text.ptr()) ? text.cast<std::string>() : std::string(utf8_of(text, Where{}));
            py::gil_scoped_release release;
            return json::canonicalize(std::string_view(bytes));
        },
        py::arg("text"),
        "RFC 8785 canonical form of JSON text (str or UTF-8 bytes).\n\n"
        "Raises InputError for duplicate keys, invalid UTF-8, NaN/Infinity or trailing garbage.");
    m.def(
        "parse_json",
        [](py::handle text) {
            std::string bytes = PyBytes_Check(text.ptr()) ? text.cast<std::string>() : std::string(utf8_of(text, Where{}));
            rapidjson::Document document;
            {
                py::gil_scoped_release release;
                document = json::parse_strict(bytes);
            }
            return to_python(document);
        },
        py::arg("text"), "Strict JSON parse (duplicate keys and invalid UTF-8 raise InputError).");
}

}  // namespace worm::python
