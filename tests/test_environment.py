"""The software a run was made with: the lock pins what pyproject.toml asks for, each run records
the packages that differ from the lock, and a report lists them."""

import subprocess
import tomllib
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from reprolab import environment
from reprolab.reporting import provenance

ROOT = Path(__file__).resolve().parents[1]
LOCKS = {"main.txt": [], "test.txt": ["test"], "gpu.txt": ["gpu"]}  # each lock: the runtime dependencies and these extras


def declared(extras):
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return [Requirement(text) for text in project["dependencies"] + [item for extra in extras for item in project["optional-dependencies"][extra]]]


@pytest.mark.parametrize("lock, extras", LOCKS.items())
def test_each_lock_pins_what_pyproject_asks_for_with_hashes(lock, extras):
    text = (ROOT / "requirements" / lock).read_text()
    pinned = environment.pins(text)
    for requirement in declared(extras):
        name = canonicalize_name(requirement.name)
        assert name in pinned, f"{lock} does not pin {requirement.name}: re-lock with `bash requirements/lock`"
        assert Version(pinned[name]) in requirement.specifier, (
            f"{lock} pins {name}=={pinned[name]}, outside pyproject.toml's {requirement}: re-lock with `bash requirements/lock`")
    assert text.count("==") == len(pinned) and text.count("--hash=sha256:") >= len(pinned), "every pin carries its hashes"


def test_the_test_and_gpu_locks_pin_the_runtime_packages_at_the_same_versions():
    runtime = environment.pins((ROOT / "requirements" / "main.txt").read_text())
    for lock in ("test.txt", "gpu.txt"):
        other = environment.pins((ROOT / "requirements" / lock).read_text())
        assert {name: other.get(name) for name in runtime} == runtime, f"{lock} and main.txt resolve the runtime differently"


def write_lock(folder, pins):
    path = folder / "lock.txt"
    path.write_text("".join(f"{name}=={version} \\\n    --hash=sha256:{'0' * 64}\n" for name, version in pins.items()))
    return str(path)


def test_a_run_records_the_packages_that_differ_from_the_lock(tmp_path, monkeypatch):
    lock = write_lock(tmp_path, {"keras": "3.15.1", "numpy": "2.4.6"})
    monkeypatch.setattr(environment, "installed", lambda: {"keras": "3.15.1", "numpy": "2.4.6"})
    same = environment.against_lock(lock)
    assert same["matches"] and same["differing"] == {} and same["sha256"] == environment.lock_sha256(lock)
    monkeypatch.setattr(environment, "installed", lambda: {"keras": "3.16.0"})
    other = environment.against_lock(lock)
    assert not other["matches"]
    assert other["differing"] == {"keras": {"installed": "3.16.0", "locked": "3.15.1"}, "numpy": {"installed": None, "locked": "2.4.6"}}


def test_a_report_lists_the_packages_a_run_had_at_other_versions(tmp_path, monkeypatch):
    lock = write_lock(tmp_path, {"keras": "3.15.1"})

    def run_made_with(keras):
        monkeypatch.setattr(environment, "installed", lambda: {"keras": keras})
        return {"train": {"runtime": {"versions": {"keras": keras}, "environment": environment.against_lock(lock)}}}

    runs = [run_made_with("3.15.1"), run_made_with("3.15.1")]
    assert provenance.software(runs, lock) == f"all 2 recorded runs have every package {lock} pins, at its version"
    assert provenance.library_versions(runs) == "keras 3.15.1"
    runs.append(run_made_with("3.16.0"))
    assert provenance.software(runs, lock) == f"RUNS DIFFER FROM THE LOCK {lock}: keras 3.16.0 (lock 3.15.1): 1 run"
    assert provenance.library_versions(runs) == "RUNS DIFFER FROM EACH OTHER: keras 3.15.1 (2 runs) / 3.16.0 (1 run)"
    (tmp_path / "lock.txt").write_text("keras==3.16.0 \\\n    --hash=sha256:" + "1" * 64 + "\n")
    assert "made with another version of" in provenance.software(runs, lock)
    runs.append({"train": {"runtime": {"versions": {"keras": "3.15.1"}}}})
    assert provenance.software(runs, lock).endswith("1 run made before environments were recorded")


def test_the_rules_conda_environment_pins_the_runtime_lock():
    environment_file = yaml.safe_load((ROOT / "workflow" / "envs" / "reprolab.yaml").read_text())
    pip = next(entry["pip"] for entry in environment_file["dependencies"] if isinstance(entry, dict))
    assert environment.pins("\n".join(pip)) == environment.pins((ROOT / "requirements" / "main.txt").read_text())
    assert "python=3.11" in environment_file["dependencies"] and pip[-1] == "--editable ../.."


# Lints Snakemake may report that do not apply here, each with the reason the Snakefile gives: none today.
EXPLAINED_LINTS = {}


def test_snakemake_lint_reports_nothing_unexplained():
    result = subprocess.run(["snakemake", "--lint"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    output = result.stdout + result.stderr
    lints, where = [], None
    for line in output.splitlines():
        if line.startswith("Lints for "):
            where = line.removeprefix("Lints for ").split(" (line")[0].rstrip(":")
        elif line.startswith("    * ") and where:
            lints.append((where, line.removeprefix("    * ").rstrip(".:")))
    unexplained = [lint for lint in lints if lint[1] not in EXPLAINED_LINTS]
    assert not unexplained, f"snakemake --lint: {unexplained}"
    assert result.returncode == 0 and (lints or "Congratulations" in output)
