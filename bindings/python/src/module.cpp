// The extension module worm._worm. Import the package `worm`, not this module.
#include "bindings.hpp"

PYBIND11_MODULE(_worm, m) {
    m.doc() = "libworm's C++ core; use the package `worm`, which re-exports it.";
    using namespace worm::python;
    bind_errors(m);
    bind_json(m);
    bind_sigv4(m);
    bind_signer(m);
    bind_storage(m);
    bind_config(m);
    bind_uploader(m);
    bind_pipeline(m);
    bind_audit(m);
    bind_compliance(m);
    bind_audit_log(m);
    bind_migrate(m);
}
