"""The deployment examples for seed 000's agents: the systemd units (examples/systemd/)
pass `systemd-analyze verify` with ExecStart pointing at the built worm, and the NixOS
module (examples/nixos/) parses and maps the seed's options to the WORM_* variables.

The module is evaluated by nix-instantiate itself; nixpkgs is not installed (and the
internet is not used), so the evaluation hands it a small `lib` with the few functions
it calls (mkOption, mkIf, types, ...): what is checked is the module's own mapping,
defaults and assertions, not the NixOS module system."""

import json
import os
import shutil
import subprocess
import tempfile
import unittest
from pathlib import Path

from worm_test_support import SOURCE_DIR, worm_cli

SYSTEMD_DIR = SOURCE_DIR / "examples" / "systemd"
NIX_MODULE = SOURCE_DIR / "examples" / "nixos" / "compliance-agent-worm.nix"

# The seed's table: option -> (variable, default).
SEED_OPTIONS = {
    "enable": ("WORM_ENABLED", False),
    "mode": ("WORM_MODE", "proxy"),
    "s3Bucket": ("WORM_S3_BUCKET", None),
    "s3Region": ("WORM_S3_REGION", "us-east-1"),
    "retentionDays": ("WORM_RETENTION_DAYS", 90),
    "autoUpload": ("WORM_AUTO_UPLOAD", True),
}

STUB_LIB = """
{
  mkOption = attrs: attrs // { _option = true; };
  mkEnableOption = description: { _option = true; type = "bool"; default = false; inherit description; };
  mkIf = cond: content: if cond then content else { };
  boolToString = b: if b then "true" else "false";
  optionalAttrs = cond: attrs: if cond then attrs else { };
  optional = cond: x: if cond then [ x ] else [ ];
  types = {
    enum = values: { enum = values; };
    nullOr = t: { nullOr = t; };
    str = "str"; int = "int"; bool = "bool"; package = "package";
  };
}
"""


def nix_eval(expression):
    result = subprocess.run(["nix-instantiate", "--eval", "--strict", "--json", "-E", expression],
                            capture_output=True, text=True, timeout=120)
    if result.returncode != 0:
        raise AssertionError(f"nix-instantiate --eval failed: {result.stderr}")
    return json.loads(result.stdout)


@unittest.skipUnless(shutil.which("nix-instantiate"), "nix-instantiate (Debian's nix-bin) not installed")
class NixosModule(unittest.TestCase):
    def evaluate(self, worm):
        expression = f"""
          let
            lib = {STUB_LIB};
            module = import {NIX_MODULE};
            result = module {{ inherit lib; config = {{ services.compliance-agent.worm = {worm}; }}; }};
          in {{
            options = result.options.services.compliance-agent.worm;
            config = result.config;
          }}
        """
        return nix_eval(expression)

    def settings(self, **overrides):
        values = {"enable": True, "mode": "direct", "s3Bucket": "msp-compliance-worm", "s3Region": "eu-west-1",
                  "retentionDays": 120, "autoUpload": False, "mcpUrl": None, "environmentFile": "/run/secrets/worm.env",
                  "package": "/nix/store/0000-libworm", "evidenceDir": "/var/lib/msp-compliance-agent/evidence",
                  "user": "compliance-agent", "syncInterval": "15min"}
        values.update(overrides)

        def nix(v):
            if v is None:
                return "null"
            if isinstance(v, bool):
                return "true" if v else "false"
            if isinstance(v, int):
                return str(v)
            return json.dumps(v)
        return "{ " + " ".join(f"{k} = {nix(v)};" for k, v in values.items()) + " }"

    def test_parses(self):
        result = subprocess.run(["nix-instantiate", "--parse", str(NIX_MODULE)], capture_output=True, text=True,
                                timeout=120)
        self.assertEqual(result.returncode, 0, result.stderr)

    def test_seed_options_and_defaults(self):
        options = self.evaluate(self.settings())["options"]
        for name, (_, default) in SEED_OPTIONS.items():
            self.assertIn(name, options)
            self.assertEqual(options[name]["default"], default, name)
        self.assertEqual(options["mode"]["type"], {"enum": ["proxy", "direct"]})

    def test_options_map_to_worm_variables(self):
        config = self.evaluate(self.settings())["config"]
        env = config["systemd"]["services"]["compliance-agent"]["environment"]
        self.assertEqual(env, {"WORM_ENABLED": "true", "WORM_MODE": "direct", "WORM_S3_BUCKET": "msp-compliance-worm",
                               "WORM_S3_REGION": "eu-west-1", "WORM_RETENTION_DAYS": "120",
                               "WORM_AUTO_UPLOAD": "false"})
        for name, (variable, _) in SEED_OPTIONS.items():
            self.assertIn(variable, env, name)
        sync = config["systemd"]["services"]["worm-sync"]
        self.assertEqual(sync["environment"], env)
        self.assertEqual(sync["serviceConfig"]["ExecStart"],
                         "/nix/store/0000-libworm/bin/worm sync --evidence-dir "
                         "/var/lib/msp-compliance-agent/evidence --quiet")
        self.assertEqual(sync["serviceConfig"]["EnvironmentFile"], ["-/run/secrets/worm.env"])
        self.assertEqual(config["systemd"]["timers"]["worm-sync"]["timerConfig"]["OnUnitActiveSec"], "15min")
        self.assertTrue(all(a["assertion"] for a in config["assertions"]))

    def test_proxy_mode_and_assertions(self):
        config = self.evaluate(self.settings(mode="proxy", s3Bucket=None, mcpUrl="https://mcp.example"))["config"]
        env = config["systemd"]["services"]["compliance-agent"]["environment"]
        self.assertEqual(env["WORM_MODE"], "proxy")
        self.assertEqual(env["MCP_URL"], "https://mcp.example")
        self.assertNotIn("WORM_S3_BUCKET", env)
        failing = self.evaluate(self.settings(s3Bucket=None, retentionDays=30))["config"]["assertions"]
        messages = [a["message"] for a in failing if not a["assertion"]]
        self.assertEqual(len(messages), 2, messages)
        self.assertIn("bucket not configured", messages[0])
        self.assertIn("at least 90", messages[1])

    def test_disabled_sets_nothing(self):
        self.assertEqual(self.evaluate(self.settings(enable=False))["config"], {})


@unittest.skipUnless(shutil.which("systemd-analyze"), "systemd-analyze not installed")
class SystemdUnits(unittest.TestCase):
    def verify(self, unit_dir):
        result = subprocess.run(["systemd-analyze", "verify", "--man=no", str(unit_dir / "worm-sync.service"),
                                 str(unit_dir / "worm-sync.timer")], capture_output=True, text=True, timeout=120)
        return result.returncode, result.stdout + result.stderr

    def units_with_worm(self, worm_path):
        """The example units in a temp dir, ExecStart pointing at worm_path."""
        tmp = Path(tempfile.mkdtemp(prefix="worm-units-"))
        self.addCleanup(shutil.rmtree, tmp, True)
        service = (SYSTEMD_DIR / "worm-sync.service").read_text()
        self.assertIn("ExecStart=/usr/local/bin/worm sync ", service)
        (tmp / "worm-sync.service").write_text(service.replace("/usr/local/bin/worm", worm_path))
        shutil.copy(SYSTEMD_DIR / "worm-sync.timer", tmp / "worm-sync.timer")
        return tmp

    def test_units_verify_with_the_built_worm(self):
        worm = worm_cli()
        if worm is None:
            self.skipTest("the worm CLI is not built")
        code, output = self.verify(self.units_with_worm(os.path.abspath(worm)))
        self.assertEqual(code, 0, output)
        # Unknown or misspelt settings are only warnings to verify: none are allowed here.
        self.assertNotIn("Unknown", output)
        self.assertNotIn("ignoring", output)

    def test_verify_fails_without_the_binary(self):
        code, output = self.verify(self.units_with_worm("/nonexistent/worm"))
        self.assertNotEqual(code, 0)
        self.assertIn("/nonexistent/worm", output)

    def test_env_file_names_the_seed_variables(self):
        text = (SYSTEMD_DIR / "worm.env").read_text()
        for variable, _ in SEED_OPTIONS.values():
            self.assertIn(variable + "=", text)


if __name__ == "__main__":
    unittest.main()
