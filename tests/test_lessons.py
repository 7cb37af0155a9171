"""The lessons' own copies of the library's code are the library's code: lab 02 writes the MLP that
models/mlp.py keeps, lab 03 the CNN that models/cnn.py keeps (same parameters, same outputs for the same
weights); and train.py --debug-batch prints what the course's check_shape/check_content print."""
import ast
import os

import numpy as np
import paddle
import paddle.nn.functional as F

import digits
from conftest import run_script
from models import build_model


def lesson_class(lab, name):
    """The class `name` as the lab writes it, run from the lab's own source (nothing else of the lab runs)."""
    path = os.path.join(digits.PROJECT_ROOT, "labs", lab)
    tree = ast.parse(open(path, encoding="utf-8").read())
    node = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == name)
    namespace = {"paddle": paddle, "F": F, "np": np}
    for statement in tree.body:  # the imports the class may name
        if isinstance(statement, ast.ImportFrom) and statement.module and statement.module.startswith(("paddle", "digits")):
            exec(compile(ast.Module([statement], []), path, "exec"), namespace)
    exec(compile(ast.Module([node], []), path, "exec"), namespace)
    return namespace[name]


def same_network(lesson, library, shape):
    """Same parameter names and shapes; given the lesson's weights, the library's copy computes the same."""
    lesson_state = {k: v.numpy() for k, v in lesson.state_dict().items()}
    assert {k: v.shape for k, v in lesson_state.items()} == \
        {k: tuple(v.shape) for k, v in library.state_dict().items()}
    library.set_state_dict(lesson_state)
    lesson.eval()
    library.eval()
    images = paddle.to_tensor(np.random.default_rng(0).uniform(-1, 1, (4, *shape)).astype(np.float32))
    np.testing.assert_allclose(lesson(images).numpy(), library(images).numpy(), rtol=1e-6, atol=1e-6)


def test_lab02s_mlp_is_models_mlp():
    paddle.seed(0)
    same_network(lesson_class("02_mlp_regression.py", "MLP")(), build_model("mlp", 1), (784,))


def test_lab03s_cnn_is_models_cnn():
    paddle.seed(0)
    lesson = lesson_class("03_cnn_regression.py", "CNN")
    for outputs in (1, 10):
        same_network(lesson(outputs), build_model("cnn", outputs), (1, 28, 28))


def test_debug_batch_prints_the_shapes_and_then_the_contents(tmp_path, small_datafile):
    done = run_script(["train.py", "--epochs", "1", "--debug-batch", "3", "--out", str(tmp_path / "run")], tmp_path,
                      small_datafile)
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stdout.splitlines() if line.startswith("[debug]")]
    assert lines[0] == "[debug] layer output shapes, input [100, 1, 28, 28]:"
    shapes = {line.split()[1]: line.split("->")[1].strip() for line in lines[1:6]}
    assert shapes == {"conv1": "[100, 20, 28, 28]", "pool1": "[100, 20, 14, 14]", "conv2": "[100, 20, 14, 14]",
                      "pool2": "[100, 20, 7, 7]", "fc": "[100, 10]"}, lines[:6]
    assert "Conv2D" in lines[1]  # the course's class name, though oneDNN's layer runs it
    assert "[debug] batch 3: weights and outputs, first values of each:" in lines
    assert any(line.startswith("[debug]   conv1 weight [20, 1, 5, 5]: [") and "mean" in line for line in lines)


def test_lab03s_dead_channel_probe_is_the_librarys():
    """Lab 03 writes the dead-channel probe that models/cnn.py keeps (the arms bench uses the library's)."""
    def body(path, name):
        tree = ast.parse(open(path, encoding="utf-8").read())
        function = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == name)
        function.body = function.body[1:]  # the docstrings may differ
        return ast.dump(function)
    assert body(os.path.join(digits.PROJECT_ROOT, "labs", "03_cnn_regression.py"), "dead_conv2_channels") == \
        body(os.path.join(digits.PROJECT_ROOT, "models", "cnn.py"), "dead_conv2_channels")
