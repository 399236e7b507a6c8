"""The README's two quick-start commands stay true: CI runs the same test command."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).parents[2]


def quick_start_blocks() -> list[str]:
    text = (ROOT / "README.md").read_text()
    section = text.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    return [block.strip() for block in re.findall(r"```sh\n(.*?)```", section, re.S)]


def test_quick_start_installs_then_serves_and_then_tests() -> None:
    install, tests = quick_start_blocks()[:2]
    assert "pip install -e" in install and install.endswith("communs serve")
    assert tests.endswith("python -m pytest")


def test_ci_runs_the_readme_test_command() -> None:
    tests_command = quick_start_blocks()[1].split("&&")[-1].strip()
    ci = (ROOT / ".ci" / "run").read_text()
    assert tests_command in ci
