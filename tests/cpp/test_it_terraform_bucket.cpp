// The Terraform module examples/terraform/worm-bucket makes the bucket `worm bucket setup`
// makes. Always: `terraform validate` (offline, with the provider from a local mirror).
// With WORM_TEST_TERRAFORM_APPLY=1 (about 2.5 minutes: the provider waits on lifecycle
// consistency): `terraform apply` against moto, then `worm bucket verify` passes every row
// and `worm bucket setup` finds nothing to change.
// Needs terraform on PATH and the hashicorp/aws provider in WORM_TF_PLUGIN_DIR (default
// /opt/tf-plugins, a `terraform providers mirror` layout); without them the cases are skipped
// with a message.
#include <doctest/doctest.h>

#include "support/s3_peer.hpp"
#include "support/test_env.hpp"

namespace t = worm::test;
namespace fs = std::filesystem;

namespace {

fs::path plugin_dir() { return t::env_or("WORM_TF_PLUGIN_DIR", "/opt/tf-plugins"); }

bool terraform_available() {
    const bool ok = t::run_command({"terraform", "version"}).exit_code == 0 &&
                    fs::exists(plugin_dir() / "registry.terraform.io" / "hashicorp" / "aws");
    if (!ok) MESSAGE("terraform or its aws provider mirror (" << plugin_dir().string() << ") is missing: skipped");
    return ok;
}

const std::vector<std::string> tf_env{"TF_CLI_CONFIG_FILE=/dev/null", "TF_IN_AUTOMATION=1", "CHECKPOINT_DISABLE=1"};

t::CommandResult terraform(const fs::path& dir, std::vector<std::string> args) {
    args.insert(args.begin(), {"terraform", "-chdir=" + dir.string()});
    return t::run_command(args, tf_env);
}

// A root configuration that uses the module with the given provider block.
void write_root(const fs::path& dir, const std::string& provider, const std::string& bucket,
                const std::string& extra_arguments = "") {
    const fs::path module = t::source_dir() / "examples" / "terraform" / "worm-bucket";
    t::write_file(dir / "main.tf", provider + "\nmodule \"evidence\" {\n  source      = \"" + fs::absolute(module).string() +
                                       "\"\n  bucket_name = \"" + bucket + "\"\n" + extra_arguments +
                                       "}\noutput \"bucket_name\" {\n  value = module.evidence.bucket_name\n}\n");
}

void init(const fs::path& dir) {
    const t::CommandResult r = terraform(dir, {"init", "-input=false", "-no-color", "-plugin-dir=" + plugin_dir().string()});
    REQUIRE_MESSAGE(r.exit_code == 0, r.out << r.err);
}

}  // namespace

TEST_CASE("the Terraform module validates") {
    if (!terraform_available()) return;
    t::TempDir dir("worm-tf");
    write_root(dir.path(), "provider \"aws\" {\n  region = \"us-east-1\"\n}\n", "evidence-bucket");
    init(dir.path());
    const t::CommandResult v = terraform(dir.path(), {"validate", "-no-color"});
    CHECK_MESSAGE(v.exit_code == 0, v.out << v.err);
    // The variables' validation refuses what the seed refuses (retention under 90 days).
    write_root(dir.path(), "provider \"aws\" {\n  region = \"us-east-1\"\n}\n", "evidence-bucket",
               "  retention_days = 30\n");
    const t::CommandResult short_retention = terraform(dir.path(), {"validate", "-no-color"});
    CHECK(short_retention.exit_code != 0);
    CHECK_MESSAGE(short_retention.err.find("retention_days must be at least 90") != std::string::npos,
                  short_retention.out << short_retention.err);
}

TEST_CASE("terraform apply makes a bucket that worm bucket verify passes and setup leaves alone") {
    if (t::env_or("WORM_TEST_TERRAFORM_APPLY", "") != "1") {
        MESSAGE("set WORM_TEST_TERRAFORM_APPLY=1 to apply the module against moto (about 2.5 minutes)");
        return;
    }
    if (!terraform_available()) return;
    // Terraform is the client under test here, not signatures: the moto without signature checks.
    t::S3Peer& peer = t::S3Peer::for_encoded_names();
    const std::string bucket = t::S3Peer::unique_bucket("tf");
    t::TempDir dir("worm-tf");
    write_root(dir.path(),
               "provider \"aws\" {\n  region = \"us-east-1\"\n  access_key = \"test\"\n  secret_key = \"test\"\n"
               "  skip_credentials_validation = true\n  skip_requesting_account_id = true\n"
               "  skip_metadata_api_check = true\n  s3_use_path_style = true\n  endpoints {\n"
               "    s3  = \"" + peer.endpoint() + "\"\n    iam = \"" + peer.endpoint() + "\"\n    sts = \"" +
                   peer.endpoint() + "\"\n  }\n}\n",
               bucket);
    init(dir.path());
    const t::CommandResult apply = terraform(dir.path(), {"apply", "-input=false", "-auto-approve", "-no-color"});
    REQUIRE_MESSAGE(apply.exit_code == 0, apply.out << apply.err);
    CHECK(apply.out.find("Resources: 8 added") != std::string::npos);

    const std::vector<std::string> env{"AWS_ENDPOINT_URL=" + peer.endpoint(), "AWS_ACCESS_KEY_ID=test",
                                       "AWS_SECRET_ACCESS_KEY=test", "AWS_REGION=us-east-1", "AWS_ENDPOINT_URL_S3="};
    const t::CommandResult verify = t::run_command(
        {t::cli_path(), "bucket", "verify", "--store", "s3://" + bucket, "--mode", "COMPLIANCE"}, env);
    CHECK_MESSAGE(verify.exit_code == 0, verify.out << verify.err);
    CHECK(verify.out.find("all checks passed") != std::string::npos);
    const t::CommandResult setup = t::run_command({t::cli_path(), "bucket", "setup", "--store", "s3://" + bucket}, env);
    CHECK_MESSAGE(setup.exit_code == 0, setup.err);
    CHECK_MESSAGE(setup.out.find("nothing changed") != std::string::npos, setup.out);
}
