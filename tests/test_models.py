"""The networks of models/ beyond the course's two (tests/test_lessons.py ties those to the labs)."""
import math

import numpy as np
import paddle
import paddle.nn.functional as F
import pytest

from digits.errors import UserError
from models import build_model


@pytest.mark.parametrize("hidden,activation", [((500,), "sigmoid"), ((512, 256), "relu")])
def test_the_companion_codes_nets_end_in_a_softmax_so_their_loss_has_a_floor(hidden, activation):
    """Its outputs are probabilities; F.cross_entropy softmaxes them again, so even the best outputs (the true
    digit's probability 1) cost -ln(e / (e + 9)) = 1.4612, the floor its published losses sit on."""
    paddle.seed(0)
    network = build_model("companion_fnn", 10, hidden=hidden, activation=activation)
    images = paddle.to_tensor(np.random.default_rng(0).uniform(-1, 1, (8, 784)).astype("float32"))
    outputs = network(images).numpy()
    assert np.allclose(outputs.sum(axis=1), 1, atol=1e-5) and (outputs > 0).all()
    labels = paddle.to_tensor(outputs.argmax(axis=1)[:, None].astype("int64"))
    perfect = paddle.to_tensor(np.eye(10, dtype="float32")[outputs.argmax(axis=1)])
    floor = -math.log(math.e / (math.e + 9))
    assert float(F.cross_entropy(perfect, labels)) == pytest.approx(floor, abs=1e-5)
    assert float(F.cross_entropy(network(images), labels)) > floor


def test_the_companion_codes_nets_refuse_what_they_cannot_do():
    with pytest.raises(UserError, match="activation 'tanh'"):
        build_model("companion_fnn", 10, activation="tanh")
    with pytest.raises(UserError, match="--loss ce"):
        build_model("companion_fnn", 1)
