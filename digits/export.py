"""Export a trained model for deployment: dynamic graph -> static graph (paddle.jit), and the
paddle.inference predictor that serves it.

An export folder holds model.json + model.pdiparams (Paddle 3.x; model.pdmodel in 2.x) and
export.json, which records what eval.py needs to use it: the loss it was trained with and its input shape.
"""
import json
import os
import shutil
import tempfile

import numpy as np
import paddle
from paddle.static import InputSpec

from .errors import UserError
from .fileio import write_text
from .onednn import math_threads

META = "export.json"


def export(model, folder, loss, name):
    """Trace `model` with a batch of any size (None) and save it, atomically, as a new folder."""
    if os.path.exists(folder):
        raise UserError(f"{folder} already exists: export to a new folder")
    model.eval()
    static = paddle.jit.to_static(model, input_spec=[InputSpec([None, *model.input_shape], "float32", "image")],
                                  full_graph=True)
    parent = os.path.dirname(os.path.abspath(folder))
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(dir=parent, prefix=".export-")
    try:
        paddle.jit.save(static, os.path.join(tmp, "model"))
        write_text(os.path.join(tmp, META), json.dumps({"model": name, "loss": loss,
                                                        "input_shape": list(model.input_shape)}) + "\n")
        os.replace(tmp, folder)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return folder


def is_export(folder):
    return os.path.exists(os.path.join(folder, META))


def read_meta(folder):
    with open(os.path.join(folder, META), encoding="utf-8") as f:
        return json.load(f)


def load_exported(folder):
    """The exported model as a Paddle layer (paddle.jit.load), with its input_shape attached."""
    layer = paddle.jit.load(os.path.join(folder, "model"))
    layer.input_shape = tuple(read_meta(folder)["input_shape"])
    return layer


def predictor(folder, onednn=True):
    """A paddle.inference predictor on the CPU; returns a function from a NumPy batch to NumPy outputs.

    oneDNN kernels are faster but sum in another order than the dynamic graph's (float32 rounding);
    onednn=False uses Paddle's own kernels with as many threads as this process, for outputs identical
    to the dynamic graph on Paddle's kernels."""
    from paddle import inference
    graph = next((os.path.join(folder, f) for f in ("model.json", "model.pdmodel") if os.path.exists(os.path.join(folder, f))), None)
    if graph is None:
        raise UserError(f"{folder} holds no exported graph (model.json or model.pdmodel): export a model first")
    config = inference.Config(graph, os.path.join(folder, "model.pdiparams"))
    config.disable_gpu()
    config.disable_glog_info()
    config.set_cpu_math_library_num_threads(math_threads())
    if not onednn:
        config.disable_mkldnn()
    engine = inference.create_predictor(config)
    images, outputs = engine.get_input_handle(engine.get_input_names()[0]), engine.get_output_handle(engine.get_output_names()[0])

    def predict(batch):
        images.reshape(batch.shape)
        images.copy_from_cpu(np.ascontiguousarray(batch, dtype=np.float32))
        engine.run()
        return outputs.copy_to_cpu()

    return predict
