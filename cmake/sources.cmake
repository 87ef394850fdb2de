# Every compiled source of libworm, listed by hand (no glob: what is built is what is
# reviewed). Add a new .cpp here, in the list of the part it belongs to; the configure
# step fails naming any .cpp under src/ or bindings/python/src/ that no list mentions
# (worm_check_source_lists below), so a file cannot be forgotten.
# Paths are relative to the project root.

# The library, one list per component (docs/architecture.md "Components"). Each list
# builds one library: worm::core, worm::s3, worm::uploader, worm::audit_log,
# worm::compliance; worm::worm is all of them. A file goes in the list of the component
# whose dependencies it needs; it may include headers of its own component and of the
# components that one depends on (checked by tests/packaging/check_layering.py).

# worm::core: JSON, hashing, Ed25519, bundles, signer, local WORM store, pipeline,
# configuration, the retry policy, Sigstore and cosign bundles (the pipeline's cosign format,
# seed 003's keys).
# OpenSSL; libsodium for cosign's encrypted private keys.
set(WORM_CORE_SOURCES
  src/lib/bundle/builder.cpp
  src/lib/bundle/id_allocator.cpp
  src/lib/bundle/ids.cpp
  src/lib/bundle/schema.cpp
  src/lib/compliance/cosign_bundle.cpp
  src/lib/compliance/cosign_keys.cpp
  src/lib/compliance/sigstore.cpp
  src/lib/config/config.cpp
  src/lib/config/platform_env.cpp
  src/lib/crypto/ed25519.cpp
  src/lib/crypto/hash.cpp
  src/lib/json/helpers.cpp
  src/lib/json/parse.cpp
  src/lib/json/serialize.cpp
  src/lib/pipeline/evidence_files.cpp
  src/lib/pipeline/pipeline.cpp
  src/lib/signer/signer.cpp
  src/lib/storage/file_url.cpp
  src/lib/storage/keys.cpp
  src/lib/storage/local_fs.cpp
  src/lib/storage/local_oplog.cpp
  src/lib/storage/local_sidecar.cpp
  src/lib/storage/local_store.cpp
  src/lib/storage/object_store.cpp
  src/lib/retry.cpp
  src/lib/time.cpp
  src/lib/util/crc32c.cpp
  src/lib/util/fs.cpp
  src/lib/util/percent_encoding.cpp
  src/lib/util/posix.cpp
  src/lib/util/url.cpp
  src/lib/util/worker_pool.cpp)

# worm::s3 (core +): HTTP transport, SigV4, credentials, S3Client, S3Store, the proxy
# store, and open_store()/open_configured_store() (they open every kind of store).
# libcurl, pugixml.
set(WORM_S3_SOURCES
  src/lib/aws/cloudwatch.cpp
  src/lib/aws/query_client.cpp
  src/lib/aws/sns.cpp
  src/lib/http/curl_transport.cpp
  src/lib/http/http.cpp
  src/lib/proxy/messages.cpp
  src/lib/proxy/protocol.cpp
  src/lib/proxy/proxy_store.cpp
  src/lib/s3/bucket_documents.cpp
  src/lib/s3/client.cpp
  src/lib/s3/client_bucket_config.cpp
  src/lib/s3/client_ops.cpp
  src/lib/s3/credentials.cpp
  src/lib/s3/credentials_http.cpp
  src/lib/s3/documents.cpp
  src/lib/s3/multipart.cpp
  src/lib/s3/retry.cpp
  src/lib/s3/sigv4.cpp
  src/lib/s3/store.cpp
  src/lib/storage/open_store.cpp)

# worm::uploader (core, s3 +): the SQLite upload registry, WormUploader, the pipeline's
# upload hook, metrics, and migration (it re-uploads through the uploader and records
# progress in SQLite, and needs no cairo). SQLite.
set(WORM_UPLOADER_SOURCES
  src/lib/metrics/prometheus.cpp
  src/lib/migrate/migrate.cpp
  src/lib/migrate/report.cpp
  src/lib/migrate/rollback.cpp
  src/lib/migrate/signatures.cpp
  src/lib/migrate/source.cpp
  src/lib/migrate/state.cpp
  src/lib/pipeline/pipeline_uploads.cpp
  src/lib/registry/registry.cpp
  src/lib/registry/registry_json.cpp
  src/lib/registry/sqlite.cpp
  src/lib/uploader/uploader.cpp)

# worm::audit_log (core +): the signed, hash-chained audit-log sink, its journal and verifier.
set(WORM_AUDIT_LOG_SOURCES
  src/lib/audit_log/batch_uploader.cpp
  src/lib/audit_log/checkpointer.cpp
  src/lib/audit_log/format.cpp
  src/lib/audit_log/journal.cpp
  src/lib/audit_log/journal_syncer.cpp
  src/lib/audit_log/object_writer.cpp
  src/lib/audit_log/options.cpp
  src/lib/audit_log/sink.cpp
  src/lib/audit_log/upload_state.cpp
  src/lib/audit_log/verify.cpp
  src/lib/audit_log/witness.cpp)

# worm::compliance (core, s3, uploader +): bucket setup/verify, the evidence audit, the
# compliance certificate (PDF). cairo.
set(WORM_COMPLIANCE_SOURCES
  src/lib/compliance/audit.cpp
  src/lib/compliance/audit_merge.cpp
  src/lib/compliance/audit_report.cpp
  src/lib/compliance/audit_source.cpp
  src/lib/compliance/bucket_json.cpp
  src/lib/compliance/bucket_options.cpp
  src/lib/compliance/bucket_policy.cpp
  src/lib/compliance/bucket_rules.cpp
  src/lib/compliance/bucket_setup.cpp
  src/lib/compliance/bucket_verify.cpp
  src/lib/compliance/certificate.cpp
  src/lib/compliance/certificate_pdf.cpp
  src/lib/compliance/certificate_pdf_sign.cpp
  src/lib/compliance/certificate_report.cpp
  src/lib/compliance/evidence_db.cpp
  src/lib/compliance/evidence_db_check.cpp
  src/lib/compliance/evidence_db_postgres.cpp
  src/lib/compliance/evidence_db_sqlite.cpp
  src/lib/compliance/report_wording.cpp)

# Every component in dependency order, and the components each one links (it may use
# their headers and symbols; nothing else). A component depends only on earlier ones, so
# the graph has no cycle. Its third-party libraries are in CMakeLists.txt (WORM_<c>_LIBS).
set(WORM_COMPONENTS core s3 uploader audit_log compliance)
set(WORM_core_USES)
set(WORM_s3_USES core)
set(WORM_uploader_USES core s3)
set(WORM_audit_log_USES core s3)  # the sink keys its journal by the S3 endpoint (S3Store)
set(WORM_compliance_USES core s3 uploader)
set(WORM_LIB_SOURCES ${WORM_CORE_SOURCES} ${WORM_S3_SOURCES} ${WORM_UPLOADER_SOURCES}
  ${WORM_AUDIT_LOG_SOURCES} ${WORM_COMPLIANCE_SOURCES})

# The `worm` command line (target worm_cli).
set(WORM_CLI_SOURCES
  src/cli/cmd_bucket.cpp
  src/cli/cmd_compliance.cpp
  src/cli/cmd_demo.cpp
  src/cli/cmd_evidence.cpp
  src/cli/cmd_logs.cpp
  src/cli/cmd_migrate.cpp
  src/cli/cmd_monitor.cpp
  src/cli/cmd_storage.cpp
  src/cli/cmd_upload.cpp
  src/cli/common.cpp
  src/cli/main.cpp
  src/cli/options.cpp)

# The `worm-proxy` server (target worm_proxy).
set(WORM_PROXY_SOURCES
  src/proxy_server/api.cpp
  src/proxy_server/main.cpp
  src/proxy_server/server.cpp
  src/proxy_server/settings.cpp)

# The pybind11 module worm._worm (target worm_python).
set(WORM_PYTHON_SOURCES
  bindings/python/src/audit.cpp
  bindings/python/src/audit_log.cpp
  bindings/python/src/compliance.cpp
  bindings/python/src/config.cpp
  bindings/python/src/errors.cpp
  bindings/python/src/json_convert.cpp
  bindings/python/src/migrate.cpp
  bindings/python/src/module.cpp
  bindings/python/src/pipeline.cpp
  bindings/python/src/signer.cpp
  bindings/python/src/sigv4.cpp
  bindings/python/src/storage.cpp
  bindings/python/src/uploader.cpp)

# Fails the configure step when a .cpp exists that no list above names (the glob is
# CONFIGURE_DEPENDS, so adding a file re-runs this check at the next build).
function(worm_check_source_lists)
  file(GLOB_RECURSE present CONFIGURE_DEPENDS RELATIVE "${PROJECT_SOURCE_DIR}"
    "${PROJECT_SOURCE_DIR}/src/*.cpp" "${PROJECT_SOURCE_DIR}/bindings/python/src/*.cpp")
  set(listed ${WORM_LIB_SOURCES} ${WORM_CLI_SOURCES} ${WORM_PROXY_SOURCES} ${WORM_PYTHON_SOURCES})
  set(unlisted ${present})
  list(REMOVE_ITEM unlisted ${listed})
  set(missing ${listed})
  list(REMOVE_ITEM missing ${present})
  if(unlisted OR missing)
    list(JOIN unlisted "\n  " unlisted_text)
    list(JOIN missing "\n  " missing_text)
    message(FATAL_ERROR "cmake/sources.cmake is out of date.\n"
      "Sources no list names (add each to its part's list):\n  ${unlisted_text}\n"
      "Listed sources that do not exist (remove them):\n  ${missing_text}")
  endif()
endfunction()
