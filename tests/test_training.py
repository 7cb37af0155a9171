"""The shared training loop: it learns, it is reproducible, it checkpoints, and it stops cleanly on NaN."""
import ast
import glob
import os

import numpy as np
import paddle
import pytest

import digits
from digits.errors import UserError
from digits.onednn import OneDNNConv2D, accelerate
from digits.runs import Run, load_weights, read_weights
from digits.training import TrainConfig, check_progress, evaluate, fit as fit_model, make_optimizer, train
from digits.data import IMAGE, load_data
from models import build_model, maker


def fit(config, **options):
    """Train the model the config names, as train.py does."""
    return fit_model(config, maker(config), **options)


def config(tmp_path, name, datafile, **overrides):
    return TrainConfig(**{"epochs": 2, "batch_size": 50, "log_interval": 10, "data": datafile,
                          "out": str(tmp_path / name), **overrides})


@pytest.fixture(scope="module")
def cnn_run(tmp_path_factory, small_datafile):
    return fit(config(tmp_path_factory.mktemp("runs"), "cnn", small_datafile))


def test_the_cnn_classifier_learns(cnn_run):
    losses = [r["window_loss"] for r in cnn_run.run.records("batch")]
    assert losses[-1] < 0.5 * losses[0]
    assert cnn_run.epochs[1]["train_loss"] < cnn_run.epochs[0]["train_loss"]
    assert cnn_run.eval["accuracy"] > 0.85  # 10 classes: chance is 0.10


def test_the_mlp_regressor_learns(tmp_path, small_datafile):
    result = fit(config(tmp_path, "mlp", small_datafile, model="mlp", loss="mse", optimizer="sgd", lr=0.01, epochs=3))
    first = result.run.records("batch")[0]["loss"]
    assert 20 < first < 40  # predicting ~0 for digits 0-9: the mean squared label, ~28
    assert result.epochs[-1]["train_loss"] < 10 < first


def test_a_run_folder_holds_everything(cnn_run):
    run = Run.open(cnn_run.run.path)
    assert run.config["model"] == "cnn" and run.config["seed"] == 0
    assert len(run.records("epoch")) == 2 and run.records("eval")[0]["accuracy"] == cnn_run.eval["accuracy"]
    assert run.checkpoint()["epoch"] == 1 and run.checkpoint()["step"] == 2 * 40
    with open(run.file("loss.png"), "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"


SCRIPTS = ["train.py", "eval.py", "tests/conftest.py", *(os.path.relpath(path, digits.PROJECT_ROOT) for folder in
           ("labs", "bench") for path in sorted(glob.glob(os.path.join(digits.PROJECT_ROOT, folder, "*.py"))))]


def unguarded_paddle_imports(tree):
    """Lines that import paddle before any import of digits (or of models, which imports digits first), in
    source order: at the module's top level, or within the function that runs the import."""
    lines = []

    def visit(statements, guarded):
        for node in statements:
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                modules = {(alias.name if isinstance(node, ast.Import) else node.module or "").split(".")[0]
                           for alias in node.names}
                if "paddle" in modules and not guarded:
                    lines.append(node.lineno)
                guarded = guarded or bool(modules & {"digits", "models"})
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                visit(node.body, guarded)  # what a function imports stays in the function
            else:  # if / try / with / for: their imports run in the enclosing scope
                inner = [child for field in ("body", "orelse", "finalbody") for child in getattr(node, field, [])]
                inner += [child for handler in getattr(node, "handlers", []) for child in handler.body]
                guarded = visit(inner, guarded)
        return guarded

    visit(tree.body, False)
    return lines


@pytest.mark.parametrize("script", SCRIPTS)
def test_scripts_import_digits_before_paddle(script):
    """Paddle 2.6 exports its own zlib: imported before Pillow, it can take over Pillow's PNG writer, and saving
    a figure then crashes the process (segfault). digits loads Pillow first, so every script imports digits
    before paddle."""
    with open(os.path.join(digits.PROJECT_ROOT, script), encoding="utf-8") as f:
        assert unguarded_paddle_imports(ast.parse(f.read())) == [], f"{script}: import digits before paddle"


def test_checkpoint_round_trip(cnn_run, small_datafile):
    restored = accelerate(load_weights(build_model("cnn", 10), cnn_run.run.model_file()))
    restored.eval()
    cnn_run.model.eval()
    images = paddle.to_tensor(next(load_data("eval", image_shape=IMAGE, datafile=small_datafile)())[0])
    np.testing.assert_array_equal(restored(images).numpy(), cnn_run.model(images).numpy())
    assert evaluate(restored, load_data("eval", image_shape=IMAGE, label_dtype="int64", datafile=small_datafile),
                    "ce")["accuracy"] == cnn_run.eval["accuracy"]

    # Adam's moments come back bound to the new model's own parameters (Paddle names them differently). A
    # loaded state waits in Paddle 2.6 until the optimizer's first step creates the moments, so step once
    # with zero gradients: each first moment must then be beta1 = 0.9 times the saved one.
    run = Run.open(cnn_run.run.path)
    optimizer = make_optimizer("adam", 0.001, restored.parameters())
    run.restore(restored, optimizer)
    (sum(p.sum() for p in restored.parameters()) * 0).backward()
    optimizer.step()
    moments, saved = optimizer.state_dict(), read_weights(run.model_file().replace("model.npz", "optimizer.npz"))
    saved_names = run.checkpoint()["parameter_names"]
    for key, parameter in restored.state_dict().items():
        saved_moment = saved[f"{saved_names[key]}_moment1_0"]
        assert np.abs(saved_moment).max() > 0
        np.testing.assert_allclose(moments[f"{parameter.name}_moment1_0"].numpy(), 0.9 * saved_moment, rtol=1e-6)


def test_one_seed_makes_runs_identical(tmp_path, small_datafile):
    def losses(name, seed):
        result = fit(config(tmp_path, name, small_datafile, model="mlp", loss="mse", optimizer="sgd", lr=0.01, seed=seed))
        return [r["loss"] for r in result.run.records("batch")]
    first = losses("a", 7)
    assert losses("b", 7) == first
    assert losses("c", 8) != first


def test_a_checkpoint_that_does_not_fit_is_refused(cnn_run):
    with pytest.raises(UserError, match="does not fit the MLP model .* pick the --model it was trained with"):
        load_weights(build_model("mlp", 10), cnn_run.run.model_file())
    with pytest.raises(UserError, match="fc.weight is \\[980, 10\\], the model needs \\[980, 1\\]"):
        load_weights(build_model("cnn", 1), cnn_run.run.model_file())


def test_unknown_names_are_refused(tmp_path, small_datafile):
    with pytest.raises(UserError, match="unknown model 'resnet': choose one of cnn, "):
        fit(config(tmp_path, "x", small_datafile, model="resnet"))
    with pytest.raises(UserError, match="--optimizer lbfgs: choose one of sgd, momentum, adagrad, adam"):
        config(tmp_path, "y", small_datafile, optimizer="lbfgs")
    with pytest.raises(UserError, match="--shift -1: give 0 to 8 .pixels"):
        config(tmp_path, "z", small_datafile, shift=-1)
    with pytest.raises(UserError, match="--rotate 45: give 0 to 30 .degrees"):
        config(tmp_path, "w", small_datafile, rotate=45)


def test_an_existing_run_is_never_overwritten(cnn_run, small_datafile):
    with pytest.raises(UserError, match="already holds a run"):
        fit(TrainConfig(epochs=1, data=small_datafile, out=cnn_run.run.path))


def test_a_diverging_loss_stops_the_run_and_keeps_the_last_good_checkpoint(tmp_path, small_datafile):
    paddle.seed(0)
    model = build_model("mlp", 1)
    optimizer = make_optimizer("sgd", 0.01, model.parameters())
    run = Run.create(str(tmp_path / "run"), {"model": "mlp"})
    loaders = [load_data(mode, 50, datafile=small_datafile) for mode in ("train", "valid")]
    settings = TrainConfig(model="mlp", loss="mse", epochs=1, log_interval=10)
    train(model, optimizer, *loaders, settings, run)
    saved = open(run.model_file(), "rb").read()

    optimizer.set_lr(1e12)
    with pytest.raises(UserError, match=r"the loss became (nan|inf) at epoch 0, batch \d+: the learning rate 1e\+12 "
                                        r"is too high for this setting, lower it \(e.g. --lr 1e\+11\); the checkpoint "
                                        r"of epoch 0"):
        train(model, optimizer, *loaders, settings, run)
    assert open(run.model_file(), "rb").read() == saved


def test_a_finite_explosion_or_a_run_stuck_at_chance_is_stopped(tmp_path, small_datafile):
    """Cross-entropy at lr 1e6 stays finite but explodes; SGD at lr 1e-9 leaves the CNN at chance with a flat loss."""
    with pytest.raises(UserError, match=r"the train loss grew from [\d.]+ to [\d.e+]+ by epoch 0: the learning rate "
                                        r"1e\+06 is too high"):
        fit(config(tmp_path, "explodes", small_datafile, lr=1e6, optimizer="sgd"))
    with pytest.raises(UserError, match=r"after epoch 1 the valid accuracy is [\d.]+%, chance level, and the loss has "
                                        r"not fallen: the learning rate 1e-09 is too low .* try --lr 1e-08 and --lr "
                                        r"1e-10; the checkpoint of epoch 0"):
        fit(config(tmp_path, "stuck", small_datafile, lr=1e-9, optimizer="sgd", epochs=3))


def test_a_regression_at_chance_with_a_growing_loss_is_stopped_and_a_plateau_is_not(tmp_path):
    """Lab 03's stalled CNN sits at the label variance (a plateau: left alone); a regression whose rounded
    predictions are at chance while its loss grows epoch over epoch cannot recover: stopped with advice."""
    run = Run.create(str(tmp_path / "run"), {"model": "linear"})
    optimizer = paddle.optimizer.SGD(0.01, parameters=paddle.nn.Linear(2, 1).parameters())
    at_chance = {"epoch": 2, "valid_loss": 8.4, "valid_accuracy": 0.098}
    check_progress({**at_chance, "train_loss": 8.37}, 29.0, 8.4, "mse", optimizer, run, previous={"train_loss": 8.35})
    with pytest.raises(UserError, match=r"after epoch 2 the rounded predictions are right 9.8% of the time, chance "
                                        r"level, and the train loss grew from 9 to 12: the learning rate 0.01 is too "
                                        r"high .*no epoch had finished"):
        check_progress({**at_chance, "train_loss": 12.0}, 29.0, 12.0, "mse", optimizer, run, previous={"train_loss": 9.0})
    learning = {**at_chance, "valid_accuracy": 0.4}  # growing but not at chance (a bumpy start): left alone
    check_progress({**learning, "train_loss": 12.0}, 29.0, 12.0, "mse", optimizer, run, previous={"train_loss": 9.0})


def test_visualdl_is_optional_and_says_how_to_get_it(tmp_path, small_datafile):
    try:
        import visualdl  # noqa: F401
        pytest.skip("visualdl is installed here")
    except ImportError:
        pass
    with pytest.raises(UserError, match="--visualdl needs the optional visualdl package: pip install visualdl"):
        fit(config(tmp_path, "vdl", small_datafile, visualdl=True))
    assert not (tmp_path / "vdl").exists()


def test_asking_for_a_gpu_on_a_cpu_build_says_so(tmp_path, small_datafile):
    if paddle.is_compiled_with_cuda():
        pytest.skip("this Paddle build has CUDA")
    with pytest.raises(UserError, match="--device gpu:1: this Paddle build is CPU-only .* use --device cpu or auto"):
        fit(config(tmp_path, "gpu", small_datafile, device="gpu:1"))
    with pytest.raises(UserError, match="unknown device 'tpu'"):
        fit(config(tmp_path, "tpu", small_datafile, device="tpu"))


def test_paddle_kernels_on_request_and_recorded(tmp_path, small_datafile):
    """onednn=False (train.py --no-onednn) keeps Paddle's own conv layers for this run only; config.json says which."""
    plain = fit(config(tmp_path, "plain", small_datafile, epochs=1, onednn=False))
    assert type(plain.model.conv1) is paddle.nn.Conv2D and plain.run.config["onednn"] is False
    default = fit(config(tmp_path, "default", small_datafile, epochs=1))
    assert isinstance(default.model.conv1, OneDNNConv2D) and default.run.config["onednn"] is True
    # same seed, same data: the two kernels give the same run within float rounding
    assert abs(plain.eval["loss"] - default.eval["loss"]) < 1e-3 * plain.eval["loss"]


def test_one_cycle_schedule_with_augmented_images_learns(tmp_path, small_datafile):
    result = fit(config(tmp_path, "cycle", small_datafile, lr=0.005, lr_schedule="onecycle", shift=1, rotate=10))
    lrs = [e["lr"] for e in result.epochs]
    assert lrs[-1] < 0.001 * 0.005  # annealed to almost nothing by the last batch
    assert result.eval["accuracy"] > 0.85
