// export.hpp: WORM_API, the mark on what a shared libworm exports.
//
// libworm is compiled with hidden symbol visibility (static and shared alike): only
// declarations marked WORM_API are part of libworm.so's ABI, the rest stays internal.
// Mark every non-inline function and every class with out-of-line members or virtual
// functions in include/worm/; the shared build's tests (packaging_shared) fail to link
// when a mark is missing. The macro is the same in static and shared builds on ELF
// platforms, so both compile identical objects; Windows needs the dllexport/dllimport
// pair, and WORM_STATIC_DEFINE (set by CMake for a static libworm there).
//
// Example:
//   WORM_API std::string sha256_hex(std::string_view data);   // exported
//   class WORM_API LocalWormStore final : public ObjectStore { ... };
#pragma once

#if defined(WORM_STATIC_DEFINE)
#define WORM_API
#elif defined(_WIN32)
#ifdef WORM_BUILDING_LIBRARY
#define WORM_API __declspec(dllexport)
#else
#define WORM_API __declspec(dllimport)
#endif
#else
#define WORM_API __attribute__((visibility("default")))
#endif
