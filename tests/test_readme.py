"""The README's front door: two copy-paste commands, and CI runs the second one."""

import re

from conftest import ROOT


def code_blocks():
    return re.findall(r"```bash\n(.*?)\n```", (ROOT / "README.md").read_text(), flags=re.S)


def test_readme_starts_with_install_and_run_then_install_and_test():
    run_command, test_command = code_blocks()[:2]
    assert run_command.startswith("python3.11 -m venv") and run_command.endswith("snakemake --cores all")
    assert "pip install -e \".[test]\"" in test_command and test_command.endswith("pytest")


def test_ci_runs_the_readme_test_command():
    test_command = code_blocks()[1]
    assert test_command in (ROOT / ".ci" / "run").read_text()
