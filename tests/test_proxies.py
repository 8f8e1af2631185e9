"""Zero-cost proxies against values computed by hand (NumPy backpropagation through a tiny ReLU
MLP, float64), the proxies' ranking statistics, and the search space's sampled CNNs."""

import numpy as np
import pytest
from scipy import stats as scipy_stats

keras = pytest.importorskip("keras")

from reprolab.training import proxies  # noqa: E402
from reprolab.reporting import ranking, verdicts  # noqa: E402
from reprolab.models import cnn  # noqa: E402

rng = np.random.default_rng(7)
# float32 values held in float64, so that the hand computations see exactly the model's weights
W1, B1, W2, B2, X = (rng.normal(0, scale, shape).astype("float32").astype("float64")
                     for scale, shape in ((0.6, (8, 6)), (0.3, 6), (0.6, (6, 3)), (0.3, 3), (1.0, (5, 8))))
Y = np.array([0, 2, 1, 2, 0])


def mlp(dtype="float32"):
    """Input(8) -> Dense(6) -> ReLU -> Dense(3) with the fixed weights above."""
    keras.config.set_dtype_policy(dtype)
    inputs = keras.Input((8,))
    hidden = keras.layers.Dense(6, name="hidden")(inputs)
    outputs = keras.layers.Dense(3, name="classifier")(keras.layers.Activation("relu", name="act")(hidden))
    model = keras.Model(inputs, outputs)
    keras.config.set_dtype_policy("float32")
    model.set_weights([W1, B1, W2, B2])
    return model


def backprop(w1, b1, w2, b2, x=X, y=Y):
    """The mean cross-entropy's pre-activations and gradients, by hand."""
    z1 = x @ w1 + b1
    a1 = np.maximum(z1, 0)
    z2 = a1 @ w2 + b2
    softmax = np.exp(z2 - z2.max(axis=1, keepdims=True))
    softmax /= softmax.sum(axis=1, keepdims=True)
    dz2 = (softmax - np.eye(3)[y]) / len(x)
    dz1 = (dz2 @ w2.T) * (z1 > 0)
    return {"z1": z1, "z2": z2, "dz1": dz1, "dz2": dz2, "grads": [x.T @ dz1, dz1.sum(0), a1.T @ dz2, dz2.sum(0)]}


@pytest.fixture(scope="module")
def scores():
    return proxies.score(mlp(), mlp("float64"), X.astype("float32"), Y)


def test_counts_are_the_networks_parameters_and_two_flops_per_multiply_accumulate(scores):
    assert scores["params"] == 8 * 6 + 6 + 6 * 3 + 3
    assert scores["flops"] == 2 * (8 * 6 + 6 * 3)


def test_gradient_proxies_match_hand_backpropagation(scores):
    hand = backprop(W1, B1, W2, B2)
    kernel_gradients = [hand["grads"][0], hand["grads"][2]]
    assert scores["grad_norm"] == pytest.approx(sum(np.linalg.norm(gradient) for gradient in kernel_gradients), rel=1e-4)
    assert scores["snip"] == pytest.approx(np.abs(kernel_gradients[0] * W1).sum() + np.abs(kernel_gradients[1] * W2).sum(), rel=1e-4)


def test_grasp_matches_a_finite_difference_hessian_gradient_product(scores):
    weights = [W1, B1, W2, B2]
    gradient = backprop(*weights)["grads"]
    step = 1e-5
    plus = backprop(*[w + step * g for w, g in zip(weights, gradient)])["grads"]
    minus = backprop(*[w - step * g for w, g in zip(weights, gradient)])["grads"]
    hessian_gradient = [(p - m) / (2 * step) for p, m in zip(plus, minus)]
    expected = -((W1 * hessian_gradient[0]).sum() + (W2 * hessian_gradient[2]).sum())
    assert scores["grasp"] == pytest.approx(expected, rel=1e-3)


def test_fisher_sums_half_the_mean_squared_activation_gradient_products(scores):
    hand = backprop(W1, B1, W2, B2)
    expected = sum((0.5 * np.mean((z * dz) ** 2, axis=0)).sum() for z, dz in ((hand["z1"], hand["dz1"]), (hand["z2"], hand["dz2"])))
    assert scores["fisher"] == pytest.approx(expected, rel=1e-4)


def test_synflow_is_the_absolute_network_on_an_all_ones_input(scores):
    a1 = np.ones(8) @ np.abs(W1) + np.abs(B1)  # positive, so the ReLU passes it
    flow_into_hidden = np.abs(W2).sum(axis=1)  # dR/da1 with R the sum of the outputs
    expected = (np.abs(W1) * np.outer(np.ones(8), flow_into_hidden)).sum() + (np.abs(W2) * np.outer(a1, np.ones(3))).sum()
    assert scores["synflow"] == pytest.approx(expected, rel=1e-9)


def test_jacob_cov_scores_the_eigenvalues_of_the_input_jacobians_correlation(scores):
    z1 = X @ W1 + B1
    jacobians = ((z1 > 0) * W2.sum(axis=1)) @ W1.T  # d(sum of logits)/dx per example
    eigenvalues = np.linalg.eigvalsh(np.corrcoef(jacobians))
    expected = -np.sum(np.log(eigenvalues + 1e-5) + 1 / (eigenvalues + 1e-5))
    assert scores["jacob_cov"] == pytest.approx(expected, rel=1e-3)


def test_naswot_is_the_log_determinant_of_the_hamming_kernel_of_relu_codes(scores):
    codes = (X @ W1 + B1 > 0).astype(float)
    expected = np.linalg.slogdet(codes @ codes.T + (1 - codes) @ (1 - codes).T)[1]
    assert scores["naswot"] == pytest.approx(expected, rel=1e-6)


def test_every_proxy_scores_a_sampled_cnn_with_finite_values_that_depend_on_the_init():
    keras.config.set_dtype_policy("float32")
    images = np.random.default_rng(0).uniform(-1, 1, (16, 16, 16, 1)).astype("float32")
    labels = np.arange(16) % 10

    def build(seed, dtype="float32"):
        keras.config.set_dtype_policy(dtype)
        model = cnn.build((16, 16, 1), 10, [4, 8], [3, 5], "max", 16, "relu", 0, seed)
        keras.config.set_dtype_policy("float32")
        return model

    first, second = (proxies.score(build(seed), build(seed, "float64"), images, labels) for seed in (0, 1))
    assert set(first) == set(ranking.PROXIES)
    assert all(np.isfinite(value) for value in first.values())
    assert first["params"] == second["params"] and first["flops"] == second["flops"]
    assert first["snip"] != second["snip"], "different init seeds give different weights"


def test_proxies_refuse_a_network_that_is_not_a_chain():
    inputs = keras.Input((4,))
    model = keras.Model(inputs, keras.layers.Add()([keras.layers.Dense(4)(inputs), inputs]))
    with pytest.raises(ValueError, match="chain of layers"):
        proxies.naswot(model, np.zeros((2, 4), "float32"))


def test_rank_correlations_agree_with_scipy():
    values, target = np.random.default_rng(3).normal(size=(2, 30))
    values[:5] = values[0]  # ties
    assert ranking.spearman(values, target) == pytest.approx(scipy_stats.spearmanr(values, target).statistic)
    assert ranking.kendall(values, target) == pytest.approx(scipy_stats.kendalltau(values, target).statistic)


def test_vote_counts_pairwise_majority_wins():
    scores = {"synflow": [3, 2, 1], "jacob_cov": [1, 3, 2], "snip": [3, 1, 2]}
    # 0 beats 1 (synflow, snip) and 2 (synflow, snip); 1 beats 2 (synflow, jacob_cov); 2 beats nobody
    assert list(ranking.vote(scores)) == [2, 1, 0]


def test_top_hits_is_the_share_of_the_best_found_by_the_proxy():
    accuracy = np.arange(20.0)
    assert ranking.top_hits(accuracy, accuracy, top=5) == 1.0
    assert ranking.top_hits(-accuracy, accuracy, top=5) == 0.0


def test_claims_are_judged_by_the_bootstrap_interval():
    generator = np.random.default_rng(0)
    accuracy = generator.normal(size=60)
    scores = {name: generator.normal(size=60) for name in ranking.PROXIES}
    scores["params"] = accuracy + 0.1 * generator.normal(size=60)  # nearly the accuracy ranking
    scores["synflow"] = -accuracy  # the reverse ranking
    analysis = ranking.analyse(accuracy, {"0": scores})

    def verdict(**claim):
        return verdicts.judge_ranking({"text": "", "source": "", **claim}, analysis)["verdict"]

    assert verdict(kind="correlates", proxy="params", at_least=0.5) == "supported"
    assert verdict(kind="correlates", proxy="synflow", at_least=0.5) == "contradicted"
    assert verdict(kind="beats", proxy="synflow", over="params") == "contradicted"
    assert verdict(kind="beats", proxy="params", over="synflow") == "supported"
    assert verdict(kind="correlates", proxy="synflow", **{"with": "params"}, at_least=0.8) == "contradicted"
