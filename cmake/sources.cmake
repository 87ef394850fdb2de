# Every compiled source of libworm, listed by hand (no glob: what is built is what is
# reviewed). Add a new .cpp here, in the list of the part it belongs to; the configure
# step fails naming any .cpp under src/ or bindings/python/src/ that no list mentions
# (worm_check_source_lists below), so a file cannot be forgotten.
# Paths are relative to the project root.

# The library (target worm).
set(WORM_LIB_SOURCES
  src/lib/audit_log/format.cpp
  src/lib/audit_log/journal.cpp
  src/lib/audit_log/sink.cpp
  src/lib/audit_log/verify.cpp
  src/lib/bundle/builder.cpp
  src/lib/bundle/id_allocator.cpp
  src/lib/bundle/ids.cpp
  src/lib/bundle/schema.cpp
  src/lib/compliance/audit.cpp
  src/lib/compliance/audit_report.cpp
  src/lib/compliance/audit_source.cpp
  src/lib/compliance/bucket_json.cpp
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
  src/lib/compliance/report_wording.cpp
  src/lib/compliance/sigstore.cpp
  src/lib/config/config.cpp
  src/lib/crypto/ed25519.cpp
  src/lib/crypto/hash.cpp
  src/lib/http/curl_transport.cpp
  src/lib/http/http.cpp
  src/lib/json/helpers.cpp
  src/lib/json/parse.cpp
  src/lib/json/serialize.cpp
  src/lib/metrics/prometheus.cpp
  src/lib/migrate/migrate.cpp
  src/lib/migrate/report.cpp
  src/lib/migrate/signatures.cpp
  src/lib/migrate/source.cpp
  src/lib/migrate/state.cpp
  src/lib/pipeline/evidence_files.cpp
  src/lib/pipeline/pipeline.cpp
  src/lib/proxy/messages.cpp
  src/lib/proxy/protocol.cpp
  src/lib/proxy/proxy_store.cpp
  src/lib/registry/registry.cpp
  src/lib/registry/registry_json.cpp
  src/lib/registry/sqlite.cpp
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
  src/lib/signer/signer.cpp
  src/lib/storage/keys.cpp
  src/lib/storage/local_fs.cpp
  src/lib/storage/local_oplog.cpp
  src/lib/storage/local_sidecar.cpp
  src/lib/storage/local_store.cpp
  src/lib/storage/object_store.cpp
  src/lib/storage/open_store.cpp
  src/lib/time.cpp
  src/lib/uploader/uploader.cpp
  src/lib/util/crc32c.cpp
  src/lib/util/fs.cpp
  src/lib/util/percent_encoding.cpp
  src/lib/util/posix.cpp
  src/lib/util/url.cpp)

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
  src/cli/main.cpp)

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
