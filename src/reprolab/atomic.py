"""Atomic writes: a file appears complete or not at all, so an interrupted job leaves nothing a
later run would trust, and the previous good version survives a failed save."""

import contextlib
import json
import os
import tempfile
from pathlib import Path


@contextlib.contextmanager
def atomic_path(target):
    """Yields a temporary path beside `target` (same suffix) and renames it over `target` on success."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=target.suffix)
    os.close(handle)
    try:
        yield Path(temporary)
        os.replace(temporary, target)
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)


def write_text(target, text):
    with atomic_path(target) as temporary:
        temporary.write_text(text)


def write_json(target, value):
    write_text(target, json.dumps(value, indent=2, sort_keys=True) + "\n")
