# %% [markdown]
# # Lab 09 · 动转静部署: from the dynamic graph to a deployable static one
#
# Course section: 动转静部署 (the course's Lab 10 and §5). Training runs in dynamic mode: Python executes
# each layer as it goes. For deployment the course traces the model once into a static graph
# (`paddle.jit.to_static`), saves it with `paddle.jit.save` and an `InputSpec` whose batch size is `None`
# (any batch size works), and loads it back with `paddle.jit.load`: a `TranslatedLayer` that needs no
# Python model code. This lab writes those calls out, then serves the same files with `paddle.inference`
# (`Config`, `create_predictor`), Paddle's deployment engine, with and without oneDNN. It checks all of
# them against the dynamic graph on 1,000 eval images and measures their speed. `eval.py` accepts the
# export folder too.
#
# The export records Paddle's own conv2d op (the oneDNN training layers of `digits/onednn.py` run only
# in dynamic mode), so the reference is the same weights on Paddle's kernels: `jit.load` and plain
# `paddle.inference` match it exactly; oneDNN kernels (`paddle.inference`'s, or the training layers) add
# in another order, so theirs differ in float32 rounding (about 1e-6 relative).
#
# **Deviations from the course.**
# - The model is the course CNN trained by `digits.training.fit` (2 epochs, Adam 0.001), or a `train.py`
#   run given as `run`, not the course's `Linear(784, 10)` trained for this section; so the `InputSpec`
#   is `[None, 1, 28, 28]` (the course's: `[None, 784]`). The course decorates forward with
#   `@paddle.jit.to_static`; here `paddle.jit.to_static(model)` converts the trained model, which leaves
#   the model's code as written.
# - The graph's file: Paddle 3 writes `model.json` (its new intermediate representation, PIR) where the
#   course's Paddle 2 wrote `mnist.pdmodel`; the lab uses whichever `paddle.jit.save` wrote.
# - `paddle.inference` and the ONNX check (optional: `pip install paddle2onnx onnxruntime`) are not in the
#   course: they are how the exported files are served without Paddle's Python training stack.
# - The export folder also gets `export.json` (the model's name, loss and input shape): what `eval.py`
#   reads to evaluate it.
#
# As a script: `python labs/09_export_inference.py` (`--help` lists its flags).

# %%
import os
import time

import numpy as np

import digits  # noqa: F401  (quiets Paddle's logging; import before paddle)
import paddle
from paddle.static import InputSpec
from digits.data import load_course_data
from digits.export import write_meta
from digits.fileio import atomic_path
from digits.lab import lab_setup, record
from digits.onednn import accelerate, is_accelerated, math_threads
from digits.runs import Run, load_weights
from digits.training import TrainConfig, fit, num_outputs
from models import build_model
from models.cnn import CNN

# %% tags=["parameters"]
epochs = 2  # passes over the training set of the CNN trained to be exported
seed = 0  # fixes the CNN's initial weights and the shuffle
onednn = True  # train on oneDNN's conv kernels; False: Paddle's own, as the course ran them
run = None  # export this train.py run (its folder) instead of training a CNN first
quick = False  # one epoch only: a smoke test, as CI runs the labs

# %%
out = lab_setup("lab09", globals())  # a script's flags replace the values above; out = runs/lab09/<time>

# %% [markdown]
# ## The trained model
# A CNN trained here (the live curve shows its loss), or the weights of a `train.py` run. Its conv layers
# run on oneDNN's kernels, which exist only in dynamic mode.

# %%
if run:
    config = Run.open(run).config
    name, loss = config["model"], config["loss"]
    model = accelerate(load_weights(build_model(name, num_outputs(loss)), Run(run).model_file()))
else:
    name, loss = "cnn", "ce"
    model = fit(TrainConfig(epochs=epochs, seed=seed, out=f"{out}/run"), lambda: CNN(10)).model
model.eval()

# %% [markdown]
# ## The reference: the dynamic graph
# The same weights in a model on Paddle's own kernels: what the exported graph computes. Every form
# below runs the same 1,000 eval images in batches of 100; `timed` keeps the best of three passes.

# %%
def timed(predict, images, batch_size=100, repeats=3):
    """All outputs for `images`, and the best images/s over a few passes in batches."""
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        outputs = np.concatenate([predict(images[i:i + batch_size]) for i in range(0, len(images), batch_size)])
        best = min(best, time.perf_counter() - started)
    return outputs, len(images) / best


reference = build_model(name, num_outputs(loss))  # the same weights, on Paddle's own kernels
reference.set_state_dict(model.state_dict())
reference.eval()
images = load_course_data()["eval"][0][:1000].reshape(-1, *model.input_shape)
with paddle.no_grad():
    dynamic, dynamic_speed = timed(lambda batch: reference(paddle.to_tensor(batch)).numpy(), images)
    training_layers, training_speed = timed(lambda batch: model(paddle.to_tensor(batch)).numpy(), images)

# %% [markdown]
# ## 1. Dynamic to static, and save
# `paddle.jit.to_static` traces `forward` once into a static graph; `InputSpec` says what the graph takes:
# float32 images of shape `[None, 1, 28, 28]`, where `None` lets the batch size vary. `paddle.jit.save`
# writes the graph (`model.json` under Paddle 3, `model.pdmodel` under Paddle 2) and the weights
# (`model.pdiparams`). `to_static` converts the model in place: from here on it runs as the static graph.

# %%
folder = f"{out}/export"
input_spec = [InputSpec([None, *model.input_shape], "float32", "image")]  # the CNN: [None, 1, 28, 28]
static_model = paddle.jit.to_static(model, full_graph=True)
paddle.jit.save(static_model, f"{folder}/model", input_spec=input_spec)
write_meta(folder, name, loss, model.input_shape)   # export.json: what eval.py needs to use the export
graph = next(f"{folder}/model{suffix}" for suffix in (".json", ".pdmodel") if os.path.exists(f"{folder}/model{suffix}"))
weights = f"{folder}/model.pdiparams"
print(f"exported: {sorted(os.listdir(folder))}")

# %% [markdown]
# ## 2. Load it back
# `paddle.jit.load` needs only the files' common prefix. It returns a `TranslatedLayer`, called like the
# model, without the model's Python code: the graph runs Paddle's own kernels.

# %%
loaded = paddle.jit.load(f"{folder}/model")
with paddle.no_grad():
    jitted, jit_speed = timed(lambda batch: loaded(paddle.to_tensor(batch)).numpy(), images)

# %% [markdown]
# ## 3. Serve it with paddle.inference
# Paddle's deployment engine, as a C++ server or a phone would run the files: a `Config` names the graph
# and the weights and sets the device and threads, `create_predictor` optimises the graph once, and each
# batch goes through the predictor's input and output handles as NumPy arrays. With oneDNN on, the
# engine swaps in oneDNN's kernels (and may fuse a conv with its ReLU).

# %%
def inference_predictor(graph, weights, onednn):
    """A paddle.inference predictor on the CPU, as a function from a NumPy batch to NumPy outputs.
    onednn=False: Paddle's own kernels, with as many threads as this process, for outputs identical to the
    dynamic graph's on Paddle's kernels."""
    config = paddle.inference.Config(graph, weights)
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


plain, plain_speed = timed(inference_predictor(graph, weights, onednn=False), images)
served, serve_speed = timed(inference_predictor(graph, weights, onednn=True), images)

# %% [markdown]
# ## Same outputs, and how fast
# Each form against the dynamic graph: the largest difference in any output and whether every image gets
# the same predicted digit. Paddle's kernels give exactly the same numbers; oneDNN's differ in the last
# bits of float32 (they add in another order), never enough to change a prediction here.

# %%
print(f"exported to {folder}; outputs on {len(images)} eval images:")
print(f"  {'dynamic graph':22s} {dynamic_speed:8.0f} images/s")
layers = f"dynamic, {'oneDNN' if is_accelerated(model) else 'Paddle'} layers"  # the layers fit() trained
for label, outputs, speed in (("paddle.jit.load", jitted, jit_speed), ("paddle.inference", plain, plain_speed),
                              ("inference + oneDNN", served, serve_speed),
                              (layers, training_layers, training_speed)):
    print(f"  {label:22s} {speed:8.0f} images/s   max |difference| from dynamic {np.abs(outputs - dynamic).max():.2e}"
          f"   same predictions: {np.array_equal(outputs.argmax(1), dynamic.argmax(1))}")

# %% [markdown]
# ## Optional: ONNX
# `paddle2onnx` converts the same files to ONNX, the format other runtimes read; `onnxruntime` runs it
# without Paddle at all. Skipped when the two packages are not installed.

# %%
def onnx_check(graph, weights, images, dynamic):
    try:
        import onnxruntime
        import paddle2onnx
    except ImportError:
        print("  ONNX: skipped (optional: pip install paddle2onnx onnxruntime sympy)")
        return
    path = f"{os.path.dirname(graph)}/model.onnx"
    with atomic_path(path) as tmp:
        paddle2onnx.export(graph, weights, tmp, verbose=False)
    quiet = onnxruntime.SessionOptions()
    quiet.log_severity_level = 3  # errors only
    session = onnxruntime.InferenceSession(path, quiet, providers=["CPUExecutionProvider"])
    feed = session.get_inputs()[0].name
    outputs, speed = timed(lambda batch: session.run(None, {feed: batch})[0], images)
    print(f"  {'onnxruntime':22s} {speed:8.0f} images/s   max |difference| from dynamic {np.abs(outputs - dynamic).max():.2e}")


onnx_check(graph, weights, images, dynamic)
print(f"evaluate the export: python eval.py {folder}")
record(out, jit_difference=np.abs(jitted - dynamic).max(), inference_difference=np.abs(plain - dynamic).max(),
       onednn_difference=np.abs(served - dynamic).max(), training_layers_difference=np.abs(training_layers - dynamic).max(),
       same_predictions=all(np.array_equal(outputs.argmax(1), dynamic.argmax(1))
                            for outputs in (jitted, plain, served, training_layers)))  # for the lab report
