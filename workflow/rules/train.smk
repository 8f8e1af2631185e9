rule train:
    """Train every seed of one variant with Keras, then evaluate each trained model (one process)."""
    input:
        job_inputs("train"),
    output:
        directory(PATHS["runs"]),
    params:
        command=job_command("train"),
    log:
        log_path("train", "{study}-{variant}"),
    threads: TRAIN_THREADS
    resources:
        mem_mb=3000,
        runtime=240,
        gpu=job_gpus("train"),
    conda:
        "../envs/reprolab.yaml"
    shell:
        "{params.command} > {log} 2>&1"


rule proxies:
    """Score the zero-cost proxies of every architecture of a study at initialisation, at each proxy init seed."""
    input:
        job_inputs("proxies"),
    output:
        PATHS["proxies"],
    params:
        command=job_command("proxies"),
    log:
        log_path("proxies", "{study}"),
    threads: TRAIN_THREADS
    resources:
        mem_mb=2000,
        runtime=30,
    conda:
        "../envs/reprolab.yaml"
    shell:
        "{params.command} > {log} 2>&1"
