// Placeholder until the C++ part lands.
#include "bindings.hpp"

namespace worm::python {

void bind_pipeline(py::module_&) {}

}  // namespace worm::python
