// Placeholder until the C++ part lands.
#include "bindings.hpp"

namespace worm::python {

void bind_storage(py::module_&) {}

}  // namespace worm::python
