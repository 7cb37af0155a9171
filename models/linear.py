"""The chapter's first attempt: one linear layer, reused from the house-price lesson."""
import paddle
from paddle.nn import Linear

from . import register


@register("linear")
class LinearRegressor(paddle.nn.Layer):
    """784 -> num_outputs with no hidden layer: a baseline that predicts digits badly."""
    input_shape = (784,)

    def __init__(self, num_outputs=1):
        super().__init__()
        self.fc = Linear(784, num_outputs)

    def forward(self, images):
        return self.fc(images.reshape([-1, 784]))
