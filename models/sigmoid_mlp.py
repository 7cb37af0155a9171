"""A fully connected sigmoid network with k hidden layers: the feed-forward design lab's model (lab 13)."""
import paddle
import paddle.nn.functional as F
from paddle.nn import Linear

from . import register


@register("sigmoid_mlp")
class SigmoidMLP(paddle.nn.Layer):
    """784 -> hidden[0] -> ... -> num_outputs, a sigmoid after every hidden layer.

    input_range=(background, ink) first maps pixels from that range to [0, 1], the inputs a sigmoid
    network of this kind is designed for: with the course file's [-1, 1], every blank pixel feeds -1
    into every unit, and the same learning rate learns worse.
    """
    input_shape = (784,)

    def __init__(self, num_outputs=10, hidden=(30,), input_range=(0.0, 1.0)):
        super().__init__()
        self.background, self.ink = input_range
        sizes = [784, *hidden]
        self.hidden = paddle.nn.LayerList([Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:])])
        self.out = Linear(sizes[-1], num_outputs)

    def forward(self, images):
        x = (images.reshape([-1, 784]) - self.background) / (self.ink - self.background)
        for layer in self.hidden:
            x = F.sigmoid(layer(x))
        return self.out(x)
