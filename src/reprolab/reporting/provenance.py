"""What produced a report's numbers: commit, params hash, dataset, backend, device, CPU and kernel
settings, library versions."""

import datetime
import hashlib
import json
import subprocess

from reprolab.planning import variants
from reprolab import environment, outcomes
from reprolab.planning.code import code_digest, code_files


def git(*arguments):
    try:
        return subprocess.run(["git", *arguments], capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return ""


def provenance(params, study_name, runs):
    """What produced these numbers: commit, params hash, dataset, backend, device, versions."""
    resolved = {variant: variants.resolve_variant(params, study_name, variant) for variant in runs}
    first = next(iter(runs.values()))[0]
    dirty = git("status", "--porcelain", "--", ".", ":!reports", ":!dvc.lock", ":!dvc.yaml")
    all_runs = [run for variant_runs in runs.values() for run in variant_runs]
    return {
        "git commit": git("rev-parse", "HEAD") or "unknown (not a git checkout)",
        "git tree": "dirty (uncommitted changes)" if dirty else "clean",
        "resolved params sha256": hashlib.sha256(json.dumps(resolved, sort_keys=True).encode()).hexdigest(),
        "scale": params.get("scale", "default"),
        "dataset sha256": dataset_hashes(all_runs),
        "Keras backend": first["train"]["runtime"]["backend"],
        "device": first["train"]["runtime"]["device"],
        "machine": first["train"]["runtime"]["machine"],
        "CPUs the runs were made on": machines(all_runs),
        "library versions": library_versions(all_runs),
        "software against the lock": software(all_runs),
        "training code": training_code(all_runs),
        "runs": f"{len(all_runs)} ({sum(outcomes.trained(run) for run in all_runs)} trained, "
                f"{sum(outcomes.outcome(run) == 'collapsed' for run in all_runs)} collapsed, "
                f"{sum(outcomes.outcome(run) == 'diverged' for run in all_runs)} diverged)",
        "total training time": f"{sum(run['train']['wall_seconds'] for run in all_runs) / 60:.1f} min",
        "generated": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    }


def dataset_hashes(all_runs):
    """The prepared data's sha256, per dataset where the runs read more than one."""
    hashes = {run["train"]["config"]["dataset"]: run["metrics"]["dataset_sha256"] for run in all_runs}
    return next(iter(hashes.values())) if len(hashes) == 1 else "; ".join(f"{name} {sha}" for name, sha in sorted(hashes.items()))


def _runs(count):
    return f"{count} run" + ("" if count == 1 else "s")


def _counted(counts):
    return "; ".join(f"{key}: {_runs(count)}" for key, count in counts.items())


def library_versions(all_runs):
    """The main libraries' versions, each with every version the runs used when they differ between runs."""
    used = {}
    for run in all_runs:
        for name, version in run["train"]["runtime"]["versions"].items():
            used.setdefault(name, {}).setdefault(version, 0)
            used[name][version] += 1
    listed = ", ".join(f"{name} {next(iter(versions))}" if len(versions) == 1 else
                       f"{name} " + " / ".join(f"{version} ({_runs(count)})" for version, count in versions.items()) for name, versions in used.items())
    return listed if all(len(versions) == 1 for versions in used.values()) else f"RUNS DIFFER FROM EACH OTHER: {listed}"


def software(all_runs, lock=environment.LOCK):
    """Whether the runs were made with the packages the lock pins (each run records the lock's sha256 and
    the installed packages that differ from it), listing the differing packages and the runs of each."""
    records = [run["train"]["runtime"].get("environment") for run in all_runs]
    recorded = [record for record in records if record]
    differing = {}
    for record in recorded:
        for name, pair in record["differing"].items():
            key = f"{name} {pair['installed'] or 'not installed'} (lock {pair['locked']})"
            differing[key] = differing.get(key, 0) + 1
    parts = []
    if differing:
        parts.append(f"RUNS DIFFER FROM THE LOCK {lock}: {_counted(differing)}")
    elif recorded:
        parts.append(f"all {len(recorded)} recorded runs have every package {lock} pins, at its version")
    current = environment.lock_sha256(lock)
    made_with = {record["sha256"] for record in recorded}
    if made_with - {current}:
        parts.append(f"made with another version of {lock} than the current one (sha256 {', '.join(sorted(str(sha)[:12] for sha in made_with))})")
    if len(recorded) < len(records):
        parts.append(f"{_runs(len(records) - len(recorded))} made before environments were recorded")
    return "; ".join(parts)


def training_code(all_runs):
    """Whether every run was trained by this checkout's training code (the engine and its model's module,
    plan.code_files), as each run's train.json records its sha256."""
    current, other, unrecorded = 0, 0, 0
    digests = {}  # per model, read once: only runs that recorded their code are compared
    for run in all_runs:
        recorded, model = run["train"].get("code_sha256"), run["train"]["config"]["model"]["name"]
        if recorded is None:
            unrecorded += 1
            continue
        if model not in digests:
            digests[model] = code_digest(code_files("train", [model]))
        if recorded == digests[model]:
            current += 1
        else:
            other += 1
    parts = ([f"{_runs(current)} trained by this checkout's code"] if current else []) + (
        [f"RUNS MADE BY OTHER CODE: {_runs(other)} (rerun them: `dvc repro` or `snakemake`)"] if other else []) + (
        [f"{_runs(unrecorded)} made before the code was recorded"] if unrecorded else [])
    return "; ".join(parts)


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
    listed = _counted(counts)
    return listed if len(counts) == 1 else f"RUNS DIFFER IN CPU OR KERNEL SETTINGS: {listed}"
