"""A small neural-network library in NumPy, with every backward pass written by hand.

Each layer maps a mini-batch forward and, given g = dL/dOutput, returns dL/dInput while storing
dL/dParameter in `grads`. Shapes: inputs [N, features], N the batch size. Each backward pass states
its maths in its docstring; ⊙ is the element-wise product, ᵀ the transpose. No framework inside:
this is what Paddle's autograd does for you. Float64 for gradient checks, float32 for training.
"""
import time

import numpy as np

from .errors import UserError
from .fileio import atomic_path


class Layer:
    """A layer's parameters and, after a backward pass, their gradients: {name: array} of its own.
    (Dicts set here, per instance: class-level dicts would be one dict shared by every layer.)"""

    def __init__(self):
        self.params, self.grads = {}, {}

    def forward(self, x, training=False):
        raise NotImplementedError

    def backward(self, grad):
        """Given g = dL/dOutput, store dL/dParameter in self.grads and return dL/dInput."""
        raise NotImplementedError


class Affine(Layer):
    """y = x W + b: the fully connected layer; x [N, in], W [in, out], b [out], y [N, out]."""

    def __init__(self, fan_in, fan_out, rng, scale, dtype=np.float32):
        super().__init__()
        self.params = {"W": (rng.standard_normal((fan_in, fan_out)) * scale).astype(dtype),
                       "b": np.zeros(fan_out, dtype=dtype)}

    def forward(self, x, training=False):
        self.x = x
        return x @ self.params["W"] + self.params["b"]

    def backward(self, grad):
        """y_nj = Σ_i x_ni W_ij + b_j, so with g = dL/dy [N, out]:
        dL/dW = xᵀ g [in, out] (the sum over the batch of each sample's outer product x_nᵀ g_n),
        dL/db = Σ_rows g [out] (b is added to every row),
        dL/dx = g Wᵀ [N, in]."""
        self.grads = {"W": self.x.T @ grad, "b": grad.sum(axis=0)}
        return grad @ self.params["W"].T


class ReLU(Layer):
    """y = max(x, 0), element-wise."""

    def forward(self, x, training=False):
        self.positive = x > 0
        return np.maximum(x, 0)

    def backward(self, grad):
        """dy/dx = 1 where x > 0, else 0 (0 at the kink x = 0, as Paddle takes it): dL/dx = g ⊙ [x > 0]."""
        return grad * self.positive


class Sigmoid(Layer):
    """y = σ(x) = 1 / (1 + e^-x), element-wise."""

    def forward(self, x, training=False):
        self.out = sigmoid(x)
        return self.out

    def backward(self, grad):
        """σ'(x) = σ(x) (1 - σ(x)), so from the saved output y: dL/dx = g ⊙ y ⊙ (1 - y)."""
        return grad * self.out * (1 - self.out)


class Tanh(Layer):
    """y = tanh(x), element-wise."""

    def forward(self, x, training=False):
        self.out = np.tanh(x)
        return self.out

    def backward(self, grad):
        """tanh'(x) = 1 - tanh(x)², so from the saved output y: dL/dx = g ⊙ (1 - y²)."""
        return grad * (1 - self.out ** 2)


class Dropout(Layer):
    """Inverted dropout: in training each unit is zeroed with probability p and the rest scaled by
    1/(1-p), so nothing changes at inference."""

    def __init__(self, p, rng):
        super().__init__()
        self.p, self.rng = p, rng

    def forward(self, x, training=False):
        if not training or self.p == 0:
            self.mask = None
            return x
        self.mask = (self.rng.random(x.shape) >= self.p).astype(x.dtype) / (1 - self.p)
        return x * self.mask

    def backward(self, grad):
        """y = x ⊙ m with the forward pass's mask m (each entry 0 or 1/(1-p)): dL/dx = g ⊙ m."""
        return grad if self.mask is None else grad * self.mask


ACTIVATIONS = {"relu": ReLU, "sigmoid": Sigmoid, "tanh": Tanh}


def sigmoid(x):
    return np.exp(-np.logaddexp(0, -x))  # 1 / (1 + e^-x) without overflow


# Losses: loss(outputs, labels) -> mean over the batch; gradient() -> dL/dOutputs of that mean, [N, classes].

class SoftmaxCrossEntropy:
    """L = -(1/N) Σ_n log p_n[t_n] with p_n = softmax(z_n), p_nj = e^z_nj / Σ_k e^z_nk, t_n the true class.
    Computed from log-softmax, z - max(z) - log Σ e^(z - max(z)), so no e^z overflows."""

    def __call__(self, scores, labels):
        shifted = scores - scores.max(axis=1, keepdims=True)
        log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        self.p, self.labels = np.exp(log_p), labels
        return float(-log_p[np.arange(len(labels)), labels].mean())

    def gradient(self):
        """d(-log p_n[t])/dz_nj = p_nj - [j = t]: the softmax's and the log's derivatives cancel to
        dL/dz = (softmax(z) - onehot(t)) / N."""
        grad = self.p.copy()
        grad[np.arange(len(self.labels)), self.labels] -= 1
        return grad / len(self.labels)


class SigmoidCrossEntropy:
    """Each output unit a sigmoid against the one-hot label (Nielsen's cross-entropy cost):
    L = -(1/N) Σ_n Σ_j [y_nj ln a_nj + (1 - y_nj) ln(1 - a_nj)], a = σ(z), y = onehot(t)."""

    def __call__(self, scores, labels):
        self.a, self.y = sigmoid(scores), one_hot(labels, scores.shape[1], scores.dtype)
        # ln a = -log(1 + e^-z) and ln(1 - a) = -log(1 + e^z), both computed without overflow
        per_unit = self.y * np.logaddexp(0, -scores) + (1 - self.y) * np.logaddexp(0, scores)
        return float(per_unit.sum(axis=1).mean())

    def gradient(self):
        """dL/da = (a - y) / (a (1 - a)) / N and da/dz = a (1 - a) cancel: dL/dz = (σ(z) - y) / N. No σ'
        factor is left to vanish when a unit saturates at the wrong answer: why this cost learns fast."""
        return (self.a - self.y) / len(self.y)


class MeanSquaredError:
    """L = (1/(N C)) Σ_n Σ_j (o_nj - y_nj)², the mean over all N×C elements; the target y is the one-hot
    label for class outputs (C > 1), the label itself for one output."""

    def __call__(self, outputs, labels):
        targets = one_hot(labels, outputs.shape[1], outputs.dtype) if outputs.shape[1] > 1 else labels.reshape(-1, 1)
        self.diff = outputs - targets
        return float((self.diff ** 2).mean())

    def gradient(self):
        """dL/do = 2 (o - y) / (N C)."""
        return 2 * self.diff / self.diff.size


LOSSES = {"softmax_ce": SoftmaxCrossEntropy, "sigmoid_ce": SigmoidCrossEntropy, "mse": MeanSquaredError}


def one_hot(labels, classes, dtype):
    encoded = np.zeros((len(labels), classes), dtype=dtype)
    encoded[np.arange(len(labels)), labels] = 1
    return encoded


class Network:
    """A stack of layers with a loss, and optional L2 / L1 penalties on the weights (not biases):
    total loss = data loss + l2/2 * sum(W^2) + l1 * sum(|W|)."""

    def __init__(self, layers, loss, l2=0.0, l1=0.0):
        self.layers, self.loss, self.l2, self.l1 = layers, loss, l2, l1

    def forward(self, x, training=False):
        for layer in self.layers:
            x = layer.forward(x, training)
        return x

    def loss_and_gradients(self, x, labels):
        """One training pass: the total loss, and every parameter's gradient left in layer.grads.
        Backpropagation is the chain rule applied layer by layer from the top: g starts as dL/dscores
        and each layer's backward turns dL/dOutput into dL/dInput. The penalties add their own
        derivatives to dL/dW: d(l2/2 Σ W²)/dW = l2 W and d(l1 Σ |W|)/dW = l1 sign(W)."""
        total = self.loss(self.forward(x, training=True), labels)
        grad = self.loss.gradient()
        for layer in reversed(self.layers):
            grad = layer.backward(grad)
        for layer in self.weighted_layers() if self.l2 or self.l1 else []:
            W = layer.params["W"]
            total += self.l2 / 2 * float((W ** 2).sum()) + self.l1 * float(np.abs(W).sum())
            layer.grads["W"] = layer.grads["W"] + self.l2 * W + self.l1 * np.sign(W)
        return total

    def weighted_layers(self):
        return [layer for layer in self.layers if "W" in layer.params]

    def predict(self, x, batch_size=1000):
        return np.concatenate([self.forward(x[i:i + batch_size]).argmax(axis=1) for i in range(0, len(x), batch_size)])

    def accuracy(self, x, labels):
        return float(np.mean(self.predict(x) == labels))

    def evaluate(self, x, labels, batch_size=1000):
        """Mean data loss (no penalty) and accuracy over a whole split."""
        losses = [self.loss(self.forward(x[i:i + batch_size]), labels[i:i + batch_size]) * len(x[i:i + batch_size])
                  for i in range(0, len(x), batch_size)]
        return sum(losses) / len(x), self.accuracy(x, labels)

    def state(self):
        return {f"{i}.{name}": value for i, layer in enumerate(self.layers) for name, value in layer.params.items()}

    def load_state(self, state):
        for i, layer in enumerate(self.layers):
            for name in layer.params:
                key = f"{i}.{name}"
                if key not in state or state[key].shape != layer.params[name].shape:
                    raise UserError(f"saved parameters do not fit this network ({key}): build it with the sizes they were saved from")
                layer.params[name] = state[key].astype(layer.params[name].dtype)

    def save(self, path):
        with atomic_path(path) as tmp, open(tmp, "wb") as f:
            np.savez(f, **self.state())
        return path

    def load(self, path):
        with np.load(path) as saved:
            self.load_state(dict(saved))
        return self


def mlp(sizes, activation="relu", loss="softmax_ce", dropout=0.0, l2=0.0, l1=0.0, seed=0, dtype=np.float32):
    """A fully connected network, sizes = [inputs, hidden..., outputs]. Weights start at
    N(0, 2/fan_in) for ReLU (He) and N(0, 1/fan_in) otherwise (Xavier), biases at 0."""
    if activation not in ACTIVATIONS:
        raise UserError(f"unknown activation {activation!r}: choose one of {', '.join(ACTIVATIONS)}")
    if loss not in LOSSES:
        raise UserError(f"unknown loss {loss!r}: choose one of {', '.join(LOSSES)}")
    rng = np.random.default_rng(seed)
    gain = 2.0 if activation == "relu" else 1.0
    layers = []
    for index, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(Affine(fan_in, fan_out, rng, np.sqrt(gain / fan_in), dtype))
        if index < len(sizes) - 2:  # a hidden layer: its activation, then dropout; the output layer has none
            layers.append(ACTIVATIONS[activation]())
            if dropout:
                layers.append(Dropout(dropout, rng))
    return Network(layers, LOSSES[loss](), l2, l1)


class SGD:
    """v <- momentum v - lr dL/dw, then w <- w + v, for every parameter w (momentum 0: w <- w - lr dL/dw).
    The learning rate is multiplied by `decay` after each epoch (decay=1: constant)."""

    def __init__(self, lr, momentum=0.0, decay=1.0):
        self.lr, self.momentum, self.decay, self.velocity = lr, momentum, decay, {}

    def step(self, network):
        for i, layer in enumerate(network.layers):
            for name, grad in layer.grads.items():
                if self.momentum:
                    v = self.velocity.get((i, name), 0.0) * self.momentum - self.lr * grad
                    self.velocity[i, name] = v
                    layer.params[name] += v
                else:
                    layer.params[name] -= self.lr * grad

    def end_epoch(self):
        self.lr *= self.decay


def pixels_in_unit_range(data):
    """The course data's splits, {mode: (images, labels)}, with pixels mapped from the file's range
    (e.g. [-1, 1]) to [0, 1], the inputs the textbook networks of the NumPy track are designed for."""
    background, ink = data.pixel_range
    return {mode: ((images - background) / (ink - background), labels)
            for mode, (images, labels) in data.splits.items()}


def batches(images, labels, batch_size, rng):
    """Shuffled mini-batches of one epoch: fancy-indexed slices, no per-sample loop."""
    order = rng.permutation(len(images))
    for start in range(0, len(images), batch_size):
        chosen = order[start:start + batch_size]
        yield images[chosen], labels[chosen]


def train(network, optimizer, train_split, valid_split, *, epochs, batch_size, seed=0, after_epoch=None):
    """The NumPy track's one training loop: shuffled mini-batches, an SGD step each, then the
    validation loss and accuracy after every epoch. `after_epoch(record)` may add to the record
    (a test score, a note) before it is printed. Returns the epoch records; each keeps its
    per-iteration losses."""
    rng, history = np.random.default_rng(seed), []
    for epoch in range(epochs):
        started, losses = time.perf_counter(), []
        for x, y in batches(*train_split, batch_size, rng):
            losses.append(network.loss_and_gradients(x, y))
            optimizer.step(network)
        optimizer.end_epoch()
        valid_loss, valid_accuracy = network.evaluate(*valid_split)
        record = {"epoch": epoch, "seconds": time.perf_counter() - started, "losses": losses,
                  "train_loss": float(np.mean(losses)), "valid_loss": valid_loss, "valid_accuracy": valid_accuracy}
        if after_epoch:
            after_epoch(record)
        print(f"epoch {epoch}: {record['seconds']:.2f}s, train loss {record['train_loss']:.4f}, valid loss "
              f"{valid_loss:.4f}, valid accuracy {100 * valid_accuracy:.2f}%{record.get('note', '')}")
        history.append(record)
    return history


def numerical_gradient(f, array, h=1e-6):
    """Central differences (f(x+h) - f(x-h)) / 2h for every element of `array`, changed in place."""
    grad = np.zeros_like(array)
    for index in np.ndindex(array.shape):
        saved = array[index]
        array[index] = saved + h
        plus = f()
        array[index] = saved - h
        minus = f()
        array[index] = saved
        grad[index] = (plus - minus) / (2 * h)
    return grad


def relative_error(a, b):
    """|a - b| / (|a| + |b|), with norms over the whole array: 0 when equal, 1 when unrelated."""
    return float(np.linalg.norm(a - b) / max(np.linalg.norm(a) + np.linalg.norm(b), 1e-300))


def gradient_check(network, x, labels):
    """{parameter: relative error between backprop's and the numerical gradient} (use float64)."""
    network.loss_and_gradients(x, labels)
    analytic = {(i, name): grad.copy() for i, layer in enumerate(network.layers) for name, grad in layer.grads.items()}
    errors = {}
    for (i, name), grad in analytic.items():
        numeric = numerical_gradient(lambda: network.loss_and_gradients(x, labels), network.layers[i].params[name])
        errors[f"{i}.{name}"] = relative_error(grad, numeric)
    network.loss_and_gradients(x, labels)  # leave the layers' grads as backprop computed them
    return errors
