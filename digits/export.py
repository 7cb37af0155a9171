"""What eval.py needs to read a model exported by lab 09 (paddle.jit.to_static + paddle.jit.save).

An export folder holds model.json + model.pdiparams (Paddle 3.x; model.pdmodel in 2.x) and
export.json, which records what eval.py needs to use it: the loss it was trained with and its input shape.
"""
import json
import os

import paddle

from .fileio import write_text

META = "export.json"


def write_meta(folder, name, loss, input_shape):
    """Record beside an exported graph what eval.py needs to use it: the model, its loss and input shape."""
    write_text(os.path.join(folder, META), json.dumps({"model": name, "loss": loss, "input_shape": list(input_shape)}) + "\n")


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
