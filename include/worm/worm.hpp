// worm.hpp: everything at once, for programs that would rather not pick headers.
// Each header below is one concern; include just the ones you use to build faster.
//
// Example:
//   // #include <worm/worm.hpp>
//   std::cout << worm::sha256_hex("abc") << "\n";
#pragma once

#include "worm/error.hpp"
#include "worm/time.hpp"
#include "worm/retry.hpp"
#include "worm/canonical_json.hpp"
#include "worm/crypto.hpp"
#include "worm/ed25519.hpp"
#include "worm/bundle.hpp"
#include "worm/signer.hpp"
#include "worm/fs.hpp"
#include "worm/storage.hpp"
#include "worm/storage/keys.hpp"
#include "worm/storage/local.hpp"
#include "worm/http.hpp"
#include "worm/s3/sigv4.hpp"
#include "worm/s3/credentials.hpp"
#include "worm/s3/client.hpp"
#include "worm/s3/store.hpp"
#include "worm/proxy/store.hpp"
#include "worm/registry.hpp"
#include "worm/config.hpp"
#include "worm/uploader.hpp"
#include "worm/pipeline.hpp"
#include "worm/compliance.hpp"
