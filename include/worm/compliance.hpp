// compliance.hpp: everything for auditors and operators at once: bucket setup and
// verification, the evidence audit, signed certificates, Sigstore bundles.
#pragma once

#include "worm/compliance/audit.hpp"
#include "worm/compliance/bucket.hpp"
#include "worm/compliance/certificate.hpp"
#include "worm/compliance/sigstore.hpp"
