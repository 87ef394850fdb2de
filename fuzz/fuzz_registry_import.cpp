// Importing an agent's `.upload_registry.json` into the SQLite upload registry: any file
// content is imported or refused with a typed error, and after a refusal the registry is
// still usable and holds no half-imported rows.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>

#include "fuzz_support.hpp"
#include "worm/registry.hpp"

namespace {

// One scratch directory per process, emptied before every input.
const std::filesystem::path& scratch() {
    static const std::filesystem::path dir = [] {
        auto d = std::filesystem::temp_directory_path() / ("worm-fuzz-registry-" + std::to_string(::getpid()));
        std::filesystem::create_directories(d);
        return d;
    }();
    return dir;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const auto& dir = scratch();
    for (const auto& entry : std::filesystem::directory_iterator(dir)) std::filesystem::remove_all(entry.path());
    const auto json_path = dir / ".upload_registry.json";
    std::ofstream(json_path, std::ios::binary).write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
    worm::UploadRegistry registry(dir);
    bool imported = false;
    worm::fuzz::expect_typed([&] {
        (void)registry.import_json(json_path);
        imported = true;
    });
    const auto counts = registry.counts();
    if (!imported) {
        // A refused import is all or nothing.
        worm::fuzz::check(counts.total() == 0,
                          "a refused import left rows behind");
        return 0;
    }
    // What was imported exports and imports again without changes.
    worm::fuzz::expect_typed([&] {
        registry.export_json(dir / "out.json");
        const auto again = registry.import_json(dir / "out.json");
        worm::fuzz::check(again.imported == 0 && again.updated == 0, "re-import of the export changed rows");
    });
    return 0;
}
