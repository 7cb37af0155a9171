"""Lab 09 · 动转静部署 — From the dynamic graph to a deployable static one.

Training runs in dynamic mode: Python executes each layer as it goes. For deployment the model is
traced once into a static graph (paddle.jit.to_static with an InputSpec whose batch size is None,
so any batch size works) and saved as model.json + model.pdiparams. That file can be loaded back
with paddle.jit.load, or served by paddle.inference without the Python model code. This lab checks
they give the same outputs on 1,000 eval images and measures each one's speed. The export records
Paddle's own conv2d op, so the reference is the dynamic graph on Paddle's kernels: plain kernels match
it exactly; oneDNN kernels (paddle.inference's, or this project's training layers, digits/onednn.py)
add in a different order, so theirs differ in float32 rounding (about 1e-6 relative). eval.py accepts
the export folder too.
Optional: ONNX export with paddle2onnx, checked with onnxruntime.

    python labs/09_export_inference.py [--run runs/RUN]
"""
import time

import numpy as np

import digits  # noqa: F401  (quiets Paddle's logging; import before paddle)
import paddle
from digits.data import load_course_data
from digits.errors import run_main
from digits.export import export, load_exported, predictor
from digits.fileio import atomic_path
from digits.lab import lab_arguments, lab_folder, parse_lab_arguments
from digits.onednn import onednn_enabled
from digits.runs import MODEL_FILE, Run, load_weights
from digits.training import TrainConfig, fit, num_outputs
from models import build_model


def main():
    parser = lab_arguments(__doc__, epochs=2)
    parser.add_argument("--run", help="export this train.py run instead of training a CNN first")
    args = parse_lab_arguments(parser)
    out = lab_folder("lab09")
    if args.run:
        config = Run.open(args.run).config
        model = load_weights(build_model(config["model"], num_outputs(config["loss"])), f"{args.run}/{MODEL_FILE}")
        name, loss = config["model"], config["loss"]
    else:
        model = fit(TrainConfig(epochs=args.epochs, seed=args.seed, out=f"{out}/run")).model
        name, loss = "cnn", "ce"
    model.eval()

    with onednn_enabled(False):  # the same weights on Paddle's own kernels: what the export will run
        reference = build_model(name, num_outputs(loss))
    reference.set_state_dict(model.state_dict())
    reference.eval()

    images = load_course_data()["eval"][0][:1000].reshape(-1, *model.input_shape)
    with paddle.no_grad():
        dynamic, dynamic_speed = timed(lambda batch: reference(paddle.to_tensor(batch)).numpy(), images)
        training_layers, training_speed = timed(lambda batch: model(paddle.to_tensor(batch)).numpy(), images)
    folder = export(model, f"{out}/export", loss, name)
    jit_model = load_exported(folder)
    with paddle.no_grad():
        jitted, jit_speed = timed(lambda batch: jit_model(paddle.to_tensor(batch)).numpy(), images)
    plain, plain_speed = timed(predictor(folder, onednn=False), images)
    served, serve_speed = timed(predictor(folder), images)

    print(f"\nexported to {folder}; outputs on {len(images)} eval images:")
    print(f"  {'dynamic graph':22s} {dynamic_speed:8.0f} images/s")
    for label, outputs, speed in (("paddle.jit.load", jitted, jit_speed), ("paddle.inference", plain, plain_speed),
                                  ("inference + oneDNN", served, serve_speed),
                                  ("dynamic, oneDNN layers", training_layers, training_speed)):
        print(f"  {label:22s} {speed:8.0f} images/s   max |difference| from dynamic {np.abs(outputs - dynamic).max():.2e}"
              f"   same predictions: {np.array_equal(outputs.argmax(1), dynamic.argmax(1))}")
    onnx_check(folder, images, dynamic)
    print(f"evaluate the export: python eval.py {folder}")


def timed(run, images, batch_size=100, repeats=3):
    """All outputs for `images`, and the best images/s over a few passes in batches."""
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        outputs = np.concatenate([run(images[i:i + batch_size]) for i in range(0, len(images), batch_size)])
        best = min(best, time.perf_counter() - started)
    return outputs, len(images) / best


def onnx_check(folder, images, dynamic):
    try:
        import onnxruntime
        import paddle2onnx
    except ImportError:
        print("  ONNX: skipped (optional: pip install paddle2onnx onnxruntime sympy)")
        return
    path = f"{folder}/model.onnx"
    with atomic_path(path) as tmp:
        paddle2onnx.export(f"{folder}/model.json", f"{folder}/model.pdiparams", tmp, verbose=False)
    quiet = onnxruntime.SessionOptions()
    quiet.log_severity_level = 3  # errors only
    session = onnxruntime.InferenceSession(path, quiet, providers=["CPUExecutionProvider"])
    feed = session.get_inputs()[0].name
    outputs, speed = timed(lambda batch: session.run(None, {feed: batch})[0], images)
    print(f"  {'onnxruntime':22s} {speed:8.0f} images/s   max |difference| from dynamic {np.abs(outputs - dynamic).max():.2e}")


if __name__ == "__main__":
    run_main(main)
