"""The course's convolutional network, written as the course writes it: two conv + max-pool stages, then
one linear layer. Training swaps its Conv2D layers for oneDNN's and runs each conv -> relu -> pool stage
as one oneDNN call (digits.onednn.accelerate, digits.fusion) without changing this code: an edited
forward runs as edited, with the stages it still writes this way fused.
"""
import paddle
import paddle.nn.functional as F
from paddle.nn import Conv2D, Linear, MaxPool2D

from . import register


@register("cnn")
class CNN(paddle.nn.Layer):
    """conv 20@5x5 -> relu -> max-pool 2, twice, then Linear(980, num_outputs): 1 regresses, 10 classifies."""
    input_shape = (1, 28, 28)

    def __init__(self, num_outputs=10):
        super().__init__()
        self.conv1 = Conv2D(in_channels=1, out_channels=20, kernel_size=5, stride=1, padding=2)
        self.pool1 = MaxPool2D(kernel_size=2, stride=2)
        self.conv2 = Conv2D(in_channels=20, out_channels=20, kernel_size=5, stride=1, padding=2)
        self.pool2 = MaxPool2D(kernel_size=2, stride=2)
        self.fc = Linear(in_features=980, out_features=num_outputs)

    def forward(self, inputs):
        x = self.conv1(inputs)
        x = F.relu(x)
        x = self.pool1(x)
        x = self.conv2(x)
        x = F.relu(x)
        x = self.pool2(x)
        x = paddle.reshape(x, [x.shape[0], 980])
        return self.fc(x)


@paddle.no_grad()
def dead_conv2_channels(model, images):
    """The share of conv2's channels whose ReLU output is zero for every one of `images`: a channel dead
    for all inputs passes no gradient back, so it stays dead (lab 03 writes the same function)."""
    model.eval()
    activations = F.relu(model.conv2(model.pool1(F.relu(model.conv1(paddle.to_tensor(images)))))).numpy()
    return float((activations.max(axis=(0, 2, 3)) == 0).mean())
