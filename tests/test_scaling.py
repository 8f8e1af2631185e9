"""Beyond one machine, for real: the tiny pipeline submitted job by job to a one-node SLURM cluster
started on this machine (Snakemake's SLURM executor plugin through workflow/profiles/slurm), and its
results moved through a DVC remote into a fresh clone that needs no retraining."""

import csv
import json
import os
import re
import shutil
import socket
import subprocess
from pathlib import Path

import pytest
import yaml
from conftest import ROOT, make_tiny_repo, run, wait_for

pytestmark = pytest.mark.slow
UP_TO_DATE = "Data and pipelines are up to date."
# srun inside a job reads the default path: the plugin's job step drops SLURM_CONF from its environment
SLURM_CONF = Path("/etc/slurm/slurm.conf")
MARKER = "# one-node test cluster written by reprolab's tests/test_scaling.py"
PROGRAMS = ("mungekey", "munged", "slurmctld", "slurmd", "sbatch", "squeue", "sinfo")
# the daemons live in the system's sbin folders, which a user's PATH may leave out
SEARCH_PATH = os.pathsep.join([os.environ.get("PATH", ""), "/usr/local/sbin", "/usr/sbin", "/sbin"])


def program(name):
    """The full path of a SLURM or munge program, found without relying on PATH alone."""
    return shutil.which(name, path=SEARCH_PATH)
# the plugin's options for a cluster without accounting (squeue, not sacct), polling every second
SLURM_RUN = ("snakemake --profile workflow/profiles/slurm --slurm-status-command squeue --slurm-no-account "
             "--slurm-init-seconds-before-status-checks 1 --seconds-between-status-checks 1")


def slurm_config(folder):
    """slurm.conf for this machine as one node: all its CPUs, its memory less 2 GiB for the system."""
    host = socket.gethostname().split(".")[0]
    memory_mb = int(Path("/proc/meminfo").read_text().split()[1]) // 1024 - 2048
    settings = {
        "ClusterName": "reprolab", "SlurmctldHost": host, "SlurmUser": "root", "SlurmdUser": "root",
        "AuthType": "auth/munge", "CredType": "cred/munge", "AuthInfo": f"socket={folder}/munge.socket",
        "SlurmctldPort": "16817", "SlurmdPort": "16818", "StateSaveLocation": f"{folder}/state", "SlurmdSpoolDir": f"{folder}/spool",
        "SlurmctldPidFile": f"{folder}/slurmctld.pid", "SlurmdPidFile": f"{folder}/slurmd.pid",
        "SlurmctldLogFile": f"{folder}/slurmctld.log", "SlurmdLogFile": f"{folder}/slurmd.log",
        "ProctrackType": "proctrack/linuxproc", "TaskPlugin": "task/none", "JobAcctGatherType": "jobacct_gather/none",
        "AccountingStorageType": "accounting_storage/none", "SelectType": "select/cons_tres", "SelectTypeParameters": "CR_Core_Memory",
        "MinJobAge": "3600",  # finished jobs stay visible to squeue, which the plugin polls
        "ReturnToService": "2", "MpiDefault": "none",
    }
    return "\n".join([MARKER, *(f"{key}={value}" for key, value in settings.items()),
                      f"NodeName={host} CPUs={os.cpu_count()} RealMemory={memory_mb} State=UNKNOWN",
                      "PartitionName=main Nodes=ALL Default=YES MaxTime=INFINITE State=UP", ""])


def tails(logs):
    """The end of each daemon log that exists, for a failure message."""
    return "\n".join(path.read_text()[-2000:] for path in logs if path.exists())


@pytest.fixture
def slurm_cluster(tmp_path):
    """A one-node SLURM cluster: munged, slurmctld and slurmd from Debian's slurm-wlm and munge
    (installed here when missing), stopped and its slurm.conf removed afterwards."""
    if os.geteuid() != 0:
        pytest.skip("starting SLURM daemons needs root")
    if any(program(name) is None for name in PROGRAMS):
        if shutil.which("apt-get") is None:
            pytest.skip("needs Debian's slurm-wlm and munge, installed with apt-get")
        run("apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slurm-wlm munge", tmp_path)
    if SLURM_CONF.exists() and not SLURM_CONF.read_text().startswith(MARKER):
        pytest.skip(f"{SLURM_CONF} belongs to a real cluster: not replacing it")
    folder = tmp_path / "slurm"
    for name in ("state", "spool"):
        (folder / name).mkdir(parents=True)
    run([program("mungekey"), "--create", f"--keyfile={folder}/munge.key"], folder)
    logs = [folder / "munged.log", folder / "slurmctld.log", folder / "slurmd.log"]
    daemons = [subprocess.Popen([program("munged"), "--foreground", "--force", f"--socket={folder}/munge.socket", f"--key-file={folder}/munge.key",
                                 f"--pid-file={folder}/munged.pid", f"--log-file={folder}/munged.log", f"--seed-file={folder}/munged.seed"])]
    try:
        assert wait_for((folder / "munge.socket").exists, 60), f"munged did not open its socket within 60 s; logs:\n{tails(logs)}"
        SLURM_CONF.parent.mkdir(parents=True, exist_ok=True)
        SLURM_CONF.write_text(slurm_config(folder))
        daemons.append(subprocess.Popen([program("slurmctld"), "-D"]))
        daemons.append(subprocess.Popen([program("slurmd"), "-D"]))
        assert wait_for(lambda: subprocess.run([program("sinfo"), "--noheader", "--format=%T"], check=False, capture_output=True, text=True).stdout.strip()
                        == "idle", 60), f"the node did not come up idle within 60 s; logs:\n{tails(logs)}"
        yield folder
    finally:
        for daemon in reversed(daemons):
            daemon.terminate()
            daemon.wait(timeout=60)
        if SLURM_CONF.exists() and SLURM_CONF.read_text().startswith(MARKER):
            SLURM_CONF.unlink()


def results(repo):
    """Every run's scores and the study summary without its wall times: what must not depend on where jobs ran."""
    runs = {path.relative_to(repo).as_posix(): {key: value for key, value in json.loads(path.read_text()).items() if key != "dataset_sha256"}
            for path in sorted(repo.glob("data/runs/tiny/*/*/metrics.json"))}
    with open(repo / "reports" / "tiny" / "summary.csv") as handle:
        summary = [{key: value for key, value in row.items() if key != "wall_seconds_mean"} for row in csv.DictReader(handle)]
    return runs, summary


def test_slurm_profile_runs_every_job_as_a_slurm_job_with_a_local_runs_results(slurm_cluster, tmp_path):
    cluster_repo, local_repo = make_tiny_repo(tmp_path / "on_slurm"), make_tiny_repo(tmp_path / "local")
    output = run(SLURM_RUN, cluster_repo)
    log = output.stdout + output.stderr
    submitted = re.findall(r"has been submitted with SLURM jobid (\d+)", log)
    planned = json.loads(run("reprolab plan", cluster_repo).stdout)
    assert len(submitted) == len(planned) == len(set(submitted)), f"one SLURM job per planned job:\n{log[-3000:]}"
    for record in cluster_repo.glob("data/runs/tiny/*/*/train.json"):
        assert json.loads(record.read_text())["runtime"]["slurm_job_id"] in submitted, "the training ran inside its SLURM job"
    assert UP_TO_DATE in run("dvc status", cluster_repo).stdout, "dvc.lock records what the cluster built"

    run("snakemake --cores 2", local_repo)
    assert results(cluster_repo) == results(local_repo)
    assert "slurm_job_id" not in json.loads((local_repo / "data/runs/tiny/paper/seed0/train.json").read_text())["runtime"]

    # The project's own studies at full size go through the same profile unchanged (planned, not run).
    full = {**yaml.safe_load((ROOT / "params.yaml").read_text()), "scale": "full"}
    (cluster_repo / "params.yaml").write_text(yaml.safe_dump(full, sort_keys=False))
    planned = json.loads(run("reprolab plan", cluster_repo).stdout)
    dry_run = run(SLURM_RUN + " --dry-run --forceall", cluster_repo).stdout
    stats = dict(re.findall(r"^(\w+)\s+(\d+)$", dry_run, re.MULTILINE))
    assert int(stats["train"]) == sum(job["name"].startswith("train-") for job in planned) > 100


def test_dvc_remote_push_then_a_fresh_clone_pulls_without_retraining(built_tiny_repo, tmp_path):
    repo, remote, clone = built_tiny_repo, tmp_path / "remote", tmp_path / "clone"
    run(["dvc", "remote", "add", "--default", "storage", str(remote)], repo)
    run("git add -A && git commit -qm 'results and remote'", repo)
    run("dvc push", repo)
    assert any(remote.rglob("*")), "data, models and metrics are in the remote"

    run(["git", "clone", "-q", str(repo), str(clone)], tmp_path)
    run("dvc pull", clone)
    assert (clone / "data/runs/tiny/adamw/seed1/model.keras").read_bytes() == (repo / "data/runs/tiny/adamw/seed1/model.keras").read_bytes()
    assert UP_TO_DATE in run("dvc status", clone).stdout
    assert "Running stage" not in run("dvc repro", clone).stdout, "nothing retrains after a pull"

    # The report regenerated from the pulled metrics carries the same results.
    table = re.compile(r"^\| `.*$", re.MULTILINE)
    before = table.findall((clone / "reports/tiny/README.md").read_text())
    output = run("dvc repro --force --single-item report-tiny", clone).stdout
    assert "Running stage 'report-tiny'" in output and "Running stage 'train" not in output
    assert table.findall((clone / "reports/tiny/README.md").read_text()) == before
