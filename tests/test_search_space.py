"""A sampled search space end to end: real Snakemake trains every drawn architecture, scores the
zero-cost proxies once for all of them, and the report ranks the proxies; growing the sample
only adds jobs."""

import json

import pytest
import yaml

from conftest import run
from test_config import search_study
from test_end_to_end import planned_jobs

pytestmark = pytest.mark.slow
CARD = {
    "title": "Tiny search space",
    "claims": [
        {"text": "params ranks", "source": "a test", "published": "none", "kind": "correlates", "proxy": "params", "at_least": 0.0},
        {"text": "synflow counts params", "source": "a test", "published": "none", "kind": "correlates", "proxy": "synflow", "with": "params", "at_least": 0.5},
        {"text": "vote beats synflow", "source": "a test", "published": "none", "kind": "beats", "proxy": "vote", "over": "synflow"},
    ],
    "references": {"proxies": {"synflow": {"spearman": 0.74, "source": "Abdelfattah et al. 2021"}}},
    "plots": [{"name": "proxies", "kind": "proxies", "title": "proxies against accuracy"}],
}


def test_a_search_space_study_trains_each_architecture_and_reports_the_proxies(tiny_repo):
    params = search_study(yaml.safe_load((tiny_repo / "params.yaml").read_text()))
    params["studies"]["tiny"]["seeds"] = [0]
    params["studies"]["tiny"]["base"]["epochs"] = 1
    (tiny_repo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    (tiny_repo / "workflow" / "studies" / "tiny.yaml").write_text(yaml.safe_dump(CARD, sort_keys=False))
    run("snakemake --cores 2", tiny_repo)

    scored = json.loads((tiny_repo / "data" / "runs" / "tiny" / "proxies.json").read_text())
    assert list(scored["variants"]) == [f"arch{index:03d}" for index in range(6)]
    assert all(set(variant["scores"]) == {"0", "1"} for variant in scored["variants"].values())
    report = (tiny_repo / "reports" / "tiny" / "README.md").read_text()
    assert "## Zero-cost proxies" in report
    for proxy in ("params", "flops", "grad_norm", "snip", "grasp", "fisher", "synflow", "jacob_cov", "naswot", "vote"):
        assert f"| `{proxy}` |" in report
    assert "Each variant against the baseline" not in report  # a search space has no baseline
    verdicts = json.loads((tiny_repo / "reports" / "tiny" / "verdicts.json").read_text())
    assert [claim["text"] for claim in verdicts["claims"]] == [claim["text"] for claim in CARD["claims"]]
    assert {claim["verdict"] for claim in verdicts["claims"]} <= {"supported", "contradicted", "inconclusive"}
    assert (tiny_repo / "reports" / "tiny" / "plots" / "proxies.png").stat().st_size > 10_000

    params["studies"]["tiny"]["search_space"]["architectures"] = 7
    (tiny_repo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    rerun = {(rule, wildcards) for rule, wildcards in planned_jobs(tiny_repo) if rule in ("train", "evaluate", "proxies")}
    assert rerun == {("train", "study=tiny, variant=arch006"), ("proxies", "study=tiny")}
