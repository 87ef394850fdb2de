# NixOS module: seed 000's `services.compliance-agent.worm` options, mapped to the WORM_*
# variables libworm reads (docs/uploader.md), for the agent's own service and for a
# `worm sync` timer that catches up bundles left pending by an outage.
#
#   imports = [ ./compliance-agent-worm.nix ];
#   services.compliance-agent.worm = {
#     enable = true;
#     mode = "direct";                      # or "proxy" (then mcpUrl)
#     s3Bucket = "msp-compliance-worm";
#     s3Region = "us-east-1";
#     retentionDays = 90;
#     autoUpload = true;
#     package = pkgs.libworm;               # whatever provides bin/worm
#     environmentFile = "/run/secrets/worm.env";  # AWS_* or MCP_API_KEY: never in the Nix store
#   };
#
# The module adds the variables to `systemd.services.compliance-agent` (the agent's service,
# defined by the agent's own module) and defines `worm-sync.service` + `worm-sync.timer`.
{ config, lib, ... }:

let
  cfg = config.services.compliance-agent.worm;
  inherit (lib) mkEnableOption mkIf mkOption types;

  # Option -> variable, as the seed's table pairs them.
  wormEnvironment = {
    WORM_ENABLED = lib.boolToString cfg.enable;
    WORM_MODE = cfg.mode;
    WORM_S3_REGION = cfg.s3Region;
    WORM_RETENTION_DAYS = toString cfg.retentionDays;
    WORM_AUTO_UPLOAD = lib.boolToString cfg.autoUpload;
  }
  // lib.optionalAttrs (cfg.s3Bucket != null) { WORM_S3_BUCKET = cfg.s3Bucket; }
  // lib.optionalAttrs (cfg.mcpUrl != null) { MCP_URL = cfg.mcpUrl; };

  # Secrets (AWS keys, MCP_API_KEY) come from a file outside the store; "-": optional.
  environmentFiles = lib.optional (cfg.environmentFile != null) "-${cfg.environmentFile}";
in
{
  options.services.compliance-agent.worm = {
    enable = mkEnableOption "upload of evidence bundles to WORM storage (WORM_ENABLED)";

    mode = mkOption {
      type = types.enum [ "proxy" "direct" ];
      default = "proxy";
      description = "WORM_MODE: proxy (through the MCP server, which holds the credentials) or direct (S3).";
    };

    s3Bucket = mkOption {
      type = types.nullOr types.str;
      default = null;
      example = "msp-compliance-worm";
      description = "WORM_S3_BUCKET: the Object Lock bucket (required in direct mode).";
    };

    s3Region = mkOption {
      type = types.str;
      default = "us-east-1";
      description = "WORM_S3_REGION: the bucket's AWS region.";
    };

    retentionDays = mkOption {
      type = types.int;
      default = 90;
      description = "WORM_RETENTION_DAYS: COMPLIANCE retention of each object (HIPAA: at least 90).";
    };

    autoUpload = mkOption {
      type = types.bool;
      default = true;
      description = "WORM_AUTO_UPLOAD: upload each bundle right after it is signed (else only `worm sync`).";
    };

    mcpUrl = mkOption {
      type = types.nullOr types.str;
      default = null;
      example = "https://mcp.yourcompany.com";
      description = "MCP_URL: the MCP server (worm-proxy) that proxy mode uploads through.";
    };

    environmentFile = mkOption {
      type = types.nullOr types.str;
      default = null;
      description = "A file of VAR=value lines for secrets (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, MCP_API_KEY).";
    };

    package = mkOption {
      type = types.package;
      description = "The libworm package whose bin/worm the sync timer runs.";
    };

    evidenceDir = mkOption {
      type = types.str;
      default = "/var/lib/msp-compliance-agent/evidence";
      description = "The agent's evidence directory (holds the upload registry).";
    };

    user = mkOption {
      type = types.str;
      default = "compliance-agent";
      description = "The user the sync runs as (the owner of evidenceDir).";
    };

    syncInterval = mkOption {
      type = types.str;
      default = "15min";
      description = "How long after the previous `worm sync` the next one runs (systemd time span).";
    };
  };

  config = mkIf cfg.enable {
    assertions = [
      {
        assertion = cfg.mode != "direct" || cfg.s3Bucket != null;
        message = "services.compliance-agent.worm: direct mode needs s3Bucket (bucket not configured)";
      }
      {
        assertion = cfg.mode != "proxy" || cfg.mcpUrl != null;
        message = "services.compliance-agent.worm: proxy mode needs mcpUrl (endpoint not configured)";
      }
      {
        assertion = cfg.retentionDays >= 90;
        message = "services.compliance-agent.worm: retentionDays must be at least 90 (HIPAA)";
      }
    ];

    systemd.services.compliance-agent = {
      environment = wormEnvironment;
      serviceConfig.EnvironmentFile = environmentFiles;
    };

    systemd.services.worm-sync = {
      description = "Upload pending compliance evidence to WORM storage (worm sync)";
      wants = [ "network-online.target" ];
      after = [ "network-online.target" ];
      environment = wormEnvironment;
      serviceConfig = {
        Type = "oneshot";
        User = cfg.user;
        ExecStart = "${cfg.package}/bin/worm sync --evidence-dir ${cfg.evidenceDir} --quiet";
        EnvironmentFile = environmentFiles;
        NoNewPrivileges = true;
        PrivateTmp = true;
        ProtectSystem = "strict";
        ProtectHome = true;
        ReadWritePaths = [ cfg.evidenceDir ];
      };
    };

    systemd.timers.worm-sync = {
      description = "Run worm sync periodically";
      wantedBy = [ "timers.target" ];
      timerConfig = {
        OnBootSec = "5min";
        OnUnitActiveSec = cfg.syncInterval;
        Persistent = true;
      };
    };
  };
}
