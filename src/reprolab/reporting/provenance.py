"""What produced a report's numbers: commit, params hash, dataset, backend, device, CPU and kernel
settings, library versions."""

import datetime
import hashlib
import json
import subprocess

from reprolab import config as params_config
from reprolab import outcomes


def git(*arguments):
    try:
        return subprocess.run(["git", *arguments], capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return ""


def provenance(params, study_name, runs):
    """What produced these numbers: commit, params hash, dataset, backend, device, versions."""
    resolved = {variant: params_config.resolve_variant(params, study_name, variant) for variant in runs}
    first = next(iter(runs.values()))[0]
    dirty = git("status", "--porcelain", "--", ".", ":!reports", ":!dvc.lock", ":!dvc.yaml")
    all_runs = [run for variant_runs in runs.values() for run in variant_runs]
    return {
        "git commit": git("rev-parse", "HEAD") or "unknown (not a git checkout)",
        "git tree": "dirty (uncommitted changes)" if dirty else "clean",
        "resolved params sha256": hashlib.sha256(json.dumps(resolved, sort_keys=True).encode()).hexdigest(),
        "scale": params.get("scale", "default"),
        "dataset sha256": first["metrics"]["dataset_sha256"],
        "Keras backend": first["train"]["runtime"]["backend"],
        "device": first["train"]["runtime"]["device"],
        "machine": first["train"]["runtime"]["machine"],
        "CPUs the runs were made on": machines(all_runs),
        "library versions": ", ".join(f"{name} {version}" for name, version in first["train"]["runtime"]["versions"].items()),
        "runs": f"{len(all_runs)} ({sum(outcomes.trained(run) for run in all_runs)} trained, "
                f"{sum(outcomes.outcome(run) == 'collapsed' for run in all_runs)} collapsed, "
                f"{sum(outcomes.outcome(run) == 'diverged' for run in all_runs)} diverged)",
        "total training time": f"{sum(run['train']['wall_seconds'] for run in all_runs) / 60:.1f} min",
        "generated": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    }


def machines(all_runs):
    """The CPU model, its kernel-relevant ISA flags and the kernel settings (runtime.PORTABLE_KERNELS)
    of the runs, with how many runs each made: more than one entry means round-off may differ
    between runs (oneDNN picks kernels by instruction set)."""
    counts = {}
    for run in all_runs:
        cpu, kernels = run["train"]["runtime"].get("cpu"), run["train"]["runtime"].get("kernels")
        key = "not recorded" if cpu is None else f"{cpu['model']} ({' '.join(cpu['flags'])}" + (
            f"; {', '.join(f'{name}={value}' for name, value in kernels.items())})" if kernels else "; kernel settings not recorded)")
        counts[key] = counts.get(key, 0) + 1
    listed = "; ".join(f"{key}: {count} runs" for key, count in counts.items())
    return listed if len(counts) == 1 else f"RUNS DIFFER IN CPU OR KERNEL SETTINGS: {listed}"
