// s3_locked_put: store a file in an Object Lock bucket with COMPLIANCE retention and
// show what the server recorded.
//
//   AWS_ENDPOINT_URL=http://127.0.0.1:9000 AWS_ACCESS_KEY_ID=... AWS_SECRET_ACCESS_KEY=...
//   example_s3_locked_put BUCKET KEY FILE DAYS
#include <worm/error.hpp>
#include <worm/s3/client.hpp>

#include <charconv>
#include <iostream>

int main(int argc, char** argv) {
    if (argc != 5) {
        std::cerr << "usage: " << argv[0] << " BUCKET KEY FILE DAYS\n";
        return 2;
    }
    int days = 0;
    std::from_chars(argv[4], argv[4] + std::char_traits<char>::length(argv[4]), days);
    try {
        // Endpoint, region, addressing and credentials come from the usual AWS variables.
        auto client = std::make_shared<worm::s3::S3Client>(worm::s3::ClientConfig::from_env());

        worm::s3::PutObjectOptions put;
        put.bucket = argv[1];
        put.key = argv[2];
        put.body = worm::s3::S3Body::file(argv[3]);  // streamed; multipart above 64 MiB
        put.lock.retention = worm::Retention{worm::LockMode::compliance,
                                             std::chrono::system_clock::now() + std::chrono::days(days)};
        const auto result = client->put_object(put);  // sends x-amz-checksum-sha256 and Content-MD5

        worm::s3::HeadObjectOptions head;
        head.bucket = put.bucket;
        head.key = put.key;
        head.version_id = result.version_id;
        const auto info = client->head_object(head);
        std::cout << "stored " << put.key << " version " << result.version_id << "\n";
        if (info.retention)
            std::cout << "locked " << worm::to_string(info.retention->mode) << " until "
                      << worm::format_rfc3339(info.retention->retain_until) << "\n";
        return 0;
    } catch (const worm::S3Error& e) {
        std::cerr << "S3 refused: " << e.s3_code() << " (HTTP " << e.http_status() << "): " << e.what() << "\n";
        return 3;
    } catch (const worm::Error& e) {
        std::cerr << "error (" << worm::to_string(e.code()) << "): " << e.what() << "\n";
        return 2;
    }
}
