// multipart.cpp: multipart upload with per-part SHA-256 checksums, parts sent in
// parallel, and abort on failure so no half-upload lingers (and is billed); or kept, with
// its finished parts, for a resumable upload to continue.
#include <algorithm>
#include <atomic>
#include <exception>
#include <mutex>

#include "../util/worker_pool.hpp"
#include "client_internal.hpp"
#include "documents.hpp"
#include "worm/crypto.hpp"
#include "worm/s3/client.hpp"
#include "xml.hpp"

namespace worm::s3 {

namespace {

constexpr int max_parts = 10'000;

// The ETag S3 gives a multipart object: hex MD5 of the parts' raw MD5s, "-", part count.
// Empty when a part ETag is not a plain MD5 (SSE-KMS, some servers).
std::string expected_multipart_etag(const std::vector<CompletedPart>& parts) {
    std::string concatenated;
    for (const CompletedPart& p : parts) {
        if (p.etag.size() != 32) return "";
        try {
            concatenated += from_hex(p.etag);
        } catch (const Error&) {
            return "";
        }
    }
    return to_hex(md5(concatenated)) + "-" + std::to_string(parts.size());
}

}  // namespace

std::string S3Client::create_multipart_upload(const PutObjectOptions& options) {
    options.validate(now());
    S3Request r;
    r.method = "POST";
    r.bucket = options.bucket;
    r.key = options.key;
    r.query = {{"uploads", ""}};
    detail::add_object_headers(r.headers, options);
    r.headers.emplace_back("x-amz-checksum-algorithm", "SHA256");
    return detail::parse_create_multipart_upload(send(r).body);
}

namespace {

// UploadPart. SHA-256 always: it is both the signed payload hash and x-amz-checksum-sha256,
// and S3 checks both. Content-MD5 only when asked (a resumable upload): S3 asks a locked
// upload for Content-MD5 *or* a checksum header, and boto3 sends no MD5 with a checksum, but
// with it every server (Ceph RGW ignores x-amz-checksum-*) checks each part's bytes on
// receipt and answers with that MD5 as the part's ETag.
CompletedPart send_part(S3Client& client, const std::string& bucket, const std::string& key,
                        const std::string& upload_id, int part_number, const S3Body& body, bool content_md5) {
    if (part_number < 1 || part_number > max_parts)
        throw Error(ErrorCode::invalid_argument, "part number must be 1..10000, got " + std::to_string(part_number));
    if (upload_id.empty()) throw Error(ErrorCode::invalid_argument, "upload id is empty");
    const worm::detail::Digests d = detail::digest_body(body, content_md5);
    S3Request r;
    r.method = "PUT";
    r.bucket = bucket;
    r.key = key;
    r.query = {{"partNumber", std::to_string(part_number)}, {"uploadId", upload_id}};
    r.body = body;
    r.payload_sha256_hex = to_hex(d.sha256);
    r.headers.emplace_back("x-amz-checksum-sha256", base64_encode(d.sha256));
    if (content_md5) r.headers.emplace_back("content-md5", base64_encode(d.md5));
    const HttpResponse resp = client.send(r);
    CompletedPart part;
    part.number = part_number;
    part.etag = detail::strip_quotes(find_header(resp.headers, "etag").value_or(""));
    part.checksum_sha256 = base64_encode(d.sha256);
    if (part.etag.empty())
        throw Error(ErrorCode::storage, "UploadPart " + std::to_string(part_number) + " of " + bucket + "/" + key +
                                            " returned no ETag");
    return part;
}

}  // namespace

CompletedPart S3Client::upload_part(const std::string& bucket, const std::string& key, const std::string& upload_id,
                                    int part_number, const S3Body& body) {
    return send_part(*this, bucket, key, upload_id, part_number, body, false);
}

PutObjectResult S3Client::complete_multipart_upload(const std::string& bucket, const std::string& key,
                                                    const std::string& upload_id,
                                                    const std::vector<CompletedPart>& parts, bool if_none_match) {
    if (parts.empty()) throw Error(ErrorCode::invalid_argument, "CompleteMultipartUpload needs at least one part");
    pugi::xml_document doc;
    pugi::xml_node root = detail::s3_root(doc, "CompleteMultipartUpload");
    for (const CompletedPart& p : parts) {
        pugi::xml_node n = root.append_child("Part");
        detail::add_text(n, "PartNumber", std::to_string(p.number));
        detail::add_text(n, "ETag", "\"" + p.etag + "\"");
        if (!p.checksum_sha256.empty()) detail::add_text(n, "ChecksumSHA256", p.checksum_sha256);
    }
    S3Request r;
    r.method = "POST";
    r.bucket = bucket;
    r.key = key;
    r.query = {{"uploadId", upload_id}};
    r.headers.emplace_back("content-type", "application/xml");
    if (if_none_match) r.headers.emplace_back("if-none-match", "*");
    r.body = S3Body::bytes(detail::to_string(doc));
    r.error_in_ok_body = true;
    const std::string expected_etag = expected_multipart_etag(parts);

    HttpResponse resp;
    try {
        resp = send(r);
    } catch (const S3Error& e) {
        // A complete that succeeded but whose answer was lost, then retried, finds the
        // upload gone: it succeeded if the object now carries the ETag our parts give.
        if (e.s3_code() == "NoSuchUpload" && !expected_etag.empty()) {
            const ObjectHead head = head_object({.bucket = bucket, .key = key, .version_id = std::nullopt});
            if (head.etag == expected_etag) {
                PutObjectResult out;
                out.etag = head.etag;
                out.version_id = head.version_id;
                out.multipart = true;
                out.parts = static_cast<int>(parts.size());
                return out;
            }
        }
        if (if_none_match && e.http_status() == 412) throw S3Error(e.info(), ErrorCode::already_exists);
        throw;
    }
    PutObjectResult out;
    out.etag = detail::parse_complete_multipart_upload(resp.body);
    out.version_id = find_header(resp.headers, "x-amz-version-id").value_or("");
    if (out.version_id == "null") out.version_id.clear();
    out.multipart = true;
    out.parts = static_cast<int>(parts.size());
    if (!expected_etag.empty() && !out.etag.empty() && out.etag != expected_etag)
        throw Error(ErrorCode::integrity, "multipart object " + bucket + "/" + key + " has ETag " + out.etag +
                                              " but its parts give " + expected_etag);
    return out;
}

void S3Client::abort_multipart_upload(const std::string& bucket, const std::string& key, const std::string& upload_id) {
    S3Request r;
    r.method = "DELETE";
    r.bucket = bucket;
    r.key = key;
    r.query = {{"uploadId", upload_id}};
    send(r);
}

PutObjectResult S3Client::put_multipart(const PutObjectOptions& options) {
    MultipartCheckpoint fresh;
    return run_multipart(options, fresh, false);
}

PutObjectResult S3Client::put_object_resumable(const PutObjectOptions& options, MultipartCheckpoint& checkpoint) {
    options.validate(now());
    if (!std::holds_alternative<FileSlice>(options.body.source))
        throw Error(ErrorCode::invalid_argument, "a resumable upload needs a file body");
    if (!checkpoint.upload_id.empty()) {
        try {
            return run_multipart(options, checkpoint, true);
        } catch (const S3Error& e) {
            // Aborted or expired meanwhile: its parts are gone, so start over.
            if (e.s3_code() != "NoSuchUpload") throw;
        }
        checkpoint.upload_id.clear();
        checkpoint.parts.clear();
    }
    return run_multipart(options, checkpoint, true);
}

PutObjectResult S3Client::run_multipart(const PutObjectOptions& options, MultipartCheckpoint& checkpoint,
                                        bool keep_on_failure) {
    const std::uint64_t size = options.body.size();
    if (checkpoint.upload_id.empty()) {
        std::uint64_t part_size = checkpoint.part_size ? checkpoint.part_size : config_.part_size;
        if ((size + part_size - 1) / part_size > static_cast<std::uint64_t>(max_parts)) {
            // Grow parts (to whole MiB) so the object fits in S3's 10,000 parts.
            const std::uint64_t mib = 1ull << 20;
            part_size = ((size + max_parts - 1) / max_parts + mib - 1) / mib * mib;
        }
        checkpoint.part_size = part_size;
        checkpoint.parts.clear();
        checkpoint.upload_id = create_multipart_upload(options);
        if (checkpoint.on_created) checkpoint.on_created(checkpoint);
    }
    const std::uint64_t part_size = checkpoint.part_size;
    const int count = std::max(1, static_cast<int>((size + part_size - 1) / part_size));
    const std::string& upload_id = checkpoint.upload_id;

    std::vector<CompletedPart> parts(static_cast<size_t>(count));
    std::vector<int> missing;  // 0-based indexes still to send
    for (const CompletedPart& p : checkpoint.parts)
        if (p.number >= 1 && p.number <= count) parts[static_cast<size_t>(p.number - 1)] = p;
    for (int i = 0; i < count; ++i)
        if (parts[static_cast<size_t>(i)].number == 0) missing.push_back(i);

    std::atomic<size_t> next{0};
    std::atomic<bool> failed{false};
    std::exception_ptr first_error;
    std::mutex mutex;  // first_error, checkpoint.parts and on_part

    auto worker = [&] {
        while (!failed.load()) {
            const size_t m = next.fetch_add(1);
            if (m >= missing.size()) return;
            const int i = missing[m];
            try {
                const std::uint64_t offset = static_cast<std::uint64_t>(i) * part_size;
                const std::uint64_t length = std::min(part_size, size - offset);
                // A resumable upload's parts carry Content-MD5 too (see send_part).
                CompletedPart part = send_part(*this, options.bucket, options.key, upload_id, i + 1,
                                               detail::sub_body(options.body, offset, length), keep_on_failure);
                std::lock_guard lock(mutex);
                parts[static_cast<size_t>(i)] = part;
                checkpoint.parts.push_back(part);
                if (checkpoint.on_part) checkpoint.on_part(part);
            } catch (...) {
                std::lock_guard lock(mutex);
                if (!first_error) first_error = std::current_exception();
                failed.store(true);
                return;
            }
        }
    };
    worm::detail::run_workers(static_cast<std::size_t>(std::min(config_.parallel_parts, static_cast<int>(missing.size()))),
                        [&](std::size_t) { worker(); });  // this thread works too

    PutObjectResult out;
    try {
        if (first_error) std::rethrow_exception(first_error);
        out = complete_multipart_upload(options.bucket, options.key, upload_id, parts, options.if_none_match);
        if (options.sha256_hex) out.sent_sha256_hex = *options.sha256_hex;
    } catch (...) {
        // The original error is what the caller needs; a failed abort leaves an upload
        // that a lifecycle AbortIncompleteMultipartUpload rule cleans up.
        if (!keep_on_failure) {
            try {
                abort_multipart_upload(options.bucket, options.key, upload_id);
            } catch (const Error&) {
            }
        }
        throw;
    }
    if (out.etag.empty() || options.lock.retention || options.lock.legal_hold) ensure_multipart_result(options, out);
    return out;
}

void S3Client::ensure_multipart_result(const PutObjectOptions& options, PutObjectResult& out) {
    // Look at the version that was created: Ceph RGW 16.2 answers CompleteMultipartUpload
    // with an empty <ETag>, and ignores lock headers given to CreateMultipartUpload (the
    // object ends up unlocked; boto3's uploads too). put_object promises a locked version,
    // so a lock the server did not apply is applied to that version now.
    const std::optional<std::string> version = detail::version_of(out);
    const ObjectHead head = head_object({.bucket = options.bucket, .key = options.key, .version_id = version});
    if (out.etag.empty()) out.etag = head.etag;
    if (const auto& asked = options.lock.retention) {
        // At least as strong as asked (a bucket default may already hold it longer, or in COMPLIANCE).
        const bool applied = head.retention && head.retention->retain_until >= asked->retain_until &&
                             (head.retention->mode == asked->mode || head.retention->mode == LockMode::compliance);
        // put_object_retention reads a far date back itself (check_lock_stored).
        if (!applied)
            put_object_retention({.bucket = options.bucket,
                                  .key = options.key,
                                  .version_id = version,
                                  .retention = *asked,
                                  .bypass_governance = false});
        else
            check_lock_stored({.bucket = options.bucket, .key = options.key, .version_id = version}, *asked);
    }
    if (options.lock.legal_hold && !head.legal_hold)
        put_object_legal_hold({.bucket = options.bucket, .key = options.key, .version_id = version, .on = true});
}

}  // namespace worm::s3
