"""Shared fixtures: the repository root, the USPS mirror, and a temporary copy of the repo driven
by the tiny params file (real Snakemake, real DVC, real Keras)."""

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
TINY_PARAMS = ROOT / "tests" / "data" / "tiny_params.yaml"
TINY_CARD = ROOT / "tests" / "data" / "workflow" / "studies" / "tiny.yaml"
COPIED = ["Snakefile", "workflow", "src", "pyproject.toml", ".gitignore", ".dvc/config", ".dvcignore"]


def write_tiny_project(folder, params=None):
    """params.yaml (the tiny params, or `params`) and the tiny study's card in `folder`."""
    target = Path(folder) / "params.yaml"
    target.write_text(yaml.safe_dump(params) if params is not None else TINY_PARAMS.read_text())
    (Path(folder) / "workflow" / "studies").mkdir(parents=True, exist_ok=True)
    shutil.copy(TINY_CARD, Path(folder) / "workflow" / "studies" / "tiny.yaml")
    return target


def run(command, cwd, check=True, **kwargs):
    """Runs a real command in `cwd`; on failure the assertion shows its output."""
    result = subprocess.run(command, cwd=cwd, shell=isinstance(command, str), capture_output=True, text=True, **kwargs)
    if check:
        assert result.returncode == 0, f"{command} failed ({result.returncode}):\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
    return result


def wait_for(condition, seconds=120):
    """Polls `condition` until it holds or `seconds` pass; returns its last value."""
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.2)
    return condition()


def make_tiny_repo(repo):
    """A git + DVC repository at `repo` holding the pipeline's code and the tiny params as params.yaml."""
    repo.mkdir(parents=True)
    for name in COPIED:
        source = ROOT / name
        target = repo / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
        elif source.exists():
            shutil.copy(source, target)
    shutil.copy(TINY_PARAMS, repo / "params.yaml")
    shutil.copy(TINY_CARD, repo / "workflow" / "studies" / "tiny.yaml")
    run("git init -q && git config user.email test@example.com && git config user.name test", repo)
    run("reprolab sync", repo)
    run("git add -A && git commit -qm 'tiny pipeline'", repo)
    return repo


@pytest.fixture
def tiny_repo(tmp_path):
    return make_tiny_repo(tmp_path / "repo")


@pytest.fixture(scope="session")
def built_tiny_template(tmp_path_factory):
    """The tiny repository after one real `snakemake --cores 2`, built once for the tests that start there."""
    repo = make_tiny_repo(tmp_path_factory.mktemp("built") / "repo")
    run("snakemake --cores 2", repo)
    return repo


@pytest.fixture
def built_tiny_repo(built_tiny_template, tmp_path):
    """A copy of the built tiny repository for one test: files with their modification times, git,
    DVC's cache and lock, and Snakemake's records, as that `snakemake` run left them."""
    return Path(shutil.copytree(built_tiny_template, tmp_path / "repo", symlinks=True))


@pytest.fixture(scope="session")
def usps_mirror():
    """The folder holding usps/zip.*.gz: $REPROLAB_DATA_MIRROR, else ../shared/datasets beside the repo."""
    candidates = [os.environ.get("REPROLAB_DATA_MIRROR"), str(ROOT.parent / "shared" / "datasets")]
    for candidate in candidates:
        if candidate and (Path(candidate) / "usps" / "zip.train.gz").exists():
            return Path(candidate)
    return None
