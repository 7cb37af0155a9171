"""Lab 09 · 动转静部署 — From the dynamic graph to a deployable static one (the course's Lab 10 and §5).

Training runs in dynamic mode: Python executes each layer as it goes. For deployment the course
traces the model once into a static graph (paddle.jit.to_static), saves it with paddle.jit.save and
an InputSpec whose batch size is None (any batch size works), and loads it back with paddle.jit.load:
a TranslatedLayer that needs no Python model code. This lab writes those calls out, then serves the
same files with paddle.inference (Config, create_predictor), Paddle's deployment engine, with and
without oneDNN. It checks all of them against the dynamic graph on 1,000 eval images and measures
their speed. eval.py accepts the export folder too.

The export records Paddle's own conv2d op (the oneDNN training layers of digits/onednn.py run only
in dynamic mode), so the reference is the same weights on Paddle's kernels: jit.load and plain
paddle.inference match it exactly; oneDNN kernels (paddle.inference's, or the training layers) add
in another order, so theirs differ in float32 rounding (about 1e-6 relative).

Deviations from the course, and why:
- The model is the course CNN trained by digits.training.fit (2 epochs, Adam 0.001), or a train.py
  run given with --run, not the course's Linear(784, 10) trained for this section; so the InputSpec
  is [None, 1, 28, 28] (the course's: [None, 784]). The course decorates forward with
  @paddle.jit.to_static; here paddle.jit.to_static(model) converts the trained model, which leaves
  the model's code as written.
- Paddle 3 writes model.json (PIR) where the course's Paddle 2 wrote mnist.pdmodel.
- paddle.inference and the ONNX check (optional: pip install paddle2onnx onnxruntime) are not in the
  course: they are how the exported files are served without Paddle's Python training stack.
- The export folder also gets export.json (the model's name, loss and input shape): what eval.py
  reads to evaluate it.

    python labs/09_export_inference.py [--run runs/RUN]
"""
import time

import numpy as np

import digits  # noqa: F401  (quiets Paddle's logging; import before paddle)
import paddle
from paddle.static import InputSpec
from digits.data import load_course_data
from digits.errors import run_main
from digits.export import write_meta
from digits.fileio import atomic_path
from digits.lab import lab_arguments, lab_folder, parse_lab_arguments
from digits.onednn import accelerate, is_accelerated, math_threads
from digits.runs import Run, load_weights
from digits.training import TrainConfig, fit, num_outputs
from models import build_model
from models.cnn import CNN


def main():
    parser = lab_arguments(__doc__, epochs=2)
    parser.add_argument("--run", help="export this train.py run instead of training a CNN first")
    args = parse_lab_arguments(parser)
    out = lab_folder("lab09")
    if args.run:
        config = Run.open(args.run).config
        name, loss = config["model"], config["loss"]
        model = accelerate(load_weights(build_model(name, num_outputs(loss)), Run(args.run).model_file()))
    else:
        name, loss = "cnn", "ce"
        model = fit(TrainConfig(epochs=args.epochs, seed=args.seed, out=f"{out}/run"), lambda: CNN(10)).model
    model.eval()

    reference = build_model(name, num_outputs(loss))  # the same weights, on Paddle's own kernels
    reference.set_state_dict(model.state_dict())
    reference.eval()
    images = load_course_data()["eval"][0][:1000].reshape(-1, *model.input_shape)
    with paddle.no_grad():
        dynamic, dynamic_speed = timed(lambda batch: reference(paddle.to_tensor(batch)).numpy(), images)
        training_layers, training_speed = timed(lambda batch: model(paddle.to_tensor(batch)).numpy(), images)

    # 1. dynamic -> static, and save: model.json (the graph) + model.pdiparams (the weights).
    #    to_static converts the model in place: from here on it runs as the static graph.
    folder = f"{out}/export"
    input_spec = [InputSpec([None, *model.input_shape], "float32", "image")]  # the CNN: [None, 1, 28, 28]
    static_model = paddle.jit.to_static(model, full_graph=True)
    paddle.jit.save(static_model, f"{folder}/model", input_spec=input_spec)
    write_meta(folder, name, loss, model.input_shape)   # export.json: what eval.py needs to use the export

    # 2. load it back: a TranslatedLayer, called like the model, without the model's Python code
    loaded = paddle.jit.load(f"{folder}/model")
    with paddle.no_grad():
        jitted, jit_speed = timed(lambda batch: loaded(paddle.to_tensor(batch)).numpy(), images)

    # 3. serve it with paddle.inference, Paddle's deployment engine
    plain, plain_speed = timed(inference_predictor(folder, onednn=False), images)
    served, serve_speed = timed(inference_predictor(folder, onednn=True), images)

    print(f"\nexported to {folder}; outputs on {len(images)} eval images:")
    print(f"  {'dynamic graph':22s} {dynamic_speed:8.0f} images/s")
    layers = f"dynamic, {'oneDNN' if is_accelerated(model) else 'Paddle'} layers"  # the layers fit() trained
    for label, outputs, speed in (("paddle.jit.load", jitted, jit_speed), ("paddle.inference", plain, plain_speed),
                                  ("inference + oneDNN", served, serve_speed),
                                  (layers, training_layers, training_speed)):
        print(f"  {label:22s} {speed:8.0f} images/s   max |difference| from dynamic {np.abs(outputs - dynamic).max():.2e}"
              f"   same predictions: {np.array_equal(outputs.argmax(1), dynamic.argmax(1))}")
    onnx_check(folder, images, dynamic)
    print(f"evaluate the export: python eval.py {folder}")


def inference_predictor(folder, onednn):
    """A paddle.inference predictor on the CPU, as a function from a NumPy batch to NumPy outputs.
    onednn=False: Paddle's own kernels, with as many threads as this process, for outputs identical to the
    dynamic graph's on Paddle's kernels."""
    config = paddle.inference.Config(f"{folder}/model.json", f"{folder}/model.pdiparams")
    config.disable_gpu()
    config.disable_glog_info()
    config.set_cpu_math_library_num_threads(math_threads())
    if not onednn:
        config.disable_mkldnn()
    predictor = paddle.inference.create_predictor(config)
    images = predictor.get_input_handle(predictor.get_input_names()[0])
    outputs = predictor.get_output_handle(predictor.get_output_names()[0])

    def predict(batch):
        images.reshape(batch.shape)
        images.copy_from_cpu(np.ascontiguousarray(batch, dtype=np.float32))
        predictor.run()
        return outputs.copy_to_cpu()

    return predict


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
