"""`creditstream report` refuses bad input before touching any data: exit code 2 and a reason."""
from __future__ import annotations

import pytest
from typer.testing import CliRunner

from creditstream.cli import app


@pytest.mark.parametrize("args, words", [
    (["unit", "--period", ""], "empty"),
    (["unit", "--period", "2026-13"], "no month 13"),
    (["unit", "--period", "2999-01"], "future"),
    (["balance", "--period", "2026-10"], "unknown report"),
    (["unit", "--period", "2026-10", "--format", "pdf"], "unknown format"),
])
def test_bad_input_exits_2_with_a_clear_message(args, words):
    result = CliRunner().invoke(app, ["report", *args])
    assert result.exit_code == 2
    assert words in " ".join(result.output.split())
