"""Resuming: a run stopped halfway and resumed follows the uninterrupted run exactly."""
import json

import numpy as np

import paddle
import paddle.nn.functional as F

from digits import compat
from digits.runs import Run, generator_states, random_state, read_weights
from digits.training import TrainConfig, fit
from models.cnn import CNN


class CNNWithDropout(CNN):
    """Dropout before the head draws from Paddle's RNG on every batch: a resume must restore it too."""

    def __init__(self):
        super().__init__(10)
        self.dropout = paddle.nn.Dropout(0.5)

    def forward(self, inputs):
        x = self.pool1(F.relu(self.conv1(inputs)))
        x = self.pool2(F.relu(self.conv2(x)))
        return self.fc(self.dropout(paddle.flatten(x, start_axis=1)))


def test_a_resumed_run_equals_the_uninterrupted_one(tmp_path, small_datafile):
    # the course's resume setting: Momentum, polynomial decay stepped every batch; dropout uses Paddle's RNG
    settings = dict(model="cnn with dropout", loss="ce", optimizer="momentum", lr=0.01, lr_schedule="polynomial",
                    epochs=4, batch_size=50, log_interval=10, data=small_datafile)
    straight = fit(TrainConfig(**settings, out=str(tmp_path / "straight")), CNNWithDropout)
    halfway = fit(TrainConfig(**settings, out=str(tmp_path / "resumed")), CNNWithDropout, stop_after=2)
    assert Run.open(halfway.run.path).checkpoint()["epoch"] == 1
    resumed = fit(TrainConfig(**settings, out=str(tmp_path / "resumed")), CNNWithDropout, resume=str(tmp_path / "resumed"))

    expected, got = straight.run.records("batch"), Run.open(resumed.run.path).records("batch")
    assert [r["step"] for r in got] == [r["step"] for r in expected]
    assert [r["loss"] for r in got] == [r["loss"] for r in expected]  # bit for bit
    assert [e["lr"] for e in resumed.epochs] == [e["lr"] for e in straight.epochs[2:]]
    assert resumed.epochs[-1]["lr"] < 0.01 / 5  # the schedule really decayed
    for a, b in zip(straight.model.parameters(), resumed.model.parameters()):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert resumed.eval == straight.eval
    assert len(Run.open(resumed.run.path).records("eval")) == 1  # the halfway eval was dropped on resume
    assert (read_weights(Run(resumed.run.path).model_file())["fc.weight"] == straight.model.fc.weight.numpy()).all()


def test_digits_compat_knows_whether_paddle_keeps_its_random_stream_position():
    """digits.runs.random_state reseeds Paddle's CPU generator at a checkpoint only where Paddle's generator state
    leaves out the stream position (Paddle 2.6): check the claim on the Paddle that runs the tests."""
    paddle.seed(0)
    dropout = paddle.nn.Dropout(0.5)
    dropout(paddle.ones([64]))  # move away from the seed's start
    state = [list(s.__getstate__()) for s in paddle.get_rng_state()]  # what pickling would keep, as plain values
    masks = [dropout(paddle.ones([64])).numpy() for _ in range(3)]
    paddle.set_rng_state(generator_states(state))
    again = [dropout(paddle.ones([64])).numpy() for _ in range(3)]
    assert all(np.array_equal(a, b) for a, b in zip(masks, again)) == compat.RNG_STATE_PICKLES_POSITION
    # and what a checkpoint records (JSON) does restore the stream, on every version
    state = json.loads(json.dumps(random_state()["paddle"]))
    masks = [dropout(paddle.ones([64])).numpy() for _ in range(3)]
    paddle.set_rng_state(generator_states(state))
    assert all(np.array_equal(a, dropout(paddle.ones([64])).numpy()) for a in masks)
