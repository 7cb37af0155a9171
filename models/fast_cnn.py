"""The course CNN with each conv -> relu -> max-pool stage run as one oneDNN chain: the presets' model.

Same layers, parameters and state_dict as models/cnn.py (checkpoints interchange); only forward
differs. digits.onednn.conv_relu_pool keeps the stage in oneDNN's memory layout and converts to
Paddle's once, on the pooled output; where oneDNN is off it is the three Paddle calls of cnn.py.
README, "CPU speed", measures what this buys over the plain class.
"""
import paddle

from digits.onednn import conv_relu_pool

from . import register
from .cnn import CNN


@register("fast_cnn")
class FastCNN(CNN):
    def forward(self, inputs):
        x = conv_relu_pool(self.conv1, self.pool1, inputs)   # = self.pool1(F.relu(self.conv1(inputs)))
        x = conv_relu_pool(self.conv2, self.pool2, x)
        return self.fc(paddle.flatten(x, start_axis=1))
