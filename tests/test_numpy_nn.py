"""The NumPy library: hand-written gradients against numerical ones, and against Paddle's autograd."""
import numpy as np
import paddle
import paddle.nn.functional as F
import pytest

from digits.data import load_course_data
from digits.errors import UserError
from digits.numpy_nn import (LOSSES, SGD, Affine, Dropout, Layer, Network, ReLU, Sigmoid, Tanh, batches, gradient_check,
                             mlp, numerical_gradient, pixels_in_unit_range, relative_error)

TOLERANCE = 1e-6  # max relative error of backprop against central differences, float64
PARITY = 1e-5     # max relative error between the NumPy net and its Paddle twin, float32


def check_layer(layer, x):
    """Gradient check of one layer through f = sum(layer(x) * G) for a random G."""
    rng = np.random.default_rng(1)
    weights = rng.standard_normal(layer.forward(x, training=True).shape)
    f = lambda: float((layer.forward(x, training=True) * weights).sum())  # noqa: E731
    f()
    errors = {"input": relative_error(layer.backward(weights), numerical_gradient(f, x))}
    for name, value in layer.params.items():
        f()
        layer.backward(weights)
        errors[name] = relative_error(layer.grads[name], numerical_gradient(f, value))
    return errors


@pytest.mark.parametrize("make", [lambda rng: Affine(5, 4, rng, 0.5, np.float64), lambda rng: ReLU(),
                                  lambda rng: Sigmoid(), lambda rng: Tanh()])
def test_each_layer_backward_matches_central_differences(make):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((6, 5))
    x[np.abs(x) < 0.05] = 0.3  # keep away from ReLU's kink, where the derivative is undefined
    errors = check_layer(make(rng), x)
    assert max(errors.values()) <= TOLERANCE, errors


def test_dropout_backward_with_its_mask_fixed():
    class SameMask(Dropout):
        def forward(self, x, training=False):
            self.rng = np.random.default_rng(7)  # the same mask on every call, as within one training step
            return super().forward(x, training)
    x = np.random.default_rng(0).standard_normal((6, 5))
    layer = SameMask(0.4, None)
    assert max(check_layer(layer, x).values()) <= TOLERANCE
    kept = layer.forward(x, training=True) != 0
    assert 0.3 < 1 - kept.mean() < 0.5  # about p of the units are dropped...
    np.testing.assert_array_equal(layer.forward(x, training=False), x)  # ...and none at inference


@pytest.mark.parametrize("loss", sorted(LOSSES))
def test_each_loss_gradient(loss):
    rng = np.random.default_rng(0)
    scores, labels = rng.standard_normal((8, 4)) * 3, rng.integers(0, 4, 8)
    function = LOSSES[loss]()
    function(scores, labels)
    analytic = function.gradient()
    numeric = numerical_gradient(lambda: function(scores, labels), scores)
    assert relative_error(analytic, numeric) <= TOLERANCE


@pytest.mark.parametrize("hidden", [[7], [7, 5], [7, 6, 5]])
@pytest.mark.parametrize("activation", ["relu", "sigmoid", "tanh"])
def test_whole_networks_with_penalties(hidden, activation):
    rng = np.random.default_rng(3)
    for loss in LOSSES:
        network = mlp([9, *hidden, 4], activation, loss=loss, l2=0.05, l1=0.02, seed=2, dtype=np.float64)
        errors = gradient_check(network, rng.standard_normal((5, 9)), rng.integers(0, 4, 5))
        assert max(errors.values()) <= TOLERANCE, (loss, errors)


@pytest.mark.parametrize("make", [lambda rng: Affine(5, 4, rng, 0.5), lambda rng: ReLU(), lambda rng: Sigmoid(),
                                  lambda rng: Tanh(), lambda rng: Dropout(0.5, rng)])
def test_each_layer_has_its_own_params_and_grads(make):
    first, second = make(np.random.default_rng(0)), make(np.random.default_rng(0))
    assert first.params is not second.params and first.grads is not second.grads
    first.params["extra"], first.grads["extra"] = np.ones(3), np.ones(3)
    assert "extra" not in second.params and "extra" not in second.grads


class Gain(Layer):
    """y = x ⊙ s, a learned gain per feature: a new layer as a student would add one, through the
    params and grads dicts that Layer gives it."""

    def __init__(self, features):
        super().__init__()
        self.params["s"] = np.ones(features, dtype=np.float32)

    def forward(self, x, training=False):
        self.x = x
        return x * self.params["s"]

    def backward(self, grad):
        self.grads["s"] = (grad * self.x).sum(axis=0)
        return grad * self.params["s"]


def test_training_one_network_leaves_another_unchanged():
    rng = np.random.default_rng(0)
    x, labels = rng.standard_normal((8, 6)).astype(np.float32), rng.integers(0, 3, 8)
    trained, untouched = ([Gain(6), *mlp([6, 5, 3], seed=0).layers] for _ in range(2))
    trained, untouched = Network(trained, LOSSES["softmax_ce"]()), Network(untouched, LOSSES["softmax_ce"]())
    before = {key: value.copy() for key, value in untouched.state().items()}
    optimizer = SGD(0.1, momentum=0.9)
    for _ in range(3):
        trained.loss_and_gradients(x, labels)
        optimizer.step(trained)
    for key, value in untouched.state().items():
        np.testing.assert_array_equal(value, before[key], err_msg=key)
        assert not np.array_equal(trained.state()[key], value), key  # the trained twin did move
    assert all(not layer.grads for layer in untouched.layers)
    assert all(not layer.params and not layer.grads for layer in trained.layers if isinstance(layer, ReLU))


def test_softmax_cross_entropy_is_stable_for_huge_scores():
    loss = LOSSES["softmax_ce"]()
    scores = np.array([[1000.0, 0.0, -1000.0], [5.0, 5.0, 5.0]])
    value = loss(scores, np.array([0, 2]))
    assert np.isfinite(value) and value == pytest.approx(np.log(3) / 2)
    assert np.isfinite(LOSSES["sigmoid_ce"]()(scores, np.array([0, 2])))


def paddle_twin(network):
    """The same fully connected net in Paddle, holding copies of the NumPy weights."""
    affines = [layer for layer in network.layers if isinstance(layer, Affine)]
    linears = [paddle.nn.Linear(*layer.params["W"].shape) for layer in affines]
    for linear, layer in zip(linears, affines):
        linear.weight.set_value(layer.params["W"])
        linear.bias.set_value(layer.params["b"])
    return linears


@pytest.mark.parametrize("activation, loss", [("relu", "softmax_ce"), ("sigmoid", "sigmoid_ce"), ("tanh", "mse")])
def test_parity_with_paddle(small_datafile, activation, loss):
    images, labels = load_course_data(small_datafile)["train"]
    x, y = images[:100], labels[:100]
    network = mlp([784, 50, 30, 10], activation, loss=loss, seed=5)
    value = network.loss_and_gradients(x, y)

    linears = paddle_twin(network)
    act = {"relu": F.relu, "sigmoid": F.sigmoid, "tanh": paddle.tanh}[activation]
    h = paddle.to_tensor(x)
    for linear in linears[:-1]:
        h = act(linear(h))
    scores = linears[-1](h)
    target = paddle.to_tensor(y[:, None])
    one_hot = F.one_hot(paddle.to_tensor(y), 10)
    twin_loss = {"softmax_ce": lambda: F.cross_entropy(scores, target),
                 "sigmoid_ce": lambda: F.binary_cross_entropy_with_logits(scores, one_hot, reduction="sum") / len(y),
                 "mse": lambda: F.mse_loss(scores, one_hot)}[loss]()
    twin_loss.backward()

    assert relative_error(network.forward(x), scores.numpy()) <= PARITY
    assert abs(value - float(twin_loss)) <= PARITY * abs(value)
    affines = [layer for layer in network.layers if isinstance(layer, Affine)]
    for layer, linear in zip(affines, linears):
        assert relative_error(layer.grads["W"], linear.weight.grad.numpy()) <= PARITY
        assert relative_error(layer.grads["b"], linear.bias.grad.numpy()) <= PARITY


def test_training_learns_and_parameters_round_trip(small_datafile, tmp_path):
    data = load_course_data(small_datafile)
    network, optimizer, rng = mlp([784, 50, 10], seed=0), SGD(0.1, momentum=0.5, decay=0.9), np.random.default_rng(0)
    before = network.accuracy(*data["valid"])
    for _ in range(5):
        for x, y in batches(*data["train"], 50, rng):
            network.loss_and_gradients(x, y)
            optimizer.step(network)
        optimizer.end_epoch()
    assert optimizer.lr == pytest.approx(0.1 * 0.9 ** 5)
    after = network.accuracy(*data["valid"])
    assert before < 0.3 and after > 0.8
    copy = mlp([784, 50, 10], seed=99).load(network.save(str(tmp_path / "params.npz")))
    np.testing.assert_array_equal(copy.forward(data["eval"][0]), network.forward(data["eval"][0]))
    with pytest.raises(UserError, match="do not fit this network"):
        mlp([784, 30, 10]).load(str(tmp_path / "params.npz"))


def test_pixels_in_unit_range(small_datafile):
    data = load_course_data(small_datafile)
    splits = pixels_in_unit_range(data)
    for mode, (images, labels) in splits.items():
        assert images.dtype == np.float32 and images.min() == 0.0 and images.max() == pytest.approx(1.0)
        np.testing.assert_array_equal(images * 2 - 1, data[mode][0])  # the course file's [-1, 1], mapped back
        assert labels is data[mode][1]


def test_unknown_choices_are_refused():
    with pytest.raises(UserError, match="unknown activation 'elu'"):
        mlp([4, 3, 2], "elu")
    with pytest.raises(UserError, match="unknown loss 'hinge'"):
        mlp([4, 3, 2], loss="hinge")
