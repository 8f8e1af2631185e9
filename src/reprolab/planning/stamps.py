"""Code stamps: Snakemake's stand-in for the source files a job runs. One small file per set of
files (data/jobs/code/<stage>[-<model modules>].sha256, a `sha256  path` line per file as sha256sum
prints) is a job's one code input instead of ~28: the graph Snakemake builds on every call shrinks
by as much, and a job reruns after a change to the code it runs as it did with the files as inputs
(by modification time: a change that keeps an old time, `cp -p`, escapes both). DVC keeps the files."""

import hashlib
import os
from pathlib import Path

from reprolab.atomic import write_text
from reprolab.planning.code import code_files

STAMPS_FOLDER = "data/jobs/code"


def stamp_path(stage, files):
    """The stamp of a `stage` job running `files`: named by the stage and the model modules it adds."""
    own = sorted(Path(name).stem for name in set(files) - set(code_files(stage)))
    return f"{STAMPS_FOLDER}/{'-'.join([stage, *own])}.sha256"


def write_code_stamps(plan, root="."):
    """Writes each planned stamp whose code changed and removes the unplanned ones; returns the paths
    written. A written stamp takes the newest modification time of its files, so Snakemake reruns
    after a code change as it would with the files themselves as inputs (not after a bare `touch`)."""
    root = Path(root)
    wanted = {stamp_path(job.stage, job.code): job.code for job in plan.jobs}
    digests = {name: hashlib.sha256((root / name).read_bytes()).hexdigest() for name in set().union(*wanted.values())}
    written = []
    for stamp, files in wanted.items():
        target, text = root / stamp, "".join(f"{digests[name]}  {name}\n" for name in files)
        if not target.exists() or target.read_text() != text:
            write_text(target, text)
            newest = max((root / name).stat().st_mtime for name in files)
            os.utime(target, (newest, newest))
            written.append(stamp)
    for stale in (root / STAMPS_FOLDER).glob("*.sha256"):
        if stale.relative_to(root).as_posix() not in wanted:
            stale.unlink()
    return written
