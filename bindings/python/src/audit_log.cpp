// Audit logs for Python: _worm.AuditLogSink (the C++ sink; worm.logging wraps it in a
// logging.Handler) and _worm.verify_audit_log. Times are seconds (float), as in Python.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <chrono>
#include <cmath>
#include <memory>
#include <optional>
#include <string>

#include "audit_log/log_value.hpp"
#include "bindings.hpp"
#include "worm/audit_log.hpp"
#include "worm/audit_log/format.hpp"
#include "worm/audit_log/verify.hpp"
#include "worm/error.hpp"
#include "worm/signer.hpp"
#include "worm/time.hpp"

namespace worm::python {

namespace {

std::chrono::milliseconds millis(double seconds, const char* name) {
    if (!(seconds >= 0)) throw Error(ErrorCode::invalid_argument, std::string(name) + " must be a non-negative number of seconds");
    return std::chrono::milliseconds(static_cast<std::int64_t>(seconds * 1000.0 + 0.5));
}

py::dict stats_dict(const AuditLogStats& s) {
    py::dict d;
    d["accepted"] = s.accepted;
    d["filtered"] = s.filtered;
    d["refused"] = s.refused;
    d["stored"] = s.stored;
    d["queued"] = s.queued;
    d["batches_stored"] = s.batches_stored;
    d["batches_retried"] = s.batches_retried;
    d["batches_failed"] = s.batches_failed;
    d["escaped"] = s.escaped;
    d["checkpoints_stored"] = s.checkpoints_stored;
    d["journal_bytes"] = s.journal_bytes;
    d["oldest_unstored_age"] = static_cast<double>(s.oldest_unstored_age.count()) / 1000.0;
    d["last_error"] = s.last_error.empty() ? py::object(py::none()) : py::object(to_py_str(s.last_error));
    d["last_error_time"] = s.last_error_time ? to_datetime(*s.last_error_time) : py::object(py::none());
    d["stream"] = s.stream;
    return d;
}

std::shared_ptr<const Ed25519PrivateKey> signing_key_arg(py::handle key) {
    if (key.is_none()) return signing_key_from_env();
    if (py::isinstance<Ed25519PrivateKey>(key)) return key.cast<std::shared_ptr<Ed25519PrivateKey>>();
    return std::make_shared<const Ed25519PrivateKey>(
        load_private_key(key.cast<std::filesystem::path>(), key_password_from_env()));
}

// An interned Python string made once and kept for the life of the process: the attribute
// names emit() looks up in every LogRecord.
PyObject* interned(const char* text) {
    PyObject* s = PyUnicode_InternFromString(text);
    if (!s) throw py::error_already_set();
    return s;
}

// The message as LogRecord.getMessage() makes it (str(msg), then % args when there are
// args), without a Python call when the record's class keeps the standard getMessage.
py::object record_message(py::handle record, PyObject* msg, PyObject* args) {
    static PyObject* const standard_get_message =
        py::object(py::module_::import("logging").attr("LogRecord").attr("getMessage")).release().ptr();
    static PyObject* const get_message_name = interned("getMessage");
    PyObject* own = _PyType_Lookup(Py_TYPE(record.ptr()), get_message_name);
    if (own != standard_get_message || !msg || !args) return record.attr("getMessage")();
    auto text = py::reinterpret_steal<py::object>(PyObject_Str(msg));
    if (!text) throw py::error_already_set();
    const int has_args = PyObject_IsTrue(args);
    if (has_args < 0) throw py::error_already_set();
    if (has_args == 0) return text;
    auto formatted = py::reinterpret_steal<py::object>(PyNumber_Remainder(text.ptr(), args));
    if (!formatted) throw py::error_already_set();
    return formatted;
}

// The seed's record shape for a logging.LogRecord (worm.logging.build_record returns it as a
// dict; WORMLogHandler.emit logs it directly), built here without a Python dict or datetime.
// Everything is read from the record's __dict__ (LogRecord sets its fields there, and
// logging puts `extra` there): getattr with a default raised and formatted an AttributeError
// for every absent field, which was most of what emit cost. `standard` is the set of
// LogRecord attribute names that are not `extra` fields; `formatter` formats exc_info
// (logging.Formatter() when None).
rapidjson::Document record_document(py::handle record, const std::string& service_name, py::handle standard,
                                    py::handle formatter) {
    static PyObject* const k_created = interned("created");
    static PyObject* const k_levelname = interned("levelname");
    static PyObject* const k_service_name = interned("service_name");
    static PyObject* const k_request_id = interned("request_id");
    static PyObject* const k_user_id = interned("user_id");
    static PyObject* const k_name = interned("name");
    static PyObject* const k_module = interned("module");
    static PyObject* const k_func_name = interned("funcName");
    static PyObject* const k_lineno = interned("lineno");
    static PyObject* const k_msg = interned("msg");
    static PyObject* const k_args = interned("args");
    static PyObject* const k_exc_info = interned("exc_info");

    rapidjson::Document doc(rapidjson::kObjectType);
    auto& allocator = doc.GetAllocator();
    auto add = [&](std::string_view name, rapidjson::Value value) {
        doc.AddMember(rapidjson::Value(name.data(), static_cast<rapidjson::SizeType>(name.size()), allocator), value,
                      allocator);
    };
    // A value JSON cannot carry as it is (datetime, set, object...) goes in as
    // json.dumps(value, default=str) would write it; an absent one as null. A value JSON
    // cannot hold at all (a lone surrogate, as os.listdir gives for a name with byte 0xff;
    // NaN, Infinity) is never a reason to drop the record: the field holds the text
    // json.dumps(value, default=str) writes ("\udcff" escapes, bare NaN), which json.loads
    // turns back into the value, and the record lists the field in "worm_escaped".
    const py::module_ json_module = py::module_::import("json");
    const py::object to_str = py::module_::import("builtins").attr("str");
    rapidjson::Value escaped(rapidjson::kArrayType);
    // A field name holding a lone surrogate is stored as its JSON-escaped text (without quotes).
    auto escaped_text = [&](py::handle value) {
        return json_module.attr("dumps")(value, py::arg("default") = to_str).cast<std::string>();
    };
    auto add_escaped = [&](std::string_view name, py::handle value) {
        const std::string text = escaped_text(value);
        add(name, rapidjson::Value(text.data(), static_cast<rapidjson::SizeType>(text.size()), allocator));
        escaped.PushBack(rapidjson::Value(name.data(), static_cast<rapidjson::SizeType>(name.size()), allocator), allocator);
    };
    auto add_py = [&](std::string_view name, py::handle value) {
        if (!value) {
            add(name, rapidjson::Value(rapidjson::kNullType));
            return;
        }
        try {
            add(name, to_json_value(value, allocator, name));
        } catch (const py::type_error&) {
            const py::object safe = json_module.attr("loads")(json_module.attr("dumps")(value, py::arg("default") = to_str));
            try {
                add(name, to_json_value(safe, allocator, name));
            } catch (const Error& e) {
                if (e.code() != ErrorCode::invalid_argument) throw;
                add_escaped(name, value);
            }
        } catch (const Error& e) {
            if (e.code() != ErrorCode::invalid_argument) throw;
            add_escaped(name, value);
        }
    };
    PyObject* attributes = PyObject_GenericGetDict(record.ptr(), nullptr);
    if (!attributes) throw py::error_already_set();
    const py::dict fields = py::reinterpret_steal<py::dict>(attributes);
    // A field of the record (borrowed; null when absent).
    auto field = [&](PyObject* name) -> py::handle { return PyDict_GetItemWithError(fields.ptr(), name); };
    auto required = [&](PyObject* name) -> py::handle {
        if (py::handle value = field(name)) return value;
        if (PyErr_Occurred()) throw py::error_already_set();
        return record.attr(py::handle(name));  // a record without it in __dict__: ask it (raises if absent)
    };

    const double created = required(k_created).cast<double>();
    const auto micros = std::chrono::microseconds(std::llround(created * 1e6));
    const std::string timestamp = format_rfc3339_millis(TimePoint(std::chrono::duration_cast<TimePoint::duration>(micros)));
    add("timestamp", rapidjson::Value(timestamp.data(), static_cast<rapidjson::SizeType>(timestamp.size()), allocator));
    add_py("level", required(k_levelname));
    const py::handle own_service = field(k_service_name);
    if (!own_service || own_service.is_none())
        add("service_name", rapidjson::Value(service_name.data(), static_cast<rapidjson::SizeType>(service_name.size()), allocator));
    else add_py("service_name", own_service);
    add_py("request_id", field(k_request_id));
    add_py("user_id", field(k_user_id));
    add_py("message", record_message(record, field(k_msg).ptr(), field(k_args).ptr()));
    add_py("logger_name", required(k_name));
    add_py("module", required(k_module));
    add_py("function", required(k_func_name));
    add_py("line", required(k_lineno));
    if (PyErr_Occurred()) throw py::error_already_set();
    for (auto [key, value] : fields) {
        if (!PyUnicode_Check(key.ptr())) continue;
        Py_ssize_t size = 0;
        const char* name = PyUnicode_AsUTF8AndSize(key.ptr(), &size);
        std::string escaped_name;
        if (!name) {
            PyErr_Clear();  // a lone surrogate in the name: stored as its JSON-escaped text
            escaped_name = escaped_text(key);
            escaped_name = escaped_name.substr(1, escaped_name.size() - 2);
            name = escaped_name.c_str();
            size = static_cast<Py_ssize_t>(escaped_name.size());
        }
        const std::string_view n(name, static_cast<std::size_t>(size));
        if (n.empty() || n.front() == '_' || PySet_Contains(standard.ptr(), key.ptr()) == 1 ||
            doc.HasMember(rapidjson::StringRef(name, static_cast<rapidjson::SizeType>(size))))
            continue;
        if (!escaped_name.empty()) add_escaped(n, value);
        else add_py(n, value);
    }
    const py::handle exc_info = field(k_exc_info);
    if (exc_info && PyObject_IsTrue(exc_info.ptr()) == 1 && !doc.HasMember("exception")) {
        const py::object format_with =
            formatter.is_none() ? py::module_::import("logging").attr("Formatter")() : py::reinterpret_borrow<py::object>(formatter);
        add_py("exception", format_with.attr("formatException")(exc_info));
    }
    if (!escaped.Empty()) {
        doc.RemoveMember(audit_log::escaped_member.data());
        doc.AddMember(rapidjson::StringRef(audit_log::escaped_member.data(), audit_log::escaped_member.size()), escaped,
                      allocator);
    }
    return doc;
}

}  // namespace

void bind_audit_log(py::module_& m) {
    py::class_<AuditLogSink, std::shared_ptr<AuditLogSink>>(
        m, "AuditLogSink",
        "Batched, journaled, hash-chained audit logs into an ObjectStore (see worm.logging).\n"
        "log() never touches the network; flush()/close() take a timeout in seconds.")
        .def(py::init([](std::shared_ptr<ObjectStore> store, const std::string& service_name, const std::string& prefix,
                         const std::string& min_level, std::size_t max_records, std::size_t max_bytes,
                         double max_interval, const std::string& lock_mode, int retention_days,
                         const std::string& journal_mode, std::optional<std::filesystem::path> journal_dir,
                         double fsync_interval, std::uint64_t max_journal_bytes, const std::string& policy,
                         double block_timeout, std::size_t checkpoint_batches, double checkpoint_interval,
                         py::handle signing_key, double close_timeout, int max_retries, const std::string& layout,
                         double close_max_wait, std::size_t max_in_flight, std::shared_ptr<ObjectStore> witness_store) {
                 AuditLogOptions o;
                 o.service_name = service_name;
                 o.prefix = prefix;
                 o.min_level = parse_log_level(min_level);
                 o.max_records = max_records;
                 o.max_bytes = max_bytes;
                 o.max_interval = millis(max_interval, "max_interval");
                 o.lock_mode = parse_lock_mode(lock_mode);
                 o.retention_days = retention_days;
                 if (journal_mode != "disk" && journal_mode != "memory")
                     throw Error(ErrorCode::invalid_argument, "journal_mode must be 'disk' or 'memory'");
                 o.journal_mode = journal_mode == "disk" ? JournalMode::disk : JournalMode::memory;
                 if (journal_dir) o.journal_dir = *journal_dir;
                 o.fsync_interval = millis(fsync_interval, "fsync_interval");
                 o.max_journal_bytes = max_journal_bytes;
                 if (policy != "block" && policy != "refuse")
                     throw Error(ErrorCode::invalid_argument, "policy must be 'block' or 'refuse'");
                 o.policy = policy == "block" ? BackpressurePolicy::block : BackpressurePolicy::refuse;
                 o.block_timeout = millis(block_timeout, "block_timeout");
                 o.checkpoint_batches = checkpoint_batches;
                 o.checkpoint_interval = millis(checkpoint_interval, "checkpoint_interval");
                 o.signing_key = signing_key_arg(signing_key);
                 o.witness_store = witness_store ? std::move(witness_store) : witness_store_from_env();
                 o.close_timeout = millis(close_timeout, "close_timeout");
                 o.max_retries = max_retries;
                 o.close_max_wait = millis(close_max_wait, "close_max_wait");
                 o.max_in_flight = max_in_flight;
                 if (layout != "batches" && layout != "per-record")
                     throw Error(ErrorCode::invalid_argument, "layout must be 'batches' or 'per-record'");
                 o.layout = layout == "batches" ? AuditLogLayout::batches : AuditLogLayout::per_record;
                 py::gil_scoped_release release;
                 return std::make_shared<AuditLogSink>(std::move(store), std::move(o));
             }),
             py::arg("store"), py::kw_only(), py::arg("service_name"), py::arg("prefix") = "audit-logs",
             py::arg("min_level") = "DEBUG", py::arg("max_records") = 5, py::arg("max_bytes") = 4 * 1024 * 1024,
             py::arg("max_interval") = 15.0, py::arg("lock_mode") = "GOVERNANCE", py::arg("retention_days") = 2557,
             py::arg("journal_mode") = "disk", py::arg("journal_dir") = py::none(), py::arg("fsync_interval") = 0.01,
             py::arg("max_journal_bytes") = 1024ull * 1024 * 1024, py::arg("policy") = "block",
             py::arg("block_timeout") = 1.0, py::arg("checkpoint_batches") = 100, py::arg("checkpoint_interval") = 60.0,
             py::arg("signing_key") = py::none(), py::arg("close_timeout") = 5.0, py::arg("max_retries") = 3,
             py::arg("layout") = "batches", py::arg("close_max_wait") = 60.0,
             py::arg("max_in_flight") = 8, py::arg("witness_store") = py::none())
        .def(
            "log",
            [](AuditLogSink& sink, py::handle record) {
                const rapidjson::Document doc = to_json(record);
                py::gil_scoped_release release;
                return audit_log::detail::log_value(sink, doc);
            },
            py::arg("record"), "Accept one record (a dict). False when below min_level.")
        .def(
            "log_record",
            [](AuditLogSink& sink, py::handle record, const std::string& service_name, py::handle standard,
               py::handle formatter) {
                const rapidjson::Document doc = record_document(record, service_name, standard, formatter);
                py::gil_scoped_release release;
                return audit_log::detail::log_value(sink, doc);
            },
            py::arg("record"), py::arg("service_name"), py::arg("standard_attributes"),
            py::arg("formatter") = py::none(),
            "Accept a logging.LogRecord in the seed's shape (worm.logging.build_record).")
        .def(
            "log_json",
            [](AuditLogSink& sink, const std::string& text) {
                py::gil_scoped_release release;
                return sink.log_json(text);
            },
            py::arg("record_json"))
        .def(
            "flush",
            [](AuditLogSink& sink, double timeout) {
                const auto t = millis(timeout, "timeout");
                py::gil_scoped_release release;
                return sink.flush(t);
            },
            py::arg("timeout") = 5.0, "Store everything accepted so far; False if the timeout passed first.")
        .def(
            "close",
            [](AuditLogSink& sink, double timeout) {
                const auto t = millis(timeout, "timeout");
                py::gil_scoped_release release;
                return sink.close(t);
            },
            py::arg("timeout") = 5.0, "flush(timeout), then stop; always returns within the timeout.")
        .def("stats", [](const AuditLogSink& sink) { return stats_dict(sink.stats()); });

    m.def(
        "audit_log_record",
        [](py::handle record, const std::string& service_name, py::handle standard, py::handle formatter) {
            return to_python(record_document(record, service_name, standard, formatter));
        },
        py::arg("record"), py::arg("service_name"), py::arg("standard_attributes"), py::arg("formatter") = py::none(),
        "The seed's record shape for a logging.LogRecord, as a dict (worm.logging.build_record).");
    m.def(
        "verify_audit_log",
        [](std::shared_ptr<ObjectStore> store, const std::string& prefix, std::optional<std::filesystem::path> public_key,
           std::optional<std::string> witness) {
            audit_log::VerifyOptions o;
            o.prefix = prefix;
            if (public_key) o.public_key = load_public_key(*public_key);
            if (witness) o.witnesses = audit_log::read_witnesses(*witness, prefix);
            audit_log::VerifyReport r;
            {
                py::gil_scoped_release release;
                r = audit_log::verify_audit_log(*store, o);
            }
            py::list problems;
            for (const auto& p : r.problems) {
                py::dict d;
                d["kind"] = std::string(audit_log::to_string(p.kind));
                d["stream"] = p.stream;
                d["key"] = to_py_str(p.key);
                d["detail"] = to_py_str(p.detail);
                problems.append(d);
            }
            py::dict d;
            d["valid"] = r.valid();
            d["problems"] = problems;
            d["batches_verified"] = r.batches_verified;
            d["records_verified"] = r.records_verified;
            d["report"] = to_py_str(audit_log::format_report(r));
            return d;
        },
        py::arg("store"), py::arg("prefix") = "audit-logs", py::arg("public_key") = py::none(),
        py::arg("witness") = py::none(),
        "Verify stored audit logs (as `worm logs verify [--witness]`); returns a dict with valid, problems, report.");
}

}  // namespace worm::python
