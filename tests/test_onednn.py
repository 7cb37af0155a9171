"""digits.onednn computes what Paddle's own layers compute, forward and backward, on real digits, and
carries the same parameters (checkpoints interchange); --no-onednn gives Paddle's own layers."""
import numpy as np
import paddle
import paddle.nn.functional as F
import pytest

from digits.data import IMAGE, load_data
from digits.fusion import fused_stages
from digits.onednn import OneDNNConv2D, accelerate, available, conv_relu_pool, course_layer_name, use_onednn
from models import build_model

pytestmark = pytest.mark.skipif(not available()[0], reason=available()[1])

CONFIGS = [  # (in, out, kernel, stride, padding): the course's two convs, then other geometries
    (1, 20, 5, 1, 2),
    (20, 20, 5, 1, 2),
    (3, 7, 3, 2, 0),
    (4, 6, 3, 2, 1),
]
# Two conv outputs closer than this (a fraction of the output's range) may be ordered differently by the two
# implementations: their outputs differ by about 1e-6 of the range on the processors seen (Intel and AMD).
NEAR_TIE = 1e-4


@pytest.fixture(scope="module")
def digits_batch(small_datafile):
    """The first 37 real eval digits (an odd batch size; unshuffled, so every machine tests the same ones)."""
    images, labels = next(load_data("eval", 37, image_shape=IMAGE, label_dtype="int64", datafile=small_datafile)())
    return paddle.to_tensor(images), paddle.to_tensor(labels)


def channels_from(images, count):
    """A `count`-channel input made of real digits: each channel a different image of the batch."""
    return paddle.concat([paddle.roll(images, shifts=c, axis=0) for c in range(count)], axis=1)


def close(actual, expected, rtol=1e-4):
    actual, expected = np.asarray(actual), np.asarray(expected)
    assert actual.shape == expected.shape
    np.testing.assert_allclose(actual, expected, rtol=0, atol=rtol * max(float(np.abs(expected).max()), 1e-6))


def outputs_and_grads(function, layer, x, needs_input_grad=True, keep=None):
    """f(x), and the gradients of a fixed non-linear function of it w.r.t. x (if needed), weight and bias;
    `keep` (0/1 per output) leaves outputs out of that function."""
    x = x.detach()
    x.stop_gradient = not needs_input_grad
    out = function(x)
    loss = ((out * out + out) * (1 if keep is None else paddle.to_tensor(keep))).sum()
    grads = paddle.autograd.grad([loss], ([x] if needs_input_grad else []) + [layer.weight, layer.bias])
    return [out.numpy()] + [g.numpy() for g in grads]


def twin_layers(cin, cout, k, stride, pad):
    paddle.seed(cin * 100 + k)
    reference = paddle.nn.Conv2D(cin, cout, k, stride=stride, padding=pad)
    # a bias far from zero, so that its path is really checked
    reference.bias.set_value(paddle.uniform(reference.bias.shape, min=-0.5, max=0.5))
    onednn = OneDNNConv2D(cin, cout, k, stride=stride, padding=pad)
    onednn.set_state_dict(reference.state_dict())
    return reference, onednn


@pytest.mark.parametrize("cin,cout,k,stride,pad", CONFIGS)
@pytest.mark.parametrize("needs_input_grad", [True, False])
def test_conv_matches_paddle_conv(digits_batch, cin, cout, k, stride, pad, needs_input_grad):
    reference, onednn = twin_layers(cin, cout, k, stride, pad)
    x = channels_from(digits_batch[0], cin)
    expected = outputs_and_grads(reference, reference, x, needs_input_grad)
    actual = outputs_and_grads(onednn, onednn, x, needs_input_grad)
    for got, want in zip(actual, expected):
        close(got, want)


def by_window(a):
    """(batch, depth, height, width) -> (batch, depth, height // 2, width // 2, 4): each 2x2 max-pool window's
    four values (an odd last row or column, which the pool drops, left out)."""
    batch, depth, height, width = a.shape
    h2, w2 = height // 2, width // 2
    a = a[:, :, :h2 * 2, :w2 * 2].reshape(batch, depth, h2, 2, w2, 2)
    return a.transpose(0, 1, 2, 4, 3, 5).reshape(batch, depth, h2, w2, 4)


def untied_input_positions(conv_output, k, stride, pad, input_shape):
    """Where the input gradient of pool(relu(conv(x))) is defined: a flat background gives equal values
    inside a max-pool window, and which element of such a tie (or of a near-tie that float rounding can
    flip) receives the gradient is not defined; oneDNN picks another one than Paddle on some processors.
    An input position is left out when any conv output it feeds lies in a (near-)tied 2x2 window. ReLU's floor
    competes too: a window whose maximum is near 0 passes a gradient in one implementation and none in the other."""
    height, width = conv_output.shape[2:]
    windows = by_window(conv_output)
    top = np.sort(np.concatenate([windows, np.zeros(windows.shape[:-1] + (1,), windows.dtype)], axis=-1), axis=-1)
    tied = top[..., -1] - top[..., -2] <= NEAR_TIE * np.abs(conv_output).max()
    tied_outputs = np.repeat(np.repeat(tied.any(axis=1), 2, axis=1), 2, axis=2).astype("float32")
    tied_outputs = np.pad(tied_outputs, ((0, 0), (0, height - tied_outputs.shape[1]), (0, width - tied_outputs.shape[2])))
    reach = F.conv2d_transpose(paddle.to_tensor(tied_outputs[:, None]), paddle.ones([1, 1, k, k]), stride=stride,
                               padding=pad, output_size=list(input_shape[2:])).numpy()
    return np.broadcast_to(reach == 0, input_shape)


@pytest.mark.parametrize("cin,cout,k,stride,pad", CONFIGS)
def test_conv_relu_pool_matches_paddle_layers(digits_batch, cin, cout, k, stride, pad):
    reference, onednn = twin_layers(cin, cout, k, stride, pad)
    pool = paddle.nn.MaxPool2D(kernel_size=2, stride=2)
    # noise makes ties and near-ties rare, so most of the input gradient is defined and compared
    x = channels_from(digits_batch[0], cin)
    x = x + paddle.to_tensor(np.random.default_rng(0).normal(0, 0.1, x.shape).astype("float32"))
    output, input_grad, _, bias_grad = outputs_and_grads(lambda v: pool(F.relu(reference(v))), reference, x)
    got_output, got_input_grad, _, got_bias_grad = outputs_and_grads(lambda v: conv_relu_pool(onednn, pool, v), onednn, x)
    defined = untied_input_positions(reference(x).numpy(), k, stride, pad, x.shape)
    assert defined.mean() > 0.5  # the comparison below covers a good part of the input
    close(got_output, output)
    close(np.where(defined, got_input_grad, 0), np.where(defined, input_grad, 0))
    # a window's gradient reaches the bias whichever element takes it; the weight gradient does not: a
    # near-tie between two different noisy patches, resolved the other way, moves it (the tied test below
    # checks it where ties come from equal patches)
    close(got_bias_grad, bias_grad)


@pytest.mark.parametrize("cin,cout,k,stride,pad", CONFIGS)
def test_conv_relu_pool_on_tied_digits(digits_batch, cin, cout, k, stride, pad):
    """The output and the weight and bias gradients are defined whichever tied element gets the gradient
    (exactly tied values come from equal input patches), so they must agree everywhere."""
    reference, onednn = twin_layers(cin, cout, k, stride, pad)
    pool = paddle.nn.MaxPool2D(kernel_size=2, stride=2)
    x = channels_from(digits_batch[0], cin)
    # A window whose maximum could go to a *different* patch (a near-tie between unequal patches, which the
    # two implementations' rounding may resolve either way) moves the weight gradient: such windows are
    # left out of the loss. Ties between equal patches (the point of this test) stay in.
    keep = ~windows_with_rival_patches(reference(x).numpy(), x.numpy(), k, stride, pad)
    expected = outputs_and_grads(lambda v: pool(F.relu(reference(v))), reference, x, False, keep.astype("float32"))
    actual = outputs_and_grads(lambda v: conv_relu_pool(onednn, pool, v), onednn, x, False, keep.astype("float32"))
    assert keep.mean() > 0.9
    for got, want in zip(actual, expected):
        close(got, want)


def windows_with_rival_patches(conv_output, x, k, stride, pad):
    """Per 2x2 max-pool window of relu(conv_output): whether a value within NEAR_TIE of the output's range
    below the window's maximum comes from an input patch unlike the maximum's own. Outside such windows both
    implementations pick the same patch, or an equal one (which gives the same weight gradient). A maximum
    near 0 has ReLU's floor as its rival (a gradient in one implementation, none in the other)."""
    batch, _, height, width = conv_output.shape
    raw = by_window(conv_output)
    values = np.maximum(raw, 0)
    patches = F.unfold(paddle.to_tensor(x), k, strides=stride, paddings=pad).numpy().reshape(batch, -1, height, width)
    patches = by_window(patches).transpose(0, 2, 3, 4, 1)  # (batch, h2, w2, 4, patch)
    equal = (patches[:, :, :, :, None] == patches[:, :, :, None]).all(-1)  # (batch, h2, w2, 4, 4)
    winner = values.argmax(-1)
    equal_to_winner = np.take_along_axis(np.broadcast_to(equal[:, None], values.shape + (4,)),
                                         winner[..., None, None], axis=-2)[..., 0, :]
    top = values.max(-1, keepdims=True)
    tolerance = NEAR_TIE * np.abs(conv_output).max()
    rivals = (values >= top - tolerance) & ~equal_to_winner
    return ((top[..., 0] > 0) & rivals.any(-1)) | (np.abs(raw.max(-1)) <= tolerance)


@pytest.mark.parametrize("fuse", [False, True])
def test_course_cnn_trains_like_paddle_layers(digits_batch, fuse):
    """Same seed: same initial weights; after 5 Adam steps on real digits, the same losses and weights, for the
    course class accelerated from outside, its stages fused (the default) or not (tests/test_fusion.py compares
    the wide CNN's gradients)."""
    images, labels = digits_batch
    histories, weights = [], []
    for accelerated in (False, True):
        paddle.seed(0)
        model = build_model("cnn", 10)
        optimizer = paddle.optimizer.Adam(0.001, parameters=model.parameters())
        if accelerated:  # after the optimizer is built: the swap keeps the very same parameters
            accelerate(model, fuse=fuse)
        assert isinstance(model.conv2, OneDNNConv2D) == accelerated
        assert len(fused_stages(model)) == (2 if accelerated and fuse else 0)
        losses = []
        for _ in range(5):
            loss = F.cross_entropy(model(images), labels)
            loss.backward()
            optimizer.step()
            optimizer.clear_grad()
            losses.append(float(loss))
        histories.append(losses)
        weights.append({k: v.numpy() for k, v in model.state_dict().items()})
    np.testing.assert_allclose(histories[1], histories[0], rtol=1e-4)
    assert histories[1][-1] < histories[1][0]          # it learns
    assert weights[0].keys() == weights[1].keys()      # checkpoints interchange
    # Adam moves a parameter by about lr per step whatever its gradient's size, so a max-pool near-tie that
    # the two implementations resolve differently (an undefined choice) can move a small parameter by a
    # sizeable share of its value: the weights are compared against what 5 steps can move them, lr * 5
    for name in weights[0]:
        np.testing.assert_allclose(weights[1][name], weights[0][name], rtol=0, atol=1e-2 * 0.001 * 5)


def test_accelerate_keeps_the_layers_and_their_course_names():
    paddle.seed(0)
    model = build_model("cnn", 10)
    conv1, before = model.conv1, {k: v.numpy().copy() for k, v in model.state_dict().items()}
    accelerate(model)
    assert model.conv1 is conv1 and type(conv1) is OneDNNConv2D
    assert all((v.numpy() == before[k]).all() for k, v in model.state_dict().items())
    assert [course_layer_name(layer) for layer in model.sublayers()] == [
        "Conv2D", "MaxPool2D", "Conv2D", "MaxPool2D", "Linear"]


def test_last_smaller_batch_and_eval_mode(digits_batch):
    """A new batch size (the last, partial batch) gets its own primitives; no_grad inference works."""
    reference, onednn = twin_layers(20, 20, 5, 1, 2)
    x = channels_from(digits_batch[0], 20)
    with paddle.no_grad():
        for size in (37, 5, 37):
            close(onednn(x[:size]).numpy(), reference(x[:size]).numpy())


@pytest.mark.parametrize("name", ["cnn", "wide_cnn"])
def test_export_records_paddle_conv(digits_batch, tmp_path, name):
    """to_static traces Paddle's conv2d op, so an exported model runs without oneDNN and predicts the same."""
    paddle.seed(0)
    model = accelerate(build_model(name, 10))
    model.eval()
    with paddle.no_grad():
        expected = model(digits_batch[0]).numpy()
    static = paddle.jit.to_static(model, input_spec=[paddle.static.InputSpec([None, 1, 28, 28], "float32")],
                                  full_graph=True)
    paddle.jit.save(static, str(tmp_path / "model"))
    loaded = paddle.jit.load(str(tmp_path / "model"))
    close(loaded(digits_batch[0]).numpy(), expected)


def test_switched_off_leaves_paddle_conv():
    use_onednn(False)
    try:
        assert type(accelerate(build_model("cnn", 10)).conv1) is paddle.nn.Conv2D
    finally:
        use_onednn(True)
    assert type(accelerate(build_model("cnn", 10)).conv1) is OneDNNConv2D


def test_where_onednn_does_not_load_the_models_use_paddle_conv(monkeypatch):
    import digits.onednn as onednn
    monkeypatch.setattr(onednn, "_library", None)
    monkeypatch.setattr(onednn, "_load_error", "oneDNN not usable here (OSError: no libdnnl.so.3)")
    assert available() == (False, "oneDNN not usable here (OSError: no libdnnl.so.3)")
    assert type(accelerate(build_model("cnn", 10)).conv1) is paddle.nn.Conv2D
    with pytest.raises(RuntimeError, match="no libdnnl.so.3"):
        OneDNNConv2D(1, 20, 5)
