"""The software a run was made with, against the lock it should have been installed from: the
lock file's sha256 and every pinned package whose installed version differs. No Keras import."""

import hashlib
import re
from importlib.metadata import distributions
from pathlib import Path

from packaging.utils import canonicalize_name
from packaging.version import Version

LOCK = "requirements/main.txt"  # the runtime set; test.txt and gpu.txt pin the same versions and add to it
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)", re.MULTILINE)


def pins(text):
    """{canonical package name: pinned version} of a pip requirements lock."""
    return {canonicalize_name(name): pinned for name, pinned in PIN.findall(text)}


def installed():
    """{canonical package name: version} of every installed distribution (one scan of sys.path)."""
    return {canonicalize_name(distribution.metadata["Name"]): distribution.version for distribution in distributions()}


def lock_sha256(path=LOCK):
    """The sha256 of the lock file, or None where there is none."""
    try:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()
    except FileNotFoundError:
        return None


def against_lock(path=LOCK):
    """{file, sha256, matches, differing: {package: {installed, locked}}} for the lock at `path`
    (relative to the repository root, where every job runs)."""
    try:
        text = Path(path).read_text()
    except FileNotFoundError:
        return {"file": path, "sha256": None, "matches": False, "differing": {}, "problem": "lock file not found"}
    present, differing = installed(), {}
    for name, locked in pins(text).items():
        if present.get(name) is None or Version(present[name]) != Version(locked):
            differing[name] = {"installed": present.get(name), "locked": locked}
    return {"file": path, "sha256": lock_sha256(path), "matches": not differing, "differing": differing}
