"""No default password anywhere (seed 004 handed every unit `123456`): every credential in the
repository's configuration — compose, Dockerfile, provisioning, mappings, settings — is required
from the operator or generated on first start, never written down."""
from __future__ import annotations

import re
import subprocess
from pathlib import Path

from creditstream.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
CONFIG = re.compile(r"(^|/)(Dockerfile[^/]*|docker-compose[^/]*|[^/]+\.(ya?ml|toml|properties|ini|cfg|conf|env|json))$")
CREDENTIAL_KEY = r"(?:[A-Za-z0-9_.-]*(?:passw(?:or)?d|passwd|pwd|secret|api[_-]?key|token|credential)[A-Za-z0-9_.-]*)"
# key: value, key = value, KEY=value (env, properties, yaml, toml, compose), capturing the value
ASSIGNMENT = re.compile(rf"(?i)(?<![{{$\w.-])(?P<key>{CREDENTIAL_KEY})\s*[:=]\s*(?P<value>[^\s#,}}]+)")
URL_PASSWORD = re.compile(r"://[^/\s:@]+:(?P<value>[^@\s/]+)@")
WELL_KNOWN = re.compile(r"(?i)(?<![\w$])(123456|12345678|changeme|change_me|admin:admin|root:root|"
                        r"password123|p@ssw0rd|secret123|guest:guest)(?!\w)")


def required_or_empty(value: str) -> bool:
    """A reference the operator must fill (${X:?...}, ${X}, $X), a secrets file, or nothing."""
    value = value.strip("'\"")
    if value in ("", "null", "~", "\"\"", "''", "false", "true", "none", "None"):
        return True
    if re.match(r"\$\{[A-Za-z_][A-Za-z0-9_]*(\}|:?\?)", value):  # ${X} or ${X:?message}; never ${X:-default}
        return True
    if re.fullmatch(r"\$[A-Za-z_][A-Za-z0-9_]*", value):
        return True
    return value.startswith(("/run/secrets/", "<")) or value.endswith(("_FILE", "_file"))


def findings(path: str, text: str) -> list[str]:
    found = []
    for number, line in enumerate(text.splitlines(), 1):
        if line.lstrip().startswith(("#", "//", ";")):
            continue
        for m in ASSIGNMENT.finditer(line):
            if not required_or_empty(m["value"]) and not m["value"].startswith(("[", "{", "|", ">")) and m["value"] != "-":
                found.append(f"{path}:{number}: {m['key']} has a literal value")
        for m in URL_PASSWORD.finditer(line):
            if not required_or_empty(m["value"]):
                found.append(f"{path}:{number}: a password written into a URL")
        for m in WELL_KNOWN.finditer(line):
            found.append(f"{path}:{number}: the well-known default {m[1]!r}")
    return found


def config_files() -> list[str]:
    listed = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                            capture_output=True, text=True, check=True).stdout.split()
    return [p for p in listed if CONFIG.search(p) and not p.startswith(("tests/", "bench/"))
            and (ROOT / p).is_file()]


def test_the_scan_finds_what_it_looks_for():
    """A check that cannot fail proves nothing: each kind of default is caught."""
    bad = ("services:\n  db:\n    environment:\n      POSTGRES_PASSWORD: 123456\n"
           "      CLICKHOUSE_PASSWORD: ${CLICKHOUSE_PASSWORD:-creditstream}\n"
           "dsn = http://user:hunter2@clickhouse:8123\napi_token = 'abc'\n")
    assert len(findings("x.yml", bad)) == 5, findings("x.yml", bad)
    good = ("      CLICKHOUSE_PASSWORD: ${CLICKHOUSE_PASSWORD:?set CLICKHOUSE_PASSWORD}\n"
            "      password: $CLICKHOUSE_PASSWORD\n      KEYS: /run/secrets/keys\n"
            "DSN: http://creditstream:${CLICKHOUSE_PASSWORD:?set it}@clickhouse:8123\n")
    assert findings("y.yml", good) == []


def test_no_configuration_file_holds_a_default_credential():
    files = config_files()
    assert any(p.endswith("docker-compose.yml") for p in files) and len(files) > 10, files
    problems = [f for p in files for f in findings(p, (ROOT / p).read_text(encoding="utf-8", errors="replace"))]
    assert problems == []


def test_settings_hold_no_credential_default():
    for name, field in Settings.model_fields.items():
        if field.annotation is str and re.search(r"passw|secret|token|api_key|credential|dsn", name):
            assert field.default in ("", None), f"Settings.{name} defaults to a value"
