// Placeholder until the C++ part lands.
#include "bindings.hpp"

namespace worm::python {

void bind_uploader(py::module_&) {}

}  // namespace worm::python
