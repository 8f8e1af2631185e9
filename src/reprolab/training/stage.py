"""The train stage of one variant, as its job file describes it: every seed trained, then each
trained model evaluated, then the seeds' checkpoints dropped; all in one process, whose start-up
(Keras, the data) is paid once per variant rather than once per seed and step."""

import shutil
from pathlib import Path

from reprolab.planning.paths import path
from reprolab.training import engine, evaluate


def run(job):
    """Returns each seed's train.json record merged with its metrics."""
    study, variant = job["wildcards"]["study"], job["wildcards"]["variant"]
    records = engine.run(job)
    results = []
    for seed, record in zip(job["settings"]["seeds"], records):
        results.append({"seed": seed, **record, **evaluate.run(study, variant, seed)})
    shutil.rmtree(Path(path("checkpoint", study=study, variant=variant, seed=0)).parent, ignore_errors=True)
    return results
