"""Lab 07 · 训练调试与优化 — Looking inside training, and regularisation (the course's Lab 8).

Course Lab 8 (【手写数字识别】之训练调试与优化), and what this lab writes out:
1. check_shape / check_content: the course adds two flags to forward() and prints, at batch 0, each
   layer's settings and output shape and, at batch 401, a conv kernel's values, a random channel of
   each conv output and the last layer's output. Here the same prints come from forward hooks
   (layer.register_forward_post_hook), registered below, so the model's code stays the course's.
2. Train and valid accuracy: after each epoch the loop measures the valid split (homework 4's train
   and valid loss curves: train_vs_valid_loss.png).
3. Regularisation (homework 5): the course's `weight_decay=paddle.regularizer.L2Decay(coeff)` in the
   optimizer at 1e-5 (the course's value), 1e-3 and 1e-2, and dropout 0.5 before the CNN's Linear
   head (DropoutCNN below). A table shows each setting's train and valid accuracy and their gap.

Deviations from the course, and why:
- The hooks watch the first regularisation run (Adam 0.001) instead of a separate 1-epoch SGD 0.01
  debug run: the same prints without training an extra epoch. The check runs at batch 401 as in the
  course (or the last batch of an epoch, when the data is smaller).
- check_content prints a random channel's size, range and centre rows, not all 28x28 numbers, and
  draws its channel from its own generator: the course's np.random.randint would shift the global
  NumPy state that the loader's shuffle uses, so the watched run would train differently.
- The layers' names: the conv layers run on oneDNN's kernels (digits.onednn.accelerate, --no-onednn
  turns that off); course_layer_name prints the course's name for them, Conv2D.
- Adam at 0.001, not the course's 0.01 for the L2 run: in lab 05 Adam 0.01 ends below Adam 0.001
  (README), a noisier baseline for the regularisers' small effects.
  5 epochs, batch 100, as in the course.
- Dropout is not in this chapter (the course brings it in the CV chapter); it is here as the second
  regulariser the homework's question calls for.
- Train accuracy is measured like valid's: final weights, eval mode (dropout off), all 50,000 images,
  so the gap compares like with like. The course logs accuracy per training batch instead.
- VisualDL: `python train.py --visualdl` logs loss and accuracy for it (the course's LogWriter).

    python labs/07_debug_and_tune.py
"""
import numpy as np

import digits  # noqa: F401  (quiets Paddle's logging; import before paddle)
import paddle
import paddle.nn.functional as F
from digits.data import load_course_data, load_data
from digits.errors import run_main
from digits.lab import lab_arguments, lab_folder, parse_lab_arguments
from digits.onednn import accelerate, course_layer_name
from digits.plots import plot_curves
from digits.training import evaluate, seed_everything, train_step
from models.cnn import CNN

CHECK_CONTENT_BATCH = 401  # the course's batch for check_content


class DropoutCNN(CNN):
    """The course CNN with dropout on the 980 features that enter its Linear head."""

    def __init__(self, num_outputs=10, p=0.5):
        super().__init__(num_outputs)
        self.dropout = paddle.nn.Dropout(p)  # in training: zero each feature with probability p, scale the rest by 1/(1-p)

    def forward(self, inputs):
        x = self.pool1(F.relu(self.conv1(inputs)))
        x = self.pool2(F.relu(self.conv2(x)))
        x = paddle.reshape(x, [x.shape[0], 980])
        return self.fc(self.dropout(x))


# (name, network, L2 coefficient); 1e-5 is the course's coefficient
SETTINGS = (("none", CNN, 0.0), ("L2 1e-5", CNN, 1e-5), ("L2 1e-3", CNN, 1e-3), ("L2 1e-2", CNN, 1e-2),
            ("dropout 0.5", DropoutCNN, 0.0))


def watch(model, content_batch, rng):
    """The course's check_shape (first training batch) and check_content (batch `content_batch`) as
    forward hooks: the model's code is not touched. Returns the hooks' handles, to remove them.
    (digits.debug.Inspector, behind train.py --debug-batch, is this lab's hooks in the library.)"""
    batch = [-1]

    def count(model, inputs):  # a pre-hook on the whole model: one call per training batch
        if model.training:
            batch[0] += 1
            if batch[0] == 0:
                print(f"[check_shape] input {list(inputs[0].shape)}; each layer's settings and output shape:")
            elif batch[0] == content_batch:
                print(f"[check_content] batch {batch[0]}:")

    def report(name):
        def hook(layer, inputs, output):
            if not layer.training:  # evaluation passes are not training batches
                return
            kind = course_layer_name(layer)  # Conv2D also for a conv running on oneDNN
            if batch[0] == 0:
                settings = ""
                if kind == "Conv2D":
                    settings = f"kernel {list(layer.weight.shape)}, padding {layer._padding}, stride {layer._stride}"
                elif kind == "Linear":
                    settings = f"weight {list(layer.weight.shape)}, bias {list(layer.bias.shape)}"
                print(f"  {name:6s} {kind:10s} {settings:42s} -> output {list(output.shape)}")
            elif batch[0] == content_batch and kind == "Conv2D":
                print(f"  {name} kernel weights [0][0]:\n{np.array2string(layer.weight[0][0].numpy(), precision=3)}")
                channel = int(rng.integers(output.shape[1]))
                values = output[0][channel].numpy()
                middle = len(values) // 2
                print(f"  {name} output, channel {channel} of image 0 ({values.shape[0]}x{values.shape[1]}): min "
                      f"{values.min():.3f}, mean {values.mean():.3f}, max {values.max():.3f}; rows {middle - 1}-{middle}, "
                      f"middle 8 columns:\n{np.array2string(values[middle - 1:middle + 1, middle - 4:middle + 4], precision=3)}")
            elif batch[0] == content_batch and kind == "Linear":
                print(f"  {name} output of image 0: {np.array2string(output[0].numpy(), precision=3)}")
        return hook

    return [model.register_forward_pre_hook(count)] + [layer.register_forward_post_hook(report(name))
                                                        for name, layer in model.named_sublayers()]


def train_and_validate(model, optimizer, epochs, train_loader, valid_loader):
    """Epochs of the course's loop (lab 02's train_step), with a valid pass after each: the numbers behind
    homework 4's train and valid curves. It re-derives digits.training.train on purpose: fit() builds its
    optimizer from a config, and this lab's lesson is the optimizer's weight_decay line."""
    curve = []
    for epoch in range(epochs):
        losses = []
        for images, labels in train_loader():
            _, loss = train_step(model, optimizer, paddle.to_tensor(images), paddle.to_tensor(labels), F.cross_entropy)
            losses.append(float(loss))
        valid = evaluate(model, valid_loader, "ce")
        curve.append((float(np.mean(losses)), valid["loss"]))
        print(f"  epoch {epoch}: train loss {curve[-1][0]:.4f}; valid loss {valid['loss']:.4f}, "
              f"accuracy {100 * valid['accuracy']:.2f}%")
    return curve


def main():
    args = parse_lab_arguments(lab_arguments(__doc__, epochs=5))
    out = lab_folder("lab07")
    train_loader = load_data("train", 100, image_shape=CNN.input_shape, label_dtype="int64")
    valid_loader = load_data("valid", 500, image_shape=CNN.input_shape, label_dtype="int64")
    batches = -(-len(load_course_data()["train"][0]) // 100)

    rows, curves = [], {}
    for index, (name, network, coeff) in enumerate(SETTINGS):
        print(f"--- {name} ---")
        seed_everything(args.seed)
        model = accelerate(network(10))
        # L2 regularisation, the course's way: the optimizer adds coeff * weight to every gradient
        optimizer = paddle.optimizer.Adam(learning_rate=0.001, parameters=model.parameters(),
                                          weight_decay=paddle.regularizer.L2Decay(coeff=coeff) if coeff else None)
        hooks = watch(model, min(CHECK_CONTENT_BATCH, batches - 1), np.random.default_rng(args.seed)) if index == 0 else []
        curve = train_and_validate(model, optimizer, args.epochs, train_loader, valid_loader)
        for handle in hooks:
            handle.remove()

        train = evaluate(model, load_data("train", 500, image_shape=CNN.input_shape, label_dtype="int64"), "ce")
        valid = evaluate(model, valid_loader, "ce")
        rows.append((name, train["loss"], valid["loss"], train["accuracy"], valid["accuracy"]))
        epochs = list(range(1, args.epochs + 1))
        curves[f"{name} train"] = (epochs, [train_loss for train_loss, _ in curve])
        curves[f"{name} valid"] = (epochs, [valid_loss for _, valid_loss in curve])

    plot_curves(curves, f"{out}/train_vs_valid_loss.png", "train vs valid loss per setting", xlabel="epoch",
                ylabel="loss", logy=True)
    print(f"\n{'setting':12s} {'train loss':>10s} {'valid loss':>10s} {'train acc':>10s} {'valid acc':>10s} {'gap':>7s}")
    for name, train_loss, valid_loss, train_acc, valid_acc in rows:
        print(f"{name:12s} {train_loss:10.4f} {valid_loss:10.4f} {100 * train_acc:9.2f}% {100 * valid_acc:9.2f}% "
              f"{100 * (train_acc - valid_acc):6.2f}%")
    print(f"figure: {out}/train_vs_valid_loss.png")


if __name__ == "__main__":
    run_main(main)
