"""The feed-forward networks of the course's companion code (awesome-DeepLearning's MNIST examples): lab 13's
last part, which trains them as that code does to compare with the accuracies it publishes."""
import paddle
import paddle.nn.functional as F
from paddle.nn import Linear

from digits.errors import UserError

from . import register

ACTIVATIONS = {"sigmoid": F.sigmoid, "relu": F.relu}


@register("companion_fnn")
class CompanionFNN(paddle.nn.Layer):
    """784 -> hidden[0] -> ... -> num_outputs, `activation` ("sigmoid" or "relu") after every hidden layer, and a
    softmax at the end, as the companion code ends its networks.

    Trained with the softmax cross-entropy (loss "ce", F.cross_entropy), as that code trains them, the outputs are
    softmaxed a second time: they lie in (0, 1), so the loss cannot fall below -ln(e / (e + 9)) = 1.4612. Keep
    the double softmax to repeat the published numbers; the predicted digit (the top output) is the same either way.
    """
    input_shape = (784,)

    def __init__(self, num_outputs=10, hidden=(500,), activation="sigmoid"):
        super().__init__()
        if num_outputs < 2:  # a softmax over one output is always 1: nothing to learn
            raise UserError("companion_fnn classifies: train it with --loss ce (a softmax needs the 10 digit scores)")
        if activation not in ACTIVATIONS:
            raise UserError(f"companion_fnn: activation {activation!r}: choose one of {', '.join(ACTIVATIONS)}")
        self.activation = ACTIVATIONS[activation]
        sizes = [784, *hidden]
        self.hidden = paddle.nn.LayerList([Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:])])
        self.out = Linear(sizes[-1], num_outputs)
        self.softmax = paddle.nn.Softmax()

    def forward(self, images):
        x = images.reshape([-1, 784])
        for layer in self.hidden:
            x = self.activation(layer(x))
        return self.softmax(self.out(x))
