// compliance.hpp: everything for auditors and operators at once: bucket setup and
// verification, the evidence audit, signed certificates, Sigstore bundles.
//
// Example:
//   worm::compliance::AuditReport report =
//       worm::compliance::audit({.store_url = "s3://evidence", .prefix = "evidence/"});
//   worm::compliance::write_audit_report(report, "audit-out");  // report.json + report.html
//   worm::compliance::issue_certificate({.report_path = "audit-out/report.json", .output_dir = "certificate"},
//                                       worm::load_private_key("private.pem"));
#pragma once

#include "worm/compliance/audit.hpp"
#include "worm/compliance/bucket.hpp"
#include "worm/compliance/certificate.hpp"
#include "worm/compliance/evidence_db.hpp"
#include "worm/compliance/sigstore.hpp"
