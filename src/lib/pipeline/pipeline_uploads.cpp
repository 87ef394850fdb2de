// EvidencePipeline's upload hook: attach_uploader and enable_uploads. In worm::uploader,
// not with the rest of the pipeline (worm::core): they need WormUploader, its SQLite
// registry and the configured S3 or proxy store.
#include "worm/config.hpp"
#include "worm/error.hpp"
#include "worm/pipeline.hpp"
#include "worm/registry.hpp"
#include "worm/uploader.hpp"
#include "not_registered.hpp"

namespace worm {

void EvidencePipeline::attach_uploader(std::shared_ptr<WormUploader> uploader) {
    if (!uploader) throw Error(ErrorCode::invalid_argument, "attach_uploader needs an uploader");
    const std::string client_id = options_.client_id;
    set_store_hook([uploader, client_id](const BundleResult& r) {
        std::string id;
        try {
            id = uploader->enqueue(r.bundle_path, r.sig_path, client_id);
        } catch (const Error& e) {
            throw detail::NotRegistered(e);
        }
        if (!uploader->config().auto_upload) return std::make_pair(std::string(), std::string());  // the next sync()
        const UploadResult u = uploader->upload_registered(id);
        return std::make_pair(u.bundle_uri, u.sig_uri);
    });
}

std::shared_ptr<WormUploader> EvidencePipeline::enable_uploads(const WormConfig& config,
                                                               std::shared_ptr<ObjectStore> store) {
    return enable_uploads(config, std::move(store), UploaderOptions{});
}

std::shared_ptr<WormUploader> EvidencePipeline::enable_uploads(const WormConfig& config,
                                                               std::shared_ptr<ObjectStore> store,
                                                               const UploaderOptions& options) {
    if (!store && !config.enabled) return nullptr;
    // No store given: the uploader opens the configured one at the first upload.
    auto uploader = std::make_shared<WormUploader>(config, std::move(store),
                                                   std::make_shared<UploadRegistry>(options_.evidence_dir), options);
    attach_uploader(uploader);
    return uploader;
}

}  // namespace worm
