"""Sets up the Keras backend for one job (threads, seeds, determinism, GPU memory) and describes
it for provenance. `configure` must run before Keras is imported."""

import os
import platform
import sys

from reprolab import environment

# Installed for the report and data stages; Keras imports them at start-up whenever they are
# installed, for DataFrame inputs, image galleries and scikit-learn wrappers a job never uses.
UNUSED_BY_JOBS = ("pandas", "matplotlib", "sklearn")


class AcceleratorError(RuntimeError):
    """params.yaml asks for a GPU the backend cannot see."""


def skip_unused_imports(backend):
    """Makes `import` of UNUSED_BY_JOBS (and of JAX, which TensorFlow Lite probes, on the TensorFlow
    backend) raise ImportError, which Keras and TensorFlow catch: ~1.8 s of every job's ~4 s start-up.
    A module this process already imported stays usable."""
    for name in (*UNUSED_BY_JOBS, *(("jax",) if backend == "tensorflow" else ())):
        sys.modules.setdefault(name, None)


def configure(threads, seed, accelerator="cpu"):
    """Limits the job to `threads` CPU threads, seeds every RNG and turns on determinism. On
    `accelerator: cpu` GPUs are hidden, so results do not depend on the machine having one; on
    `gpu` the job uses the GPU the scheduler gave it (CUDA_VISIBLE_DEVICES) and grows its memory
    as needed instead of taking all of it."""
    backend = os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    for name, value in PORTABLE_KERNELS.items():
        os.environ.setdefault(name, value)
    skip_unused_imports(backend)
    if accelerator == "cpu":
        os.environ["CUDA_VISIBLE_DEVICES"] = ""
        os.environ["JAX_PLATFORMS"] = "cpu"
    if backend == "jax":
        os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")
        os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + f" --xla_cpu_multi_thread_eigen={'true' if threads > 1 else 'false'}").strip()
    import keras

    if backend == "tensorflow":
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)
        for gpu in tf.config.list_physical_devices("GPU"):
            tf.config.experimental.set_memory_growth(gpu, True)
        tf.config.experimental.enable_op_determinism()
    elif backend == "torch":
        import torch

        torch.set_num_threads(threads)
        torch.use_deterministic_algorithms(True)
    reseed(seed)
    if accelerator == "gpu" and device() == "cpu":
        raise AcceleratorError(f"params.yaml sets accelerator: gpu, but the {backend} backend sees no GPU here "
                               f"(CUDA_VISIBLE_DEVICES={os.environ.get('CUDA_VISIBLE_DEVICES', 'unset')}); "
                               "set accelerator: cpu, or install the backend's CUDA build")


def reseed(seed):
    """Python, NumPy, the backend and Keras' own state (layer-name counters, the global seed
    generator) as a fresh process seeded with `seed` has them: a job training several seeds
    calls it before each, so each seed's run equals the one it would get in a job of its own."""
    import keras

    keras.backend.clear_session(free_memory=False)  # freeing memory (a garbage collection) costs ~0.15 s a call, every job
    keras.utils.set_random_seed(seed)


def device():
    """The accelerator the backend computes on ('cpu' or e.g. 'gpu:NVIDIA H100')."""
    import keras

    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        gpus = tf.config.list_logical_devices("GPU")
        return f"gpu:{gpus[0].name}" if gpus else "cpu"
    if backend == "jax":
        import jax

        first = jax.devices()[0]
        return "cpu" if first.platform == "cpu" else f"{first.platform}:{first.device_kind}"
    import torch

    return f"cuda:{torch.cuda.get_device_name(0)}" if torch.cuda.is_available() else "cpu"


# The same float kernels on every x86-64 CPU with AVX2, so a run's numbers do not depend on the
# machine: TensorFlow turns oneDNN's graph rewrites on by default only on CPUs with AVX512-VNNI,
# AVX-VNNI or AMX, and oneDNN's sgemm (under Eigen's convolutions too) picks its kernel by the
# CPU's instruction set. On an AVX2 CPU both settings are its defaults (results unchanged); on
# larger CPUs they cost speed. Set either variable to override.
PORTABLE_KERNELS = {"TF_ENABLE_ONEDNN_OPTS": "0", "ONEDNN_MAX_CPU_ISA": "AVX2"}
# Instruction-set extensions that change which kernels oneDNN (and XLA) pick, hence float round-off.
KERNEL_FLAGS = ("sse4_2", "avx", "avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512_vnni", "avx512_bf16", "amx_tile", "amx_bf16", "amx_int8")


def processor():
    """The CPU model and its kernel-relevant instruction-set flags (Linux /proc/cpuinfo): runs on
    CPUs that differ here can differ in round-off, which deep nets amplify."""
    try:
        lines = open("/proc/cpuinfo").read().splitlines()
    except OSError:
        return {"model": platform.processor() or "unknown", "flags": []}
    fields = dict(line.split(":", 1) for line in lines if ":" in line and line.split(":", 1)[0].strip() in ("model name", "flags"))
    fields = {key.strip(): value.strip() for key, value in fields.items()}
    flags = set(fields.get("flags", "").split())
    return {"model": fields.get("model name", "unknown"), "flags": [flag for flag in KERNEL_FLAGS if flag in flags]}


def describe():
    """Backend, device, library versions, the installed packages against the lock and, under SLURM, the
    job id and node, recorded beside every run."""
    from importlib.metadata import PackageNotFoundError, version

    import keras

    versions = {}
    for package in ("keras", "tensorflow", "jax", "torch", "numpy"):
        try:
            versions[package] = version(package)
        except PackageNotFoundError:
            pass
    return {
        "backend": keras.backend.backend(),
        "device": device(),
        "python": platform.python_version(),
        "machine": f"{platform.system()} {platform.machine()}, {os.cpu_count()} cpus",
        "cpu": processor(),
        "kernels": {name: os.environ.get(name, "unset") for name in PORTABLE_KERNELS},
        "versions": versions,
        "environment": environment.against_lock(),
        **({"slurm_job_id": os.environ["SLURM_JOB_ID"], "host": platform.node()} if "SLURM_JOB_ID" in os.environ else {}),
    }
