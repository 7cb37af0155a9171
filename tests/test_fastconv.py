"""digits.fastconv: GemmConv2D and FastMaxPool2D compute what paddle.nn.Conv2D / MaxPool2D compute,
forward and backward, and carry the same parameters (checkpoints interchange)."""
import numpy as np
import paddle
import paddle.nn.functional as F
import pytest

from digits.fastconv import FastMaxPool2D, GemmConv2D, conv2d_layer, maxpool_layer

CONFIGS = [  # (in, out, kernel, stride, padding, batch, size)
    (1, 20, 5, 1, 2, 8, 28),    # course conv1
    (20, 20, 5, 1, 2, 8, 14),   # course conv2
    (3, 7, 3, 2, 0, 5, 11),     # stride 2, no padding, odd size
    (4, 6, 3, 2, 1, 3, 10),     # stride 2 with padding
]


def close(actual, expected, rtol=1e-4):
    actual, expected = np.asarray(actual), np.asarray(expected)
    assert actual.shape == expected.shape
    scale = max(float(np.abs(expected).max()), 1e-6)
    np.testing.assert_allclose(actual, expected, rtol=0, atol=rtol * scale)


def forward_and_grads(layer, x, upstream):
    x = x.detach()
    x.stop_gradient = False
    out = layer(x)
    gx, gw, gb = paddle.autograd.grad([out], [x, layer.weight, layer.bias], [upstream])
    return out.numpy(), gx.numpy(), gw.numpy(), gb.numpy()


@pytest.mark.parametrize("cin,cout,k,stride,pad,batch,size", CONFIGS)
def test_gemm_conv_matches_paddle_conv(cin, cout, k, stride, pad, batch, size):
    paddle.seed(1)
    reference = paddle.nn.Conv2D(cin, cout, k, stride=stride, padding=pad)
    fast = GemmConv2D(cin, cout, k, stride=stride, padding=pad)
    fast.set_state_dict(reference.state_dict())
    rng = np.random.default_rng(cin * 100 + k)
    # a non-zero bias, so that the bias path is really checked
    reference.bias.set_value(rng.normal(size=[cout]).astype("float32"))
    fast.bias.set_value(reference.bias.numpy())
    x = paddle.to_tensor(rng.uniform(-1, 1, size=[batch, cin, size, size]).astype("float32"))
    upstream = _upstream(reference, x, rng)  # the same upstream gradient for both
    expected = forward_and_grads(reference, x, upstream)
    actual = forward_and_grads(fast, x, upstream)
    for name, a, e in zip(("output", "d input", "d weight", "d bias"), actual, expected):
        assert np.isfinite(a).all(), name
        close(a, e)
    assert np.abs(expected[2]).max() > 0 and np.abs(expected[1]).max() > 0


def _upstream(layer, x, rng):
    with paddle.no_grad():
        shape = layer(x).shape
    return paddle.to_tensor(rng.normal(size=shape).astype("float32"))


def test_gemm_conv_input_without_grad_still_trains_weights():
    # conv1 of the course: the images need no gradient; weight and bias still do
    paddle.seed(2)
    reference, fast = paddle.nn.Conv2D(1, 20, 5, padding=2), GemmConv2D(1, 20, 5, padding=2)
    fast.set_state_dict(reference.state_dict())
    x = paddle.uniform([4, 1, 28, 28], min=-1, max=1)
    for layer in (reference, fast):
        F.relu(layer(x)).sum().backward()
    close(fast.weight.grad.numpy(), reference.weight.grad.numpy())
    close(fast.bias.grad.numpy(), reference.bias.grad.numpy())


@pytest.mark.parametrize("cin,cout,k,stride,pad", [(1, 20, 5, 1, 2), (20, 20, 5, 1, 2), (3, 7, 3, 2, 0)])
def test_same_parameters_and_checkpoints_as_conv2d(cin, cout, k, stride, pad):
    reference = paddle.nn.Conv2D(cin, cout, k, stride=stride, padding=pad)
    fast = GemmConv2D(cin, cout, k, stride=stride, padding=pad)
    ref_state, fast_state = reference.state_dict(), fast.state_dict()
    assert list(ref_state) == list(fast_state) == ["weight", "bias"]
    for key in ref_state:
        assert list(ref_state[key].shape) == list(fast_state[key].shape)
    assert list(fast.weight.shape) == [cout, cin, k, k] and list(fast.bias.shape) == [cout]
    # the same default initialisers: zero bias, weights of the same scale as Conv2D's
    assert np.all(fast.bias.numpy() == 0) and np.all(reference.bias.numpy() == 0)
    assert np.std(fast.weight.numpy()) == pytest.approx(np.std(reference.weight.numpy()), rel=0.5)
    # a checkpoint saved from one loads into the other, in both directions
    reference.set_state_dict(fast.state_dict())
    np.testing.assert_array_equal(reference.weight.numpy(), fast.weight.numpy())


def test_same_initial_weights_from_the_same_seed():
    paddle.seed(123)
    reference = paddle.nn.Conv2D(20, 20, 5, padding=2)
    paddle.seed(123)
    fast = GemmConv2D(20, 20, 5, padding=2)
    np.testing.assert_array_equal(reference.weight.numpy(), fast.weight.numpy())
    np.testing.assert_array_equal(reference.bias.numpy(), fast.bias.numpy())


def test_fast_max_pool_matches_with_ties():
    # after relu there are many equal values (zeros, constant background): the gradient must go where
    # MaxPool2D sends it, to the first maximum of each window
    rng = np.random.default_rng(5)
    data = np.maximum(rng.normal(size=[3, 4, 14, 14]), 0).astype("float32")
    data[:, :, :5, :] = 0.5
    upstream = paddle.to_tensor(rng.normal(size=[3, 4, 7, 7]).astype("float32"))
    results = []
    for layer in (paddle.nn.MaxPool2D(2, 2), FastMaxPool2D(2, 2)):
        x = paddle.to_tensor(data)
        x.stop_gradient = False
        out = layer(x)
        (gx,) = paddle.autograd.grad([out], [x], [upstream])
        results.append((out.numpy(), gx.numpy()))
    np.testing.assert_array_equal(results[0][0], results[1][0])
    np.testing.assert_array_equal(results[0][1], results[1][1])


def test_factories():
    assert type(conv2d_layer(1, 20, 5, 1, 2, fast=False)) is paddle.nn.Conv2D
    assert type(conv2d_layer(1, 20, 5, 1, 2, fast=True)) is GemmConv2D          # course conv1: GEMM wins
    assert type(conv2d_layer(20, 20, 5, 1, 2, fast=True)) is paddle.nn.Conv2D   # course conv2: Paddle's kernel wins
    assert type(conv2d_layer(20, 20, 5, 1, 2, fast="gemm")) is GemmConv2D
    assert type(maxpool_layer(2, 2, fast=True)) is FastMaxPool2D
    assert type(maxpool_layer(2, 2, fast=False)) is paddle.nn.MaxPool2D


def test_course_cnn_with_fast_layers_matches_plain_one():
    """The whole course CNN, one SGD step: fast layers give the same loss and the same updated weights."""
    def build(fast):
        paddle.seed(7)
        layers = paddle.nn.Sequential(
            conv2d_layer(1, 20, 5, 1, 2, fast=fast), paddle.nn.ReLU(), maxpool_layer(2, 2, fast=bool(fast)),
            conv2d_layer(20, 20, 5, 1, 2, fast=fast), paddle.nn.ReLU(), maxpool_layer(2, 2, fast=bool(fast)),
            paddle.nn.Flatten(), paddle.nn.Linear(980, 10))
        return layers

    rng = np.random.default_rng(0)
    images = paddle.to_tensor(rng.uniform(-1, 1, size=[16, 1, 28, 28]).astype("float32"))
    labels = paddle.to_tensor(rng.integers(0, 10, size=[16, 1]))
    results = []
    for fast in (False, "gemm"):
        model = build(fast)
        optimizer = paddle.optimizer.SGD(0.1, parameters=model.parameters())
        loss = F.cross_entropy(model(images), labels)
        loss.backward()
        optimizer.step()
        results.append((float(loss), {k: v.numpy() for k, v in model.state_dict().items()}))
    assert results[0][0] == pytest.approx(results[1][0], rel=1e-5)
    assert list(results[0][1]) == list(results[1][1])
    for key, value in results[0][1].items():
        close(results[1][1][key], value)
