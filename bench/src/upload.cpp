// Scenarios 4 and 5: PutObject throughput and client CPU against the nginx sink, and a
// large multipart upload (MB/s; the harness reads peak RSS).
#include <string>

#include "common.hpp"

#ifdef WORM_BENCH_HAVE_S3CLIENT
#include "worm/s3/client.hpp"
#endif

namespace bench {
namespace {

int run_upload(const Args& args) {
#ifdef WORM_BENCH_HAVE_S3_DISABLED
    return 0;
#else
    (void)args;
    unavailable("worm/s3/client.hpp is not in this tree yet");
#endif
}

int run_multipart(const Args& args) {
#ifdef WORM_BENCH_HAVE_S3_DISABLED
    return 0;
#else
    (void)args;
    unavailable("worm/s3/client.hpp is not in this tree yet");
#endif
}

const Register reg_upload("upload", "--endpoint URL --bucket B [--n N] [--size BYTES] [--concurrency C]", run_upload);
const Register reg_multipart("multipart", "--endpoint URL --bucket B --file F [--part-size BYTES] [--concurrency C]",
                             run_multipart);

}  // namespace
}  // namespace bench
