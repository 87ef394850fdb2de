// multipart.cpp: multipart upload with per-part SHA-256 checksums, parts sent in
// parallel, and abort on failure so no half-upload lingers (and is billed).
#include <atomic>
#include <exception>
#include <mutex>
#include <thread>

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

CompletedPart S3Client::upload_part(const std::string& bucket, const std::string& key, const std::string& upload_id,
                                    int part_number, const S3Body& body) {
    if (part_number < 1 || part_number > max_parts)
        throw Error(ErrorCode::invalid_argument, "part number must be 1..10000, got " + std::to_string(part_number));
    if (upload_id.empty()) throw Error(ErrorCode::invalid_argument, "upload id is empty");
    // SHA-256 only: it is both the signed payload hash and x-amz-checksum-sha256, and S3
    // checks both. Content-MD5 would add nothing but a second, slower pass (S3 asks a locked
    // upload for Content-MD5 *or* a checksum header; boto3 sends no MD5 with a checksum).
    const detail::BodyDigests d = detail::digest_body(body, false);
    S3Request r;
    r.method = "PUT";
    r.bucket = bucket;
    r.key = key;
    r.query = {{"partNumber", std::to_string(part_number)}, {"uploadId", upload_id}};
    r.body = body;
    r.payload_sha256_hex = to_hex(d.sha256);
    r.headers.emplace_back("x-amz-checksum-sha256", base64_encode(d.sha256));
    const HttpResponse resp = send(r);
    CompletedPart part;
    part.number = part_number;
    part.etag = detail::strip_quotes(find_header(resp.headers, "etag").value_or(""));
    part.checksum_sha256 = base64_encode(d.sha256);
    if (part.etag.empty())
        throw Error(ErrorCode::storage, "UploadPart " + std::to_string(part_number) + " of " + bucket + "/" + key +
                                            " returned no ETag");
    return part;
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
    const std::uint64_t size = options.body.size();
    std::uint64_t part_size = config_.part_size;
    if ((size + part_size - 1) / part_size > static_cast<std::uint64_t>(max_parts)) {
        // Grow parts (to whole MiB) so the object fits in S3's 10,000 parts.
        const std::uint64_t mib = 1ull << 20;
        part_size = ((size + max_parts - 1) / max_parts + mib - 1) / mib * mib;
    }
    const int count = static_cast<int>((size + part_size - 1) / part_size);

    const std::string upload_id = create_multipart_upload(options);
    std::vector<CompletedPart> parts(static_cast<size_t>(count));
    std::atomic<int> next{0};
    std::atomic<bool> failed{false};
    std::exception_ptr first_error;
    std::mutex error_mutex;

    auto worker = [&] {
        while (!failed.load()) {
            const int i = next.fetch_add(1);
            if (i >= count) return;
            try {
                const std::uint64_t offset = static_cast<std::uint64_t>(i) * part_size;
                const std::uint64_t length = std::min(part_size, size - offset);
                parts[static_cast<size_t>(i)] =
                    upload_part(options.bucket, options.key, upload_id, i + 1, detail::sub_body(options.body, offset, length));
            } catch (...) {
                std::lock_guard lock(error_mutex);
                if (!first_error) first_error = std::current_exception();
                failed.store(true);
                return;
            }
        }
    };
    const int threads = std::min(config_.parallel_parts, count);
    std::vector<std::thread> pool;
    for (int t = 1; t < threads; ++t) pool.emplace_back(worker);
    worker();  // this thread works too
    for (std::thread& t : pool) t.join();

    PutObjectResult out;
    try {
        if (first_error) std::rethrow_exception(first_error);
        out = complete_multipart_upload(options.bucket, options.key, upload_id, parts, options.if_none_match);
        if (options.sha256_hex) out.sent_sha256_hex = *options.sha256_hex;
    } catch (...) {
        // The original error is what the caller needs; a failed abort leaves an upload
        // that a lifecycle AbortIncompleteMultipartUpload rule cleans up.
        try {
            abort_multipart_upload(options.bucket, options.key, upload_id);
        } catch (const Error&) {
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
    const std::optional<std::string> version =
        out.version_id.empty() ? std::nullopt : std::optional<std::string>(out.version_id);
    const ObjectHead head = head_object({.bucket = options.bucket, .key = options.key, .version_id = version});
    if (out.etag.empty()) out.etag = head.etag;
    if (const auto& asked = options.lock.retention) {
        // At least as strong as asked (a bucket default may already hold it longer, or in COMPLIANCE).
        const bool applied = head.retention && head.retention->retain_until >= asked->retain_until &&
                             (head.retention->mode == asked->mode || head.retention->mode == LockMode::compliance);
        if (!applied)
            put_object_retention({.bucket = options.bucket,
                                  .key = options.key,
                                  .version_id = version,
                                  .retention = *asked,
                                  .bypass_governance = false});
    }
    if (options.lock.legal_hold && !head.legal_hold)
        put_object_legal_hold({.bucket = options.bucket, .key = options.key, .version_id = version, .on = true});
}

}  // namespace worm::s3
