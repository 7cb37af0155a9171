"""The course's convolutional network: two conv + max-pool stages, then one linear layer.

Its conv layers come from digits.onednn: oneDNN's kernels, ~6x faster than Paddle's own on the CPU,
with the same parameters and mathematics (--no-onednn builds plain paddle.nn.Conv2D instead).
"""
import paddle
from paddle.nn import Dropout, Linear, MaxPool2D

from digits.onednn import conv2d_layer, conv_relu_pool

from . import register


@register("cnn")
class CNN(paddle.nn.Layer):
    """conv 20@5x5 -> relu -> pool 2, twice, then Linear(980, num_outputs): 1 regresses, 10 classifies."""
    input_shape = (1, 28, 28)

    def __init__(self, num_outputs=10, dropout=0.0):
        super().__init__()
        self.conv1 = conv2d_layer(1, 20, kernel_size=5, stride=1, padding=2)
        self.pool1 = MaxPool2D(kernel_size=2, stride=2)
        self.conv2 = conv2d_layer(20, 20, kernel_size=5, stride=1, padding=2)
        self.pool2 = MaxPool2D(kernel_size=2, stride=2)
        self.dropout = Dropout(dropout) if dropout else None
        self.fc = Linear(20 * 7 * 7, num_outputs)

    def forward(self, images):
        x = conv_relu_pool(self.conv1, self.pool1, images)   # = self.pool1(F.relu(self.conv1(images)))
        x = conv_relu_pool(self.conv2, self.pool2, x)
        x = paddle.flatten(x, start_axis=1)
        return self.fc(self.dropout(x) if self.dropout else x)


@register("cnn_dropout")
def cnn_dropout(num_outputs=10):
    """The course CNN with dropout 0.5 before its linear head: a regularised variant (lab 07)."""
    return CNN(num_outputs, dropout=0.5)
