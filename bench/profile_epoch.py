"""Where an epoch of train.py goes: a profile of one real epoch, by phase and by layer, and the arithmetic floor.

    python bench/profile_epoch.py [--model cnn|wide_cnn] [--no-fuse] [--no-onednn]

Runs digits.training.fit (what train.py runs: the same loop, loader, bookkeeping and checkpoint) for one
epoch, with timers around each phase of every batch: the loader, the tensors, each layer's forward
(forward hooks: conv, ReLU, pool, linear), the loss, backward (oneDNN's convolution backward timed
inside it), the optimizer step, and what is left (the loop's bookkeeping: reading the loss back,
counting hits, the progress). Then the arithmetic: the course CNN's multiply-adds per image, the
fastest fp32 matrix product this machine runs (its practical peak), and the epoch time that peak
allows (bench/roofline.py). The timers add a few microseconds per call; the epoch line printed by the
loop is the total.
"""
import argparse
import collections
import os
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import digits  # noqa: E402,F401  (quiet Paddle; Pillow before Paddle)
import paddle  # noqa: E402

from digits import onednn, training  # noqa: E402
from digits.training import TrainConfig, fit  # noqa: E402
from bench.roofline import floor_seconds, gemm_peak_gflops, training_flop_per_image  # noqa: E402
from models import build_model  # noqa: E402

spent = collections.Counter()  # phase -> seconds over the epoch's training steps
in_step = [False]              # True while the epoch's batches run: the validation after it is not counted


def timed(name, function):
    def wrapper(*args, **kwargs):
        started = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            if in_step[0]:
                spent[name] += time.perf_counter() - started
    return wrapper


def instrument(model):
    """Forward hooks that split the forward pass by layer: a layer's own time, and the gap before it (F.relu,
    the reshape: the functional calls between layers)."""
    state = {"last": None}
    names = [name for name, _ in model.named_sublayers()]

    def before(name):
        def hook(layer, inputs):
            if not in_step[0]:
                return
            now = time.perf_counter()
            if state["last"] is not None:
                spent[f"forward: between layers, before {name} (F.relu, reshape)"] += now - state["last"]
            state["start"] = now
        return hook

    def after(name):
        def hook(layer, inputs, output):
            if not in_step[0]:
                return
            now = time.perf_counter()
            spent[f"forward: {name} ({type(layer).__name__})"] += now - state["start"]
            state["last"] = None if name == names[-1] else now
        return hook

    for name, layer in model.named_sublayers():
        layer.register_forward_pre_hook(before(name))
        layer.register_forward_post_hook(after(name))


def timed_by_instance(function):
    """A oneDNN primitive's or reorder's __call__, timed per object (named after the run by primitive_names)."""
    def wrapper(self, *args, **kwargs):
        started = time.perf_counter()
        try:
            return function(self, *args, **kwargs)
        finally:
            if in_step[0]:
                by_primitive[id(self)] += time.perf_counter() - started
    return wrapper


by_primitive = collections.Counter()  # id(primitive or reorder) -> seconds


def primitive_names(model):
    """id -> 'conv2: backward_weights (brgconv_bwd_w:avx2)' for every oneDNN primitive and reorder the model's plans hold."""
    names = {}
    for layer_name, layer in model.named_sublayers():
        for plan in getattr(layer, "_plans", {}).values():
            parts = [("", plan)] + ([("", plan.conv)] if hasattr(plan, "conv") else [])
            for _, part in parts:
                for attr, value in vars(part).items():
                    if isinstance(value, onednn._Primitive):
                        names[id(value)] = f"{layer_name}: {attr} ({value.implementation()})"
                    elif isinstance(value, onednn._Reorder):
                        names[id(value)] = f"{layer_name}: reorder {attr}"
    return names


def timed_train_step(model, optimizer, images, labels, loss_fn):
    """digits.training.train_step with a timer on each of its lines."""
    started = time.perf_counter()
    predicts = model(images)
    t1 = time.perf_counter()
    loss = loss_fn(predicts, labels)
    t2 = time.perf_counter()
    loss.backward()
    t3 = time.perf_counter()
    optimizer.step()
    t4 = time.perf_counter()
    optimizer.clear_grad()
    t5 = time.perf_counter()
    spent["forward (all layers)"] += t1 - started
    spent["loss (cross-entropy)"] += t2 - t1
    spent["backward (all)"] += t3 - t2
    spent["optimizer step (Adam)"] += t4 - t3
    spent["clear_grad"] += t5 - t4
    return predicts, loss


def timed_progress(batches, total, label, show=True):
    iterator = iter(batches)
    in_step[0] = True
    while True:
        started = time.perf_counter()
        try:
            item = next(iterator)
        except StopIteration:
            in_step[0] = False
            return
        spent["loader: next batch"] += time.perf_counter() - started
        yield item


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="cnn", help="cnn (train.py's default and --preset minute's) or wide_cnn "
                                                       "(--preset best and robust)")
    parser.add_argument("--no-fuse", dest="fuse", action="store_false", help="the stages unfused (train.py --no-fuse)")
    parser.add_argument("--no-onednn", dest="onednn", action="store_false", help="Paddle's own conv kernels")
    parser.add_argument("--data", help="the course file (default: work/mnist.json.gz)")
    args = parser.parse_args()

    training.train_step = timed_train_step
    training.progress = timed_progress
    paddle.to_tensor = timed("to_tensor", paddle.to_tensor)
    for kind in (onednn._Primitive, onednn._Reorder):
        kind.__call__ = timed_by_instance(kind.__call__)
    for plan in (onednn._PlainConvPlan, onednn._ConvReluPoolPlan):
        plan.run_backward = timed("backward: oneDNN convolution (inside backward)", plan.run_backward)
        plan.run_forward = timed("oneDNN primitives (inside forward)", plan.run_forward)
    epochs, models = [], []

    def make_model():
        model = models.append(build_model(args.model, 10)) or models[-1]
        if not (args.fuse and args.onednn):  # a hook makes a fused stage step aside from the fused path
            instrument(model)
        return model

    real_train = training.train

    def train(*a, **k):
        summaries = real_train(*a, **k)
        epochs.extend(summaries)
        return summaries

    training.train = train
    import tempfile
    with tempfile.TemporaryDirectory() as out:
        fit(TrainConfig(model=args.model, epochs=1, onednn=args.onednn, fuse=args.fuse, data=args.data,
                        out=os.path.join(out, "run")), make_model)
    epoch = epochs[0]["seconds"]
    threads = onednn.math_threads()

    print(f"\none epoch of train.py's loop, --model {args.model}{'' if args.fuse else ' --no-fuse'}"
          f"{'' if args.onednn else ' --no-onednn'}, "
          f"{threads} thread(s): {epoch:.1f} s (its own epoch line)")
    measured = ["loader: next batch", "to_tensor", "forward (all layers)", "loss (cross-entropy)", "backward (all)",
                "optimizer step (Adam)", "clear_grad"]
    rest = epoch - sum(spent[name] for name in measured)
    print(f"{'phase':62s} {'s/epoch':>8s} {'share':>6s}")
    for name in measured:
        print(f"{name:62s} {spent[name]:8.2f} {100 * spent[name] / epoch:5.1f}%")
        if name == "forward (all layers)":
            for detail in sorted(k for k in spent if k.startswith("forward: ")) + ["oneDNN primitives (inside forward)"]:
                print(f"  {detail:60s} {spent[detail]:8.2f} {100 * spent[detail] / epoch:5.1f}%")
        if name == "backward (all)":
            conv = spent["backward: oneDNN convolution (inside backward)"]
            print(f"  {'oneDNN convolution backward (both layers)':60s} {conv:8.2f} {100 * conv / epoch:5.1f}%")
            print(f"  {'the rest: ReLU, pool, linear, loss gradients, autograd':60s} {spent[name] - conv:8.2f} "
                  f"{100 * (spent[name] - conv) / epoch:5.1f}%")
    print(f"{'the loop bookkeeping (loss read back, hits, logging)':62s} {rest:8.2f} {100 * rest / epoch:5.1f}%")

    names = primitive_names(models[0])
    if names:
        print("\noneDNN's calls during the epoch's steps, by primitive (forward and backward), slowest first:")
        for key, seconds in by_primitive.most_common():
            if key in names and seconds >= 0.05:
                print(f"  {names[key]:60s} {seconds:8.2f} {100 * seconds / epoch:5.1f}%")

    flop, peak = training_flop_per_image(models[0]), gemm_peak_gflops(threads)
    floor = floor_seconds(flop, 50_000, peak)
    print(f"\narithmetic: {flop / 1e6:.1f} MFLOP per image per training step, {flop * 50_000 / 1e9:.0f} GFLOP per epoch; "
          f"the fastest fp32 matrix product here (NumPy's): {peak:.0f} GFLOP/s ({threads} threads), so no epoch can take "
          f"less than {floor:.1f} s; this one ran at {flop * 50_000 / epoch / 1e9:.0f} GFLOP/s, "
          f"{100 * floor / epoch:.0f}% of that peak")

if __name__ == "__main__":
    main()
