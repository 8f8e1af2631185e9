"""The README's front door: two copy-paste commands, both installing from the lock; the second is
.ci/run itself, which installs the test lock and runs every test (no marker or path filter)."""

import re

from conftest import ROOT


def code_blocks():
    return re.findall(r"```bash\n(.*?)\n```", (ROOT / "README.md").read_text(), flags=re.S)


def test_readme_starts_with_install_and_run_then_the_ci_script():
    run_command, test_command = code_blocks()[:2]
    assert run_command.startswith("python3.11 -m venv") and run_command.endswith("snakemake --cores all")
    assert "pip install -r requirements/main.txt && pip install --no-deps -e ." in run_command
    assert test_command == "bash .ci/run"


def test_the_ci_script_installs_the_test_lock_and_runs_every_test():
    commands = [line for line in (ROOT / ".ci" / "run").read_text().splitlines() if line and not line.startswith("#")]
    assert commands[-1] == ("python3.11 -m venv .venv && . .venv/bin/activate && pip install -r requirements/test.txt "
                            "&& pip install --no-deps -e . && pytest")
