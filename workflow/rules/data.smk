rule prepare:
    """Fetch (mirror first), verify sha256 and prepare one dataset."""
    input:
        job_inputs("prepare"),
    output:
        PATHS["prepared"],
        PATHS["prepared_meta"],
    params:
        command=job_command("prepare"),
    log:
        log_path("prepare", "{dataset}"),
    threads: 1
    resources:
        mem_mb=2000,
        runtime=30,
    conda:
        "../envs/reprolab.yaml"
    shell:
        "{params.command} > {log} 2>&1"
