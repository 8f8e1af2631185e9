"""The checks of params.yaml and the cards that a schema cannot express (cross-references, sizes,
settings a model takes), run before any job starts."""

import difflib
from pathlib import Path

from reprolab.dataset_sizes import TRAIN_EXAMPLES
from reprolab.planning.loading import CARD_PATH, PARAMS_SCHEMA, ParamsError, load_checked, setting
from reprolab.planning.paths import source_of
from reprolab.planning.variants import card_for, lottery_rounds, plot_variants, point_name, resolve_variant, study_settings


# The model settings each network's `build` takes (src/reprolab/models/), checked before any training.
MODEL_SETTINGS = {"lecun1989": {"activation", "output_activation", "dropout"},
                  "resnet": {"depth", "widths", "normalization", "activation"},
                  "cnn": {"widths", "kernel_sizes", "pooling", "dense_width", "activation"},
                  "mlp": {"depth", "width", "initialization"},
                  "logistic": set(),
                  "conv1d": {"channels"},
                  "recurrent": {"cell", "units", "bidirectional", "readout", "recurrent_dropout", "state_dropout", "zoneout_cell",
                                "zoneout_hidden", "normalization"},
                  "attention": {"units", "heads", "blocks"},
                  "dense": {"widths", "batchnorm", "binarize", "prunable"}}

# The zero-cost proxies proxies.py scores for every network (ranking.py adds their `vote`).
PROXIES = ("params", "flops", "grad_norm", "snip", "grasp", "fisher", "synflow", "jacob_cov", "naswot")


def read_params(path):
    """Loads and validates a params file and the cards of its studies."""
    params = load_checked(path, PARAMS_SCHEMA, "run from the repository root, or pass --params")
    validate(params, path)
    return params


def validate(params, source="params.yaml"):
    """The cross-references the params schema cannot express, and each study's card."""
    for study_name, raw_study in params["studies"].items():
        study = study_settings(params, study_name)
        _check_dataset(params, study["dataset"], f"{source}: studies.{study_name}.dataset", source)
        for variant_name in raw_study.get("full", {}).get("variants", {}):
            if variant_name not in study["variants"]:
                raise ParamsError(
                    f"{source}: studies.{study_name}.full.variants.{variant_name}: not a variant of the study; "
                    f"variants: {', '.join(study['variants'])}"
                )
        _check_sweeps(params, study_name, source)
        _check_lottery(params, study_name, source)
        for variant_name in study["variants"]:
            resolved = resolve_variant(params, study_name, variant_name)
            where = f"{source}: studies.{study_name}.variants.{variant_name}"
            dataset_name = resolved["dataset"]
            dataset = _check_dataset(params, dataset_name, f"{where}.dataset", source)
            all_train_examples = min(TRAIN_EXAMPLES[dataset["source"]], dataset.get("train_size", TRAIN_EXAMPLES[dataset["source"]]))
            if resolved["hold_out_validation"] and not dataset.get("validation_size"):
                raise ParamsError(f"{where}: hold_out_validation needs a validation split: set datasets.{dataset_name}.validation_size "
                                  "(e.g. 1000), or hold_out_validation: false")
            held_out = dataset.get("validation_size", 0) if resolved["hold_out_validation"] else 0
            train_examples = all_train_examples - held_out
            if resolved["batch_size"] > train_examples:
                raise ParamsError(
                    f"{where}: batch_size {resolved['batch_size']} is larger than the {train_examples} training examples of dataset "
                    f"'{dataset_name}'" + (f" ({held_out} of {all_train_examples} are held out for validation)" if held_out else "")
                    + f"; use at most {train_examples}"
                )
            _check_model(resolved, where)
            picked_keys = [raw_study.get("sweeps", {}).get(name, {}).get("key") for name in resolved.get("picked", [])]
            if "eta" not in resolved["optimizer"].get("gradient_noise", {"eta": None}) and "optimizer.gradient_noise.eta" not in picked_keys:
                raise ParamsError(f"{where}: optimizer.gradient_noise needs eta, or a sweep in `picked` whose key is optimizer.gradient_noise.eta")
            _check_timing(resolved, where)
            _check_derived(params, study_name, study, resolved, where)
            if "proxies" in study and resolved["model"]["name"] != "cnn":
                raise ParamsError(f"{where}: zero-cost proxies are scored for chain networks (model cnn), not {resolved['model']['name']}; "
                                  f"remove studies.{study_name}.proxies or use model cnn")
        if "baseline" in study and study["baseline"] not in study["variants"]:
            raise ParamsError(f"{source}: studies.{study_name}.baseline: '{study['baseline']}' is not one of the variants "
                              f"({', '.join(study['variants'])})")
        _check_card(params, study_name, Path(source).parent)


def _check_dataset(params, dataset_name, where, source):
    """The named dataset is declared, its validation split leaves training examples, and only
    MNIST-1D takes shuffle_seq; returns its settings."""
    if dataset_name not in params["datasets"]:
        raise ParamsError(f"{where}: unknown dataset '{dataset_name}'; declared datasets: {', '.join(sorted(params['datasets']))}")
    dataset = params["datasets"][dataset_name]
    all_train_examples = min(TRAIN_EXAMPLES[dataset["source"]], dataset.get("train_size", TRAIN_EXAMPLES[dataset["source"]]))
    if dataset.get("validation_size", 0) >= all_train_examples:
        raise ParamsError(f"{source}: datasets.{dataset_name}.validation_size {dataset['validation_size']} leaves no training "
                          f"examples of the {all_train_examples}; use fewer")
    if "shuffle_seq" in dataset and dataset["source"] != "mnist1d":
        raise ParamsError(f"{source}: datasets.{dataset_name}.shuffle_seq: only source mnist1d has time steps to permute; remove it")
    return dataset


def _check_sweeps(params, study_name, source):
    """`picked` names declared sweeps; a sweep names a declared variant that holds out validation,
    and its points' names are not taken by declared variants."""
    raw = params["studies"][study_name]
    sweeps = raw.get("sweeps", {})
    for variant_name, variant in raw.get("variants", {}).items():
        for sweep_name in (variant or {}).get("picked", []):
            if sweep_name not in sweeps:
                raise ParamsError(f"{source}: studies.{study_name}.variants.{variant_name}.picked: unknown sweep '{sweep_name}'; "
                                  f"sweeps: {', '.join(sweeps) or 'none (declare studies.{study_name}.sweeps)'}")
    for sweep_name, sweep in sweeps.items():
        where = f"{source}: studies.{study_name}.sweeps.{sweep_name}"
        if sweep["variant"] not in raw.get("variants", {}):
            raise ParamsError(f"{where}.variant: unknown variant '{sweep['variant']}'; variants: {', '.join(raw.get('variants', {}))}")
        for value in sweep["values"]:
            if point_name(sweep_name, value) in raw.get("variants", {}):
                raise ParamsError(f"{where}: its point {point_name(sweep_name, value)} has the name of a declared variant; rename the sweep or the variant")
        template = resolve_variant(params, study_name, sweep["variant"])
        if not template["hold_out_validation"]:
            raise ParamsError(f"{where}: a sweep picks on the validation split, but variant '{sweep['variant']}' trains on all "
                              "training examples; set hold_out_validation: true (and the dataset's validation_size)")


def _check_lottery(params, study_name, source):
    """The lottery starts from a declared variant, and its rounds' names are not taken by declared variants."""
    raw = params["studies"][study_name]
    declared = raw.get("variants", {})
    lottery = study_settings(params, study_name).get("lottery")
    if not lottery:
        return
    where = f"{source}: studies.{study_name}.lottery"
    if lottery["from"] not in declared:
        raise ParamsError(f"{where}.from: unknown variant '{lottery['from']}'; variants: {', '.join(declared)}")
    taken = sorted(set(lottery_rounds({"lottery": lottery})) & set(declared))
    if taken:
        raise ParamsError(f"{where}: its rounds {', '.join(taken)} have the names of declared variants; rename those variants")


def _check_model(resolved, where):
    """The resolved model block has exactly its network's settings, with values the network can build."""
    model = resolved["model"]
    expected = MODEL_SETTINGS[model["name"]]
    missing, unknown = sorted(expected - set(model)), sorted(set(model) - expected - {"name"})
    if missing:
        raise ParamsError(f"{where}: model {model['name']} needs model.{', model.'.join(missing)} (set it in the study's base or the variant)")
    if unknown:
        raise ParamsError(f"{where}: model {model['name']} does not take model.{', model.'.join(unknown)}; it takes {', '.join(sorted(expected))}")
    if model["name"] == "resnet" and (model["depth"] < 8 or (model["depth"] - 2) % 6):
        raise ParamsError(f"{where}: model.depth {model['depth']} is not 6n + 2 with n >= 1; use 8, 14, 20, 32, 56, ...")
    if model["name"] == "resnet" and len(model["widths"]) != 3:
        raise ParamsError(f"{where}: model.widths {model['widths']}: resnet has three stages; give three widths")
    if model["name"] == "recurrent":
        _check_recurrent(model, where)
    if model["name"] == "attention" and model["units"] % model["heads"]:
        raise ParamsError(f"{where}: model.units {model['units']} must split evenly over model.heads {model['heads']}")
    if model["name"] == "cnn" and len(model["widths"]) != len(model["kernel_sizes"]):
        raise ParamsError(f"{where}: model.widths {model['widths']} and model.kernel_sizes {model['kernel_sizes']}: "
                          "give one kernel size per convolution")
    if "gradient_noise" in resolved["optimizer"] and (resolved["optimizer"]["name"] != "sgd" or "adaptive_clipping" in resolved["optimizer"]):
        raise ParamsError(f"{where}: optimizer.gradient_noise is implemented for plain SGD (with momentum); "
                          "use optimizer.name sgd without adaptive_clipping")
    if resolved["optimizer"].get("weight_decay_form") == "coupled" and (
            resolved["optimizer"]["name"] != "sgd" or {"gradient_noise", "adaptive_clipping"} & set(resolved["optimizer"])):
        raise ParamsError(f"{where}: optimizer.weight_decay_form coupled is implemented for plain SGD (with momentum); "
                          "use optimizer.name sgd without gradient_noise or adaptive_clipping, or drop weight_decay_form")
    if model.get("normalization") == "nf_agc" and "adaptive_clipping" not in resolved["optimizer"]:
        raise ParamsError(f"{where}: normalization nf_agc needs optimizer.adaptive_clipping (lambda, e.g. 0.04)")


def _check_derived(params, study_name, study, resolved, where):
    """A run that starts from another: the source exists, has every seed, and is no descendant of this
    run; a quantised run only transforms, a pruned one needs masks."""
    derived = "starts_from" in resolved
    for key in ("quantize", "prune"):
        if key in resolved and not derived:
            raise ParamsError(f"{where}: {key} transforms a trained model; name it with starts_from: {{variant: <name>}}")
    if resolved["epochs"] == 0 and (not derived or "prune" in resolved):
        raise ParamsError(f"{where}: epochs 0 trains nothing; set epochs >= 1 (0 is for a starts_from model used as trained or quantised)")
    if "quantize" in resolved and (resolved["epochs"] != 0 or "prune" in resolved):
        raise ParamsError(f"{where}: quantize is post-training (Keras' Model.quantize): set epochs: 0 and no prune")
    missing = sorted({"fraction", "classifier_fraction", "weights"} - set(resolved.get("prune", {"fraction", "classifier_fraction", "weights"})))
    if missing:
        raise ParamsError(f"{where}.prune needs {', '.join(missing)} (here or in the variant it extends)")
    if "prune" in resolved and not (resolved["model"]["name"] == "dense" and resolved["model"]["prunable"]):
        raise ParamsError(f"{where}: prune needs masks to carry: set model {{name: dense, prunable: true}}")
    if resolved["model"]["name"] == "dense" and resolved["model"]["prunable"] and resolved["model"]["binarize"] != "none":
        raise ParamsError(f"{where}: model.prunable is for float layers; set binarize: none or prunable: false")
    chain, current, current_study = [f"{study_name}/{where.rsplit('.', 1)[1]}"], resolved, study_name
    while "starts_from" in current:
        source_study, source_variant = source_of(current, current_study)
        if source_study not in params["studies"]:
            raise ParamsError(f"{where}.starts_from.study: unknown study '{source_study}'; studies: {', '.join(params['studies'])}")
        source_settings = study_settings(params, source_study)
        if source_variant not in source_settings["variants"]:
            close = difflib.get_close_matches(source_variant, list(source_settings["variants"]), n=1)
            raise ParamsError(f"{where}.starts_from: study {source_study} has no variant '{source_variant}'"
                              + (f" (did you mean '{close[0]}'?)" if close else ""))
        missing = sorted(set(study["seeds"]) - set(source_settings["seeds"]))
        if missing:
            raise ParamsError(f"{where}.starts_from: {source_study}/{source_variant} is not trained at seeds {missing}; "
                              f"give the study seeds it has ({source_settings['seeds']})")
        chain.append(f"{source_study}/{source_variant}")
        if chain[-1] in chain[:-1]:
            raise ParamsError(f"{where}.starts_from forms a cycle ({' -> '.join(chain)}); remove one link")
        current, current_study = resolve_variant(params, source_study, source_variant), source_study


def _check_recurrent(model, where):
    """The LSTM variations of models/lstm_variants.py are LSTM-only and one-directional; Keras' layers do the rest."""
    from_variant_lstm = [key for key in ("state_dropout", "zoneout_cell", "zoneout_hidden") if model[key]]
    from_variant_lstm += ["normalization"] if model["normalization"] != "none" else []
    if from_variant_lstm and (model["cell"] != "lstm" or model["bidirectional"] or model["recurrent_dropout"]):
        raise ParamsError(f"{where}: model.{', model.'.join(from_variant_lstm)} are implemented for a one-directional LSTM without "
                          "recurrent_dropout: set model.cell lstm and model.bidirectional false, or drop them")
    if model["normalization"] not in ("none", "layernorm", "weightnorm"):
        raise ParamsError(f"{where}: model.normalization {model['normalization']}: a recurrent model takes none, layernorm or weightnorm")


def _check_timing(resolved, where):
    """Timing windows must lie within training and switch something the variant has."""
    timing = resolved.get("timing", {})
    if not timing:
        return
    if resolved["batch_size"] == 1:
        raise ParamsError(f"{where}: timing needs mini-batch training; set batch_size above 1")
    for name in ("weight_decay", "augmentation", "blur"):
        window = timing.get(name, {})
        start, end = window.get("from", 0), window.get("until", resolved["epochs"])
        if name in timing and not start < end <= resolved["epochs"]:
            raise ParamsError(f"{where}: timing.{name} {window} is not a non-empty window within the {resolved['epochs']} epochs "
                              f"(0 <= from < until <= {resolved['epochs']})")
    if "weight_decay" in timing and not resolved["optimizer"].get("weight_decay"):
        raise ParamsError(f"{where}: timing.weight_decay switches weight decay the variant does not have; set optimizer.weight_decay")
    if "augmentation" in timing and not resolved["augment_shift_pixels"]:
        raise ParamsError(f"{where}: timing.augmentation switches augmentation the variant does not have; set augment_shift_pixels")
    if timing.get("reset_learning_rate") and ("until" not in timing.get("blur", {}) or resolved["schedule"]["name"] == "constant"):
        raise ParamsError(f"{where}: timing.reset_learning_rate restarts a decaying schedule when the blur ends; "
                          "it needs timing.blur.until and schedule linear")


def _check_card(params, study_name, root):
    """A card's claims and plots must name declared variants, a reproduced figure needs its published
    value, and a claim about an epoch must lie within training."""
    study = study_settings(params, study_name)
    card = card_for(params, study_name, root)
    _check_plots(params, study_name, card)
    for index, variant in enumerate(card.get("examples", [])):
        if variant not in study["variants"]:
            raise ParamsError(f"{CARD_PATH.format(study=study_name)}: examples.{index}: unknown variant '{variant}'; "
                              f"variants: {', '.join(study['variants'])}")
    if card.get("main_claim", 1) > max(1, len(card.get("claims", []))):
        raise ParamsError(f"{CARD_PATH.format(study=study_name)}: main_claim: {card['main_claim']} but the card has "
                          f"{len(card.get('claims', []))} claims; name one of 1 to {len(card.get('claims', []))}")
    for index, row in enumerate(card.get("paper_table", {}).get("rows", [])):
        for key in ("without", "with"):
            if row[key] not in study["variants"]:
                raise ParamsError(f"{CARD_PATH.format(study=study_name)}: paper_table.rows.{index}.{key}: unknown variant '{row[key]}'; "
                                  f"variants: {', '.join(study['variants'])}")
    for index, claim in enumerate(card.get("claims", [])):
        where = f"{CARD_PATH.format(study=study_name)}: claims.{index}"
        if "proxy" in claim:
            _check_proxy_claim(params, study_name, claim, where)
            continue
        for key, value in [(key, claim[key]) for key in ("variant", "over") if key in claim] + [
                (f"effect.{key}", value) for key, value in claim.get("effect", {}).items()]:
            if value not in study["variants"]:
                raise ParamsError(f"{where}.{key}: unknown variant '{value}'; variants: {', '.join(study['variants'])}")
        if claim.get("measure") == "failure_rate" and claim["kind"] != "improves":
            raise ParamsError(f"{where}.measure: failure_rate claims say `variant` fails less often than `over` (kind improves), not {claim['kind']}")
        if "epoch" in claim:
            shortest = min(resolve_variant(params, study_name, claim[key])["epochs"] for key in ("variant", "over"))
            if claim["epoch"] > shortest:
                raise ParamsError(f"{where}.epoch: {claim['epoch']} is past the end of training ({shortest} epochs); use at most {shortest}")
        published = card.get("references", {}).get("variants", {}).get(claim["variant"], {})
        if claim["kind"] == "reproduces" and "test_error" not in published:
            raise ParamsError(f"{where}: a `reproduces` claim needs references.variants.{claim['variant']}.test_error")


def _check_proxy_claim(params, study_name, claim, where):
    """A claim about proxies needs a study that scores them, and names proxies it scores."""
    if "proxies" not in params["studies"][study_name]:
        raise ParamsError(f"{where}: a claim about proxies needs studies.{study_name}.proxies in params.yaml")
    ranked = PROXIES + ("vote",)
    for key in ("proxy", "over", "with"):
        if key in claim and claim[key] not in ranked + (("accuracy",) if key == "with" else ()):
            raise ParamsError(f"{where}.{key}: unknown proxy '{claim[key]}'; proxies: {', '.join(ranked)}")


def _check_plots(params, study_name, card):
    """A card's plots must name declared variants, and settings those variants have."""
    study = study_settings(params, study_name)
    for index, plot in enumerate(card.get("plots", [])):
        where = f"{CARD_PATH.format(study=study_name)}: plots.{index}"
        if plot["kind"] == "proxies" and "proxies" not in study:
            raise ParamsError(f"{where}: a proxies plot needs studies.{study_name}.proxies in params.yaml")
        if plot["kind"] == "sweep" and plot.get("sweep") not in study.get("sweeps", {}):
            raise ParamsError(f"{where}.sweep: a sweep plot names one of studies.{study_name}.sweeps "
                              f"({', '.join(study.get('sweeps', {})) or 'none declared'})")
        if plot["kind"] == "error_vs_measured" and not {"metric", "groups"} <= set(plot):
            raise ParamsError(f"{where}: an error_vs_measured plot needs `metric` and `groups`")
        for variant in plot_variants(study, plot):
            if variant not in study["variants"]:
                raise ParamsError(f"{where}.variants: unknown variant '{variant}'; variants: {', '.join(study['variants'])}")
            if variant == plot.get("reference"):
                continue  # drawn as a band: it need not have the plotted setting
            resolved = resolve_variant(params, study_name, variant)
            for key in [key for key in ("x", "series") if key in plot]:
                try:
                    setting(resolved, plot[key])
                except KeyError:
                    raise ParamsError(f"{where}.{key}: variant '{variant}' has no setting '{plot[key]}' (a dotted key such as model.depth)") from None
            if plot["kind"] == "error_vs_measured" and not resolved.get("measure_inference"):
                raise ParamsError(f"{where}: variant '{variant}' does not measure {plot.get('metric')}; set measure_inference: true for it")
            if plot["kind"] == "signal_propagation" and resolved["model"]["name"] != "resnet":
                raise ParamsError(f"{where}: signal propagation is measured for residual nets only; '{variant}' is {resolved['model']['name']}")
