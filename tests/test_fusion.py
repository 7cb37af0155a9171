"""digits.fusion: accelerate() runs the conv -> relu -> max-pool stages a forward writes as one oneDNN call each,
leaves everything else (a student's edit) as written, and computes what the unfused model computes."""
import traceback

import numpy as np
import paddle
import paddle.nn.functional as F
import pytest

from digits.data import IMAGE, load_data
from digits.fusion import fused_stages
from digits.onednn import accelerate, available
from models import build_model
from models.cnn import CNN

pytestmark = pytest.mark.skipif(not available()[0], reason=available()[1])


@pytest.fixture(scope="module")
def images(small_datafile):
    return paddle.to_tensor(next(load_data("eval", 16, image_shape=IMAGE, datafile=small_datafile)())[0])


class SigmoidSecondStage(CNN):
    """A student's edit: the second stage's activation changed, the first stage as the course writes it."""

    def forward(self, inputs):
        x = self.conv1(inputs)
        x = F.relu(x)
        x = self.pool1(x)
        x = self.conv2(x)
        x = F.sigmoid(x)
        x = self.pool2(x)
        return self.fc(paddle.reshape(x, [x.shape[0], 980]))


class PrintsBetween(CNN):
    """A student's edit: a statement between conv and relu (here it records the conv's output)."""

    def forward(self, inputs):
        x = self.conv1(inputs)
        self.seen = x
        x = F.relu(x)
        x = self.pool1(x)
        x = self.conv2(x)
        x = F.relu(x)
        x = self.pool2(x)
        return self.fc(paddle.reshape(x, [x.shape[0], 980]))


class BrokenAfterStage(CNN):
    def forward(self, inputs):
        x = self.conv1(inputs)
        x = F.relu(x)
        x = self.pool1(x)
        return paddle.reshape(x, [x.shape[0], 7])  # 20*14*14 values do not make rows of 7 per image


def twins(make):
    """The same weights twice: on Paddle's own layers, and accelerated (fused where recognised)."""
    paddle.seed(0)
    plain = make()
    accelerated = make()
    accelerated.set_state_dict(plain.state_dict())
    return plain, accelerate(accelerated)


def outputs_and_grads(model, images):
    out = model(images)
    (out * out).sum().backward()
    grads = {name: p.grad.numpy().copy() for name, p in model.named_parameters() if not p.stop_gradient}
    model.clear_gradients()
    return out.numpy(), grads


@pytest.mark.parametrize("make, stages", [
    (lambda: CNN(10), [("conv1", "pool1"), ("conv2", "pool2")]),
    (lambda: build_model("wide_cnn", 10, dropout=0.0), [("conv1", "pool1"), ("conv2", "pool2")]),
    (lambda: SigmoidSecondStage(10), [("conv1", "pool1")]),
    (lambda: PrintsBetween(10), [("conv2", "pool2")]),
], ids=["course", "wide", "edited-activation", "edited-statement-between"])
def test_recognised_stages_fuse_and_compute_what_the_class_writes(images, make, stages):
    plain, accelerated = twins(make)
    assert fused_stages(accelerated) == stages
    assert fused_stages(plain) == [] and "forward" not in vars(plain)  # another instance keeps its class's forward
    out, grads = outputs_and_grads(accelerated, images)
    want_out, want_grads = outputs_and_grads(plain, images)
    scale = np.abs(want_out).max()
    np.testing.assert_allclose(out, want_out, rtol=0, atol=1e-4 * scale)
    for name, want in want_grads.items():
        np.testing.assert_allclose(grads[name], want, rtol=0, atol=1e-3 * np.abs(want).max(), err_msg=name)


def test_an_edit_between_the_statements_still_sees_its_value(images):
    _, accelerated = twins(lambda: PrintsBetween(10))
    accelerated(images)
    assert accelerated.seen.shape == [16, 20, 28, 28]  # conv1's own output: that stage was not fused


def test_fuse_false_and_a_model_without_readable_source_stay_unfused(images):
    paddle.seed(0)
    assert fused_stages(accelerate(CNN(10), fuse=False)) == []
    namespace = {"CNN": CNN, "F": F}
    exec("class Typed(CNN):\n    def forward(self, inputs):\n        x = self.conv1(inputs)\n        x = F.relu(x)\n"
         "        x = self.pool1(x)\n        x = self.conv2(x)\n        x = F.relu(x)\n        return self.pool2(x)\n",
         namespace)
    model = accelerate(namespace["Typed"](10))
    assert fused_stages(model) == []
    assert model(images).shape == [16, 20, 7, 7]


def test_a_traceback_points_at_the_line_the_student_wrote(images):
    _, accelerated = twins(lambda: BrokenAfterStage(10))
    assert fused_stages(accelerated) == [("conv1", "pool1")]
    with pytest.raises(Exception) as raised:
        accelerated(images)
    frames = [frame for frame in traceback.extract_tb(raised.tb) if frame.name == "forward"]
    assert frames and frames[-1].filename == __file__
    assert frames[-1].line.startswith("return paddle.reshape(x, [x.shape[0], 7])")


def test_an_export_of_a_fused_model_records_the_class_forward(images, tmp_path):
    """paddle.jit.to_static reads the forward's source from its file: the class's own, with Paddle's ops."""
    plain, accelerated = twins(lambda: CNN(10))
    accelerated.eval()
    plain.eval()
    static = paddle.jit.to_static(accelerated, input_spec=[paddle.static.InputSpec([None, 1, 28, 28], "float32")],
                                  full_graph=True)
    paddle.jit.save(static, str(tmp_path / "model"))
    loaded = paddle.jit.load(str(tmp_path / "model"))
    with paddle.no_grad():
        want = plain(images).numpy()
    np.testing.assert_allclose(loaded(images).numpy(), want, rtol=0, atol=1e-4 * np.abs(want).max())
