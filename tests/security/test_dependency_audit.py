"""The installed dependencies against the known-vulnerability database (pip-audit). Fails on any
known vulnerability; skips, saying so, only when the vulnerability service cannot be reached —
then not one dependency could be looked up, which is not the same as none being vulnerable."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest


def pip_audit() -> str:
    found = shutil.which("pip-audit", path=str(Path(sys.executable).parent))
    if found is None:
        pytest.fail("pip-audit is not installed: it is in the test extras (pip install -e '.[test]')")
    return found


def test_no_installed_dependency_has_a_known_vulnerability(tmp_path):
    report = tmp_path / "audit.json"
    # --skip-editable: the project itself is not on the index; the environment is the venv we run in.
    result = subprocess.run([pip_audit(), "--progress-spinner", "off", "--skip-editable", "--format", "json",
                             "--output", str(report), "--timeout", "20"],
                            capture_output=True, text=True, timeout=240)
    if not report.exists():
        if any(s in result.stderr for s in ("ConnectionError", "Name or service not known", "timed out",
                                            "Max retries exceeded", "Temporary failure in name resolution")):
            pytest.skip(f"the vulnerability service is unreachable: {result.stderr.strip().splitlines()[-1]}")
        pytest.fail(f"pip-audit failed (exit {result.returncode}):\n{result.stderr[-2000:]}")
    dependencies = json.loads(report.read_text())["dependencies"]
    audited = [d for d in dependencies if "skip_reason" not in d]
    vulnerable = {f"{d['name']} {d['version']}": [v["id"] for v in d["vulns"]] for d in audited if d.get("vulns")}
    assert not vulnerable, f"known vulnerabilities: {vulnerable}"
    if not audited:
        reasons = {d["skip_reason"].split(":")[0] for d in dependencies}
        pytest.skip(f"the vulnerability service is unreachable: none of {len(dependencies)} dependencies "
                    f"could be looked up ({'; '.join(sorted(reasons))})")
