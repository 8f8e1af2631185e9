"""params.yaml: validation errors a user can act on, and variant resolution."""

import copy
import json
import re

import pytest
import yaml

from reprolab.planning import checks, variants
from reprolab.planning.graph import build_plan
from reprolab.planning.loading import ParamsError

from conftest import ROOT, TINY_PARAMS, write_tiny_project


@pytest.fixture
def params():
    return yaml.safe_load(TINY_PARAMS.read_text())


def write(tmp_path, params):
    return write_tiny_project(tmp_path, params)


def test_the_repository_params_are_valid():
    params = checks.read_params(ROOT / "params.yaml")
    assert {"paper", "softmax_ce", "adamw", "augment", "dropout_relu", "batched"} <= set(params["studies"]["lecun1989"]["variants"])


def test_variant_is_base_then_ancestors_then_itself():
    params = checks.read_params(ROOT / "params.yaml")
    augment = variants.resolve_variant(params, "lecun1989", "augment")
    assert augment["optimizer"] == {"name": "adamw", "learning_rate": 3.0e-4, "weight_decay": 1.0e-2}  # from adamw
    assert augment["loss"] == "cross_entropy" and augment["model"]["output_activation"] == "linear"  # from softmax_ce
    assert augment["model"]["activation"] == "tanh" and augment["batch_size"] == 1  # from base
    assert augment["augment_shift_pixels"] == 1 and augment["dataset"] == "usps"


def test_a_variant_naming_another_network_replaces_the_model_block_instead_of_merging(params):
    params["studies"]["tiny"]["variants"]["logistic"] = {"model": {"name": "logistic"}}
    assert variants.resolve_variant(params, "tiny", "logistic")["model"] == {"name": "logistic"}
    assert variants.resolve_variant(params, "tiny", "adamw")["model"]["name"] == "lecun1989", "a block without a name still merges"


def test_full_scale_applies_the_overlay(params):
    assert variants.resolve_variant(params, "tiny", "paper")["epochs"] == 2
    params["scale"] = "full"
    assert variants.resolve_variant(params, "tiny", "paper")["epochs"] == 3


def lottery_study(params, **lottery):
    """The tiny study with a dense `mlp` variant and the lottery pruning it (two rounds of half the weights)."""
    study = params["studies"]["tiny"]
    study["variants"]["mlp"] = {"model": {"name": "dense", "widths": [8], "batchnorm": False, "binarize": "none", "prunable": False},
                                "loss": "cross_entropy", "batch_size": 16, "measure_inference": True}
    study["lottery"] = {"from": "mlp", "rounds": 2, "fraction": 0.5, "classifier_fraction": 0.25, **lottery}
    return params


def test_the_lottery_is_rounds_that_each_prune_the_round_before_and_their_random_controls(params):
    lottery_study(params)
    assert [name for name in variants.study_settings(params, "tiny")["variants"] if "_r" in name] == [
        "ticket_r1", "ticket_r2", "random_r1", "random_r2"]
    hand_written = copy.deepcopy(params)
    hand_written["studies"]["tiny"].pop("lottery")
    hand_written["studies"]["tiny"]["variants"]["by_hand"] = {
        "extends": "mlp", "starts_from": {"variant": "ticket_r1"}, "model": {"prunable": True},
        "prune": {"fraction": 0.5, "classifier_fraction": 0.25, "weights": "random"}}
    assert variants.resolve_variant(params, "tiny", "random_r2") == variants.resolve_variant(hand_written, "tiny", "by_hand")
    assert variants.resolve_variant(params, "tiny", "ticket_r1")["starts_from"] == {"variant": "mlp"}
    assert variants.resolve_variant(params, "tiny", "ticket_r2")["prune"]["weights"] == "rewind"
    assert variants.resolve_variant(params, "tiny", "ticket_r2")["batch_size"] == 16, "a round trains as its `from` variant"


def test_a_card_names_lottery_rounds_by_the_share_kept_at_either_scale(tmp_path, params):
    params["studies"]["tiny"]["full"]["lottery"] = {"rounds": 10, "fraction": 0.2}
    target = write(tmp_path, lottery_study(params))
    card_path = tmp_path / "workflow" / "studies" / "tiny.yaml"
    card = yaml.safe_load(card_path.read_text())
    card["claims"].append({"text": "t", "source": "s", "published": "p", "kind": "improves", "variant": "ticket@25%", "over": "random@25%"})
    card["plots"] = [{"name": "rounds", "kind": "error_vs_measured", "title": "t", "metric": "sparsity", "groups": {"tickets": ["mlp", "ticket@*"]}}]
    card_path.write_text(yaml.safe_dump(card))
    default = variants.card_for(checks.read_params(target), "tiny", tmp_path)
    assert (default["claims"][-1]["variant"], default["claims"][-1]["over"]) == ("ticket_r2", "random_r2")
    assert default["plots"][0]["groups"]["tickets"] == ["mlp", "ticket_r1", "ticket_r2"]
    params["scale"] = "full"  # 20% a round: 0.8 ** 6 = 26.2% is the round nearest a quarter
    target.write_text(yaml.safe_dump(params))
    full = variants.card_for(checks.read_params(target), "tiny", tmp_path)
    assert (full["claims"][-1]["variant"], full["claims"][-1]["over"]) == ("ticket_r6", "random_r6")
    assert full["plots"][0]["groups"]["tickets"] == ["mlp"] + [f"ticket_r{index}" for index in range(1, 11)]


def test_a_lottery_name_no_round_is_near_is_refused_with_the_shares_there_are(tmp_path, params):
    target = write(tmp_path, lottery_study(params))
    card_path = tmp_path / "workflow" / "studies" / "tiny.yaml"
    card = yaml.safe_load(card_path.read_text())
    card["claims"].append({"text": "t", "source": "s", "published": "p", "kind": "improves", "variant": "ticket@1%", "over": "mlp"})
    card_path.write_text(yaml.safe_dump(card))
    with pytest.raises(ParamsError) as error:
        checks.read_params(target)
    assert "workflow/studies/tiny.yaml: claims.2.variant: no lottery round keeps about 1% of the hidden weights (rounds keep r1 50%, r2 25%)" in str(error.value)


SEARCH_SPACE = {"seed": 3, "architectures": 6, "depth": [1, 2], "widths": [4, 8], "kernel_sizes": [3, 5],
                "pooling": ["max", "none"], "dense_width": [0, 16], "activation": ["relu", "tanh"]}


def search_study(params, **search_space):
    """The tiny study turned into a sampled cnn search space with proxies (its hand variants dropped)."""
    study = params["studies"]["tiny"]
    study["base"]["model"] = {"name": "cnn", "widths": [4], "kernel_sizes": [3], "pooling": "max", "dense_width": 0, "activation": "relu"}
    study["base"].update(loss="cross_entropy", batch_size=16)
    for key in ("variants", "baseline", "full"):
        study.pop(key)
    study["search_space"] = {**SEARCH_SPACE, **search_space}
    study["proxies"] = {"seeds": [0, 1], "batch_size": 8}
    return params


def test_a_search_space_draws_distinct_architectures_and_growing_it_keeps_the_earlier_ones():
    first = variants.sample_architectures(SEARCH_SPACE)
    assert list(first) == [f"arch{index:03d}" for index in range(6)]
    models = [variant["model"] for variant in first.values()]
    assert len({str(model) for model in models}) == 6
    assert all(len(model["widths"]) == len(model["kernel_sizes"]) and len(model["widths"]) in (1, 2) for model in models)
    assert variants.sample_architectures(SEARCH_SPACE) == first
    grown = variants.sample_architectures({**SEARCH_SPACE, "architectures": 9})
    assert {name: grown[name] for name in first} == first
    assert variants.sample_architectures({**SEARCH_SPACE, "seed": 4}) != first


def test_a_sampled_architecture_is_a_variant_that_growing_the_sample_leaves_unchanged(params):
    search_study(params)
    resolved = variants.resolve_variant(params, "tiny", "arch002")
    assert resolved["model"] == variants.sample_architectures(SEARCH_SPACE)["arch002"]["model"]
    assert resolved["optimizer"] == params["studies"]["tiny"]["base"]["optimizer"]
    params["studies"]["tiny"]["search_space"]["architectures"] = 9
    assert variants.resolve_variant(params, "tiny", "arch002") == resolved, "its job file, and so its run, stays as it was"


def test_too_many_architectures_for_the_space_are_refused():
    with pytest.raises(ParamsError, match="could not draw 100 distinct architectures"):
        variants.sample_architectures({**SEARCH_SPACE, "depth": [1], "widths": [4], "kernel_sizes": [3], "architectures": 100})


def resnet_study(params, **model):
    """The tiny study switched to a small ResNet (or, with `name`, another net) with these model
    settings, in the base only."""
    study = params["studies"]["tiny"]
    study["base"]["model"] = {"name": "resnet", "widths": [4, 8, 16], "activation": "relu", **model}
    for variant in study["variants"].values():
        if variant:
            variant.pop("model", None)


BAD_PARAMS = [
    ("unknown key with a close match", lambda p: p["studies"]["tiny"]["base"].update(epocs=3),
     "studies.tiny.base: unknown key 'epocs' (did you mean 'epochs'?)"),
    ("unknown model name", lambda p: p["studies"]["tiny"]["base"]["model"].update(name="vgg"),
     "studies.tiny.base.model.name: 'vgg' is not allowed; choose one of lecun1989, resnet, cnn"),
    ("another model's settings missing", lambda p: p["studies"]["tiny"]["base"]["model"].update(name="resnet"),
     "studies.tiny.variants.adamw: model resnet needs model.depth, model.normalization, model.widths"),
    ("a setting the model does not take", lambda p: p["studies"]["tiny"]["base"]["model"].update(depth=20),
     "model lecun1989 does not take model.depth; it takes activation, dropout, output_activation"),
    ("resnet depth not 6n + 2", lambda p: resnet_study(p, depth=10, normalization="nf"),
     "model.depth 10 is not 6n + 2 with n >= 1; use 8, 14, 20, 32, 56"),
    ("nf_agc without a clipping threshold", lambda p: resnet_study(p, depth=8, normalization="nf_agc"),
     "normalization nf_agc needs optimizer.adaptive_clipping"),
    ("unknown optimizer", lambda p: p["studies"]["tiny"]["variants"]["adamw"]["optimizer"].update(name="adamx"),
     "'adamx' is not allowed (did you mean 'adamw'?)"),
    ("wrong type", lambda p: p["studies"]["tiny"]["base"].update(epochs="two"), "studies.tiny.base.epochs: 'two' is not of type 'integer'"),
    ("negative epochs", lambda p: p["studies"]["tiny"]["base"].update(epochs=-1), "studies.tiny.base.epochs: -1 is less than the minimum of 0"),
    ("zero epochs", lambda p: p["studies"]["tiny"]["base"].update(epochs=0), ": epochs 0 trains nothing; set epochs >= 1"),
    ("unknown source", lambda p: p["studies"]["tiny"]["variants"]["adamw"].update(starts_from={"variant": "papr"}),
     "variants.adamw.starts_from: study tiny has no variant 'papr' (did you mean 'paper'?)"),
    ("quantised from nothing", lambda p: p["studies"]["tiny"]["variants"]["adamw"].update(quantize="int8", epochs=0),
     "variants.adamw: quantize transforms a trained model; name it with starts_from"),
    ("derived in a cycle", lambda p: (p["studies"]["tiny"]["variants"].update(paper={"starts_from": {"variant": "adamw"}}),
                                      p["studies"]["tiny"]["variants"]["adamw"].update(starts_from={"variant": "paper"})),
     "starts_from forms a cycle (tiny/adamw -> tiny/paper -> tiny/adamw); remove one link"),
    ("learning rate zero", lambda p: p["studies"]["tiny"]["base"]["optimizer"].update(learning_rate=0), "learning_rate: 0 is less than or equal to the minimum of 0"),
    ("dropout of one", lambda p: p["studies"]["tiny"]["base"]["model"].update(dropout=1.0), "dropout: 1.0 is greater than or equal to the maximum of 1"),
    ("batch larger than the dataset", lambda p: p["studies"]["tiny"]["variants"]["adamw"].update(batch_size=301),
     "studies.tiny.variants.adamw: batch_size 301 is larger than the 240 training examples of dataset 'digits' "
     "(60 of 300 are held out for validation); use at most 240"),
    ("sweep of an unknown variant", lambda p: p["studies"]["tiny"].update(sweeps={"rate": {"variant": "adam", "key": "optimizer.learning_rate", "values": [0.1, 0.2]}}),
     "studies.tiny.sweeps.rate.variant: unknown variant 'adam'; variants: adamw, paper"),
    ("picked from an undeclared sweep", lambda p: p["studies"]["tiny"]["variants"]["adamw"].update(picked=["rate"]),
     "studies.tiny.variants.adamw.picked: unknown sweep 'rate'"),
    ("sweep on a variant without validation", lambda p: (p["studies"]["tiny"].update(sweeps={"rate": {"variant": "adamw", "key": "optimizer.learning_rate", "values": [0.1, 0.2]}}),
                                                         p["studies"]["tiny"]["base"].update(hold_out_validation=False)),
     "studies.tiny.sweeps.rate: a sweep picks on the validation split, but variant 'adamw' trains on all training examples"),
    ("hold-out without a validation split", lambda p: (p["datasets"]["digits"].pop("validation_size"),
                                                       p["studies"]["tiny"]["base"].update(hold_out_validation=True)),
     "hold_out_validation needs a validation split: set datasets.digits.validation_size"),
    ("coupled decay with adamw", lambda p: p["studies"]["tiny"]["variants"]["adamw"]["optimizer"].update(weight_decay_form="coupled"),
     "studies.tiny.variants.adamw: optimizer.weight_decay_form coupled is implemented for plain SGD"),
    ("seed not an integer", lambda p: p["studies"]["tiny"].update(seeds=[0, 1.5]), "studies.tiny.seeds.1: 1.5 is not of type 'integer'"),
    ("unknown dataset", lambda p: p["studies"]["tiny"].update(dataset="cifar"), "studies.tiny.dataset: unknown dataset 'cifar'; declared datasets: digits"),
    ("no variants", lambda p: p["studies"]["tiny"].update(variants={}), "studies.tiny.variants: {} should be non-empty"),
    ("extends an unknown variant", lambda p: p["studies"]["tiny"]["variants"]["adamw"].update(extends="papr"),
     "studies.tiny.variants.adamw.extends: unknown variant 'papr' (did you mean 'paper'?)"),
    ("full overlay of an unknown variant", lambda p: p["studies"]["tiny"]["full"]["variants"].update(adam={"epochs": 3}),
     "studies.tiny.full.variants.adam: not a variant of the study"),
    ("proxies of a network that is not a chain", lambda p: p["studies"]["tiny"].update(proxies={"seeds": [0], "batch_size": 8}),
     "zero-cost proxies are scored for chain networks (model cnn), not lecun1989"),
    ("cnn with a kernel size missing", lambda p: resnet_study(p, name="cnn", widths=[4, 8], kernel_sizes=[3], pooling="max", dense_width=0),
     "model.widths [4, 8] and model.kernel_sizes [3]: give one kernel size per convolution"),
    ("a search space choice left empty", lambda p: search_study(p, pooling=[]), "studies.tiny.search_space.pooling: [] should be non-empty"),
    ("timing window past the end", lambda p: p["studies"]["tiny"]["variants"]["adamw"].update(timing={"augmentation": {"from": 5}}),
     "timing.augmentation {'from': 5} is not a non-empty window within the 2 epochs"),
    ("timing with per-example training", lambda p: p["studies"]["tiny"]["variants"]["paper"].update(timing={"blur": {"until": 1}}),
     "studies.tiny.variants.paper: timing needs mini-batch training; set batch_size above 1"),
    ("timing of augmentation the variant lacks", lambda p: p["studies"]["tiny"]["variants"]["adamw"].update(
        augment_shift_pixels=0, timing={"augmentation": {"until": 1}}), "timing.augmentation switches augmentation the variant does not have"),
    ("learning-rate reset without a deficit", lambda p: p["studies"]["tiny"]["variants"]["adamw"].update(timing={"reset_learning_rate": True}),
     "timing.reset_learning_rate restarts a decaying schedule when the blur ends"),
    ("gradient noise on AdamW", lambda p: p["studies"]["tiny"]["variants"]["adamw"]["optimizer"].update(gradient_noise={"eta": 0.01}),
     "optimizer.gradient_noise is implemented for plain SGD (with momentum)"),
    ("LSTM variations on a GRU", lambda p: (p["studies"]["tiny"]["base"].update(model={
        "name": "recurrent", "cell": "gru", "units": 4, "bidirectional": False, "readout": "last", "recurrent_dropout": 0.0,
        "state_dropout": 0.0, "zoneout_cell": 0.5, "zoneout_hidden": 0.0, "normalization": "none"}),
        [variant.pop("model", None) for variant in p["studies"]["tiny"]["variants"].values() if variant]),
     "model.zoneout_cell are implemented for a one-directional LSTM without recurrent_dropout"),
    ("time steps shuffled on images", lambda p: p["datasets"]["digits"].update(shuffle_seq=True),
     "datasets.digits.shuffle_seq: only source mnist1d has time steps to permute; remove it"),
    ("a variant on an undeclared dataset", lambda p: p["studies"]["tiny"]["variants"]["adamw"].update(dataset="cifar"),
     "studies.tiny.variants.adamw.dataset: unknown dataset 'cifar'; declared datasets: digits"),
    ("lottery from an unknown variant", lambda p: lottery_study(p, **{"from": "mpl"}),
     "studies.tiny.lottery.from: unknown variant 'mpl'"),
    ("lottery round named like a declared variant", lambda p: lottery_study(p)["studies"]["tiny"]["variants"].update(ticket_r2={}),
     "studies.tiny.lottery: its rounds ticket_r2 have the names of declared variants; rename those variants"),
    ("lottery pruning everything", lambda p: lottery_study(p, fraction=1.0), "studies.tiny.lottery.fraction: 1.0 is greater than or equal to the maximum of 1"),
    ("extends cycle", lambda p: (p["studies"]["tiny"]["variants"]["adamw"].update(extends="paper"),
                                 p["studies"]["tiny"]["variants"].update(paper={"extends": "adamw"})),
     "`extends` forms a cycle"),
]


@pytest.mark.parametrize("case, mutate, message", BAD_PARAMS, ids=[case[0] for case in BAD_PARAMS])
def test_bad_params_are_refused_with_the_key_path_and_the_fix(tmp_path, params, case, mutate, message):
    broken = copy.deepcopy(params)
    mutate(broken)
    with pytest.raises(ParamsError) as error:
        checks.read_params(write(tmp_path, broken))
    assert message in str(error.value)


def test_malformed_yaml_names_the_line(tmp_path):
    target = tmp_path / "params.yaml"
    target.write_text("datasets:\n  digits: {source: digits\nstudies: {}\n")
    with pytest.raises(ParamsError, match=r"params.yaml: line \d+, column \d+: not valid YAML"):
        checks.read_params(target)


def test_a_variant_declared_twice_is_refused_with_its_line(tmp_path, params):
    target = write(tmp_path, params)
    text = TINY_PARAMS.read_text()
    assert "\n      paper: {}\n" in text
    target.write_text(text.replace("\n      paper: {}\n", "\n      paper: {}\n      paper: {}\n", 1))
    with pytest.raises(ParamsError, match=r"params.yaml: line \d+, column \d+: not valid YAML: duplicate key 'paper'"):
        checks.read_params(target)


@pytest.mark.parametrize("where, value", [(("variants", "adamw", "optimizer", "learning_rate"), float("nan")),
                                          (("base", "epochs"), float("inf")), (("base", "optimizer", "learning_rate"), float("-inf"))])
def test_nan_and_infinite_numbers_are_refused_with_their_key_path(tmp_path, params, where, value):
    block = params["studies"]["tiny"]
    for key in where[:-1]:
        block = block[key]
    block[where[-1]] = value
    target = write(tmp_path, params)
    assert (".nan" if value != value else ".inf") in target.read_text(), "written as YAML's own spelling"
    with pytest.raises(ParamsError, match=rf"studies\.tiny\.{re.escape('.'.join(where))}: {value} is not a finite number"):
        build_plan(target)


def test_baseline_must_be_a_variant(tmp_path, params):
    params["studies"]["tiny"]["baseline"] = "nope"
    with pytest.raises(ParamsError, match="studies.tiny.baseline: 'nope' is not one of the variants"):
        build_plan(write(tmp_path, params))


def test_cli_reports_a_bad_params_file_in_one_line(tmp_path, params, capsys):
    from reprolab import cli

    params["studies"]["tiny"]["base"]["epochs"] = -1
    assert cli.main(["--params", str(write(tmp_path, params)), "validate"]) == 1
    error = capsys.readouterr().err
    assert "studies.tiny.base.epochs: -1 is less than the minimum of 0" in error and error.count("\n") == 1


def test_a_study_without_a_card_is_refused(tmp_path, params):
    target = write(tmp_path, params)
    (tmp_path / "workflow" / "studies" / "tiny.yaml").unlink()
    with pytest.raises(ParamsError, match=r"workflow/studies/tiny.yaml: no such file \(every study needs a card"):
        checks.read_params(target)


@pytest.mark.parametrize("claim, message", [
    ({"text": "t", "source": "s", "published": "p", "kind": "improves", "variant": "adamw", "over": "papr"}, "claims.2.over: unknown variant 'papr'"),
    ({"text": "t", "source": "s", "published": "p", "kind": "reproduces", "variant": "adamw", "tolerance": 1},
     "claims.2: a `reproduces` claim needs references.variants.adamw.test_error"),
    ({"text": "t", "source": "s", "published": "p", "kind": "improves", "variant": "adamw"}, "claims.2: 'over' is a required property"),
    ({"text": "t", "source": "s", "published": "p", "kind": "beats", "proxy": "synflow", "over": "params"},
     "claims.2: a claim about proxies needs studies.tiny.proxies in params.yaml"),
    ({"text": "t", "source": "s", "published": "p", "kind": "correlates", "proxy": "synflow"}, "claims.2: 'at_least' is a required property"),
    ({"text": "t", "source": "s", "kind": "improves", "variant": "adamw", "over": "paper"}, "claims.2: 'published' is a required property"),
    ({"text": "t", "source": "s", "published": "p", "kind": "matches", "variant": "adamw", "over": "paper", "tolerance": 1,
      "measure": "failure_rate"}, "claims.2.measure: failure_rate claims say `variant` fails less often than `over` (kind improves)"),
    ({"text": "t", "source": "s", "published": "p", "kind": "matches", "variant": "adamw", "over": "paper", "tolerance": 1,
      "effect": {"variant": "adamw", "over": "papr"}}, "claims.2.effect.over: unknown variant 'papr'"),
])
def test_card_claims_must_name_variants_proxies_and_published_values(tmp_path, params, claim, message):
    target = write(tmp_path, params)
    card_path = tmp_path / "workflow" / "studies" / "tiny.yaml"
    card = yaml.safe_load(card_path.read_text())
    card["claims"].append(claim)
    card_path.write_text(yaml.safe_dump(card))
    with pytest.raises(ParamsError) as error:
        checks.read_params(target)
    assert message in str(error.value) and "workflow/studies/tiny.yaml" in str(error.value)


def test_a_proxy_claim_must_name_a_scored_proxy(tmp_path, params):
    target = write(tmp_path, search_study(params))
    card_path = tmp_path / "workflow" / "studies" / "tiny.yaml"
    card_path.write_text(yaml.safe_dump({"title": "t", "claims": [
        {"text": "t", "source": "s", "published": "p", "kind": "correlates", "proxy": "synflw", "at_least": 0.5}]}))
    with pytest.raises(ParamsError, match="claims.0.proxy: unknown proxy 'synflw'"):
        checks.read_params(target)


def test_a_derived_job_whose_source_is_not_trained_says_which_and_how_to_train_it(tmp_path, monkeypatch, capsys):
    from reprolab import cli

    monkeypatch.chdir(tmp_path)
    job = {"name": "train-s-pruned", "stage": "train", "wildcards": {"study": "s", "variant": "pruned"}, "threads": 1,
           "settings": {"seeds": [0, 1], "config": {"starts_from": {"variant": "mlp"}}}}
    (tmp_path / "job.json").write_text(json.dumps(job))
    assert cli.main(["run", str(tmp_path / "job.json")]) == 1
    error = capsys.readouterr().err
    assert "train-s-pruned starts from s/mlp, which has no trained model at seeds [0, 1]" in error
    assert "`dvc repro train-s-mlp`" in error and error.count("\n") == 1
