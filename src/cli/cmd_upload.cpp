#include "commands.hpp"
namespace worm::cli {
std::vector<Command> upload_commands() { return {}; }
}
