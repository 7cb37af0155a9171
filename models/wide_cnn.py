"""A wider course CNN with batch norm: the model of the 10-minute best-accuracy recipe (README, "CPU speed").

The course CNN's shape (two conv 5x5 -> relu -> max-pool stages, then linear layers) with 32 and 64
channels instead of 20 and 20, batch norm after each stage, and a 128-unit hidden layer with dropout
before the head. Batch norm sits after the pooling, so each conv -> relu -> pool stage stays one oneDNN
chain (digits.fusion fuses the three statements) and it normalises a 4x smaller tensor.
"""
import paddle
import paddle.nn.functional as F
from paddle.nn import BatchNorm2D, Conv2D, Dropout, Linear, MaxPool2D

from . import register


@register("wide_cnn")
class WideCNN(paddle.nn.Layer):
    input_shape = (1, 28, 28)

    def __init__(self, num_outputs=10, widths=(32, 64), hidden=128, dropout=0.3):
        super().__init__()
        first, second = widths
        self.conv1 = Conv2D(1, first, kernel_size=5, stride=1, padding=2)
        self.pool1 = MaxPool2D(kernel_size=2, stride=2)
        self.norm1 = BatchNorm2D(first)
        self.conv2 = Conv2D(first, second, kernel_size=5, stride=1, padding=2)
        self.pool2 = MaxPool2D(kernel_size=2, stride=2)
        self.norm2 = BatchNorm2D(second)
        self.hidden = Linear(second * 7 * 7, hidden)
        self.dropout = Dropout(dropout)
        self.fc = Linear(hidden, num_outputs)

    def forward(self, images):
        x = self.conv1(images)
        x = F.relu(x)
        x = self.pool1(x)
        x = self.norm1(x)
        x = self.conv2(x)
        x = F.relu(x)
        x = self.pool2(x)
        x = self.norm2(x)
        x = F.relu(self.hidden(paddle.flatten(x, start_axis=1)))
        return self.fc(self.dropout(x))
