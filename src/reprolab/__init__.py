"""reprolab: reproduce landmark deep-learning results as a declarative Snakemake + DVC pipeline."""
