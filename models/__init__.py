"""Network definitions, found by name, and the loading of a trained one. Adding a model is adding a file here
that calls @register, and its name to the import at the end.

Each model is built as build_model(name, num_outputs) and says which image shape it reads:
`input_shape` is (784,) for models on flat pixels, (1, 28, 28) for convolutional ones. load_trained(folder)
rebuilds the model a run folder (or an export) holds, from its config.json, and loads its weights.
"""
import os

import digits  # noqa: F401  (quiets Paddle's logging before paddle is imported)
from digits.errors import UserError
from digits.export import is_export, load_exported, read_meta
from digits.onednn import accelerate
from digits.runs import Run, load_weights
from digits.training import LOSSES, num_outputs

MODELS = {}
# Names older run folders hold: fast_cnn was the course CNN with its stages fused by hand (the same parameters),
# before digits.onednn.accelerate fused the course's class itself.
ALIASES = {"fast_cnn": "cnn"}


def register(name):
    def add(cls):
        MODELS[name] = cls
        return cls
    return add


def model_class(name):
    """The class registered as `name` (or as the name an alias stands for); a UserError for an unknown one."""
    cls = MODELS.get(ALIASES.get(name, name))
    if cls is None:
        raise UserError(f"unknown model {name!r}: choose one of {', '.join(sorted(MODELS))}")
    return cls


def build_model(name, num_outputs=1, **options):
    """The network `name` with `options` (its constructor's keywords). The options stay on the model as
    build_options: digits.training.fit records them in the run's config.json, so the run can be rebuilt."""
    model = model_class(name)(num_outputs=num_outputs, **options)
    model.build_options = options
    return model


def maker(config):
    """What digits.training.fit builds: the model a TrainConfig names, with one output per the loss's need."""
    model_class(config.model)  # an unknown name is said before a run folder is made
    return lambda: build_model(config.model, num_outputs(config.loss))


def load_trained(folder):
    """A trained model, in eval mode, from a run folder (train.py) or an exported model (lab 09):
    (model, the loss it was trained with, the data file it was trained on or None)."""
    if not os.path.isdir(folder):
        raise UserError(f"{folder} is not a folder: pass a run folder that train.py wrote (runs/...)")
    if is_export(folder):
        model, loss, trained_on = load_exported(folder), read_meta(folder)["loss"], None
    else:
        run = Run.open(folder)
        config = run.config
        if config.get("loss") not in LOSSES or not isinstance(config.get("model_options", {}), dict):
            raise UserError(f"{folder}/config.json holds a loss or model options train.py does not write: pass a "
                            f"run folder as train.py wrote it")
        try:
            network = build_model(config["model"], num_outputs(config["loss"]), **config.get("model_options", {}))
        except TypeError:  # options the model does not take
            raise UserError(f"{folder}/config.json gives model options {config['model']} does not take: pass a "
                            f"run folder as train.py wrote it") from None
        model = load_weights(network, run.model_file())
        if config.get("onednn", True):  # the kernels it was trained on, so eval repeats training's numbers
            accelerate(model, fuse=config.get("fuse", True))
        loss, trained_on = config["loss"], config["data"]
    model.eval()
    return model, loss, trained_on


# the networks: each file registers its class under its name
from . import cnn, companion_fnn, linear, mlp, sigmoid_mlp, wide_cnn  # noqa: E402,F401
