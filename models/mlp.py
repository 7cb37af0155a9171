"""The course's first network: a small fully connected net with sigmoid activations."""
import paddle
import paddle.nn.functional as F
from paddle.nn import Linear

from . import register


@register("mlp")
class MLP(paddle.nn.Layer):
    """784 -> 10 -> 10 -> num_outputs, sigmoid between layers (the course's regression MLP)."""
    input_shape = (784,)

    def __init__(self, num_outputs=1):
        super().__init__()
        self.fc1 = Linear(784, 10)
        self.fc2 = Linear(10, 10)
        self.fc3 = Linear(10, num_outputs)

    def forward(self, images):
        hidden = F.sigmoid(self.fc1(images.reshape([-1, 784])))
        hidden = F.sigmoid(self.fc2(hidden))
        return self.fc3(hidden)
