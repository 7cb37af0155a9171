"""A fully connected sigmoid network with k hidden layers: the feed-forward design lab's model (lab 13)."""
import paddle
import paddle.nn.functional as F
from paddle.nn import Linear

from . import register


@register("sigmoid_mlp")
class SigmoidMLP(paddle.nn.Layer):
    """784 -> hidden[0] -> ... -> num_outputs, a sigmoid after every hidden layer."""
    input_shape = (784,)

    def __init__(self, num_outputs=10, hidden=(30,)):
        super().__init__()
        sizes = [784, *hidden]
        self.hidden = paddle.nn.LayerList([Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:])])
        self.out = Linear(sizes[-1], num_outputs)

    def forward(self, images):
        x = images.reshape([-1, 784])
        for layer in self.hidden:
            x = F.sigmoid(layer(x))
        return self.out(x)
