"""The command line starts fast (no heavy import for --help), has -h, and completes in the shell."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from bentu.cli.app import app

ROOT = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
HEAVY = ("torch", "pandas", "numpy", "scipy", "sklearn", "onnxruntime", "fastapi", "flwr", "matplotlib", "pydantic")
runner = CliRunner()


def test_help_imports_no_heavy_library():
    code = ("import sys; sys.argv = ['bentu', '--help']\n"
            "from bentu.cli.app import main\n"
            "try:\n    main()\nexcept SystemExit:\n    pass\n"
            f"print('HEAVY', sorted(m for m in {HEAVY!r} if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=ENV, check=True)
    assert out.stdout.strip().splitlines()[-1] == "HEAVY []"


def test_dash_h_is_help_everywhere():
    for args in ([], ["predict"], ["run"], ["pii"]):
        short, long = runner.invoke(app, [*args, "-h"]), runner.invoke(app, [*args, "--help"])
        assert short.exit_code == 0 and short.output == long.output and "Usage:" in short.output


def _complete(words: str, cword: int) -> list[str]:
    env = {**ENV, "_BENTU_COMPLETE": "complete_bash", "COMP_WORDS": words, "COMP_CWORD": str(cword)}
    code = "from bentu.cli.app import app; app(prog_name='bentu')"
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env).stdout.split()


def test_shell_completion_is_offered_and_completes():
    assert "--install-completion" in runner.invoke(app, ["--help"]).output
    assert _complete("bentu pre", 1) == ["predict"]
    assert _complete("bentu predict --rea", 2) == ["--reasons"]
