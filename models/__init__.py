"""Network definitions, found by name. Adding a model is adding a file here that calls @register.

Each model is built as build_model(name, num_outputs) and says which image shape it reads:
`input_shape` is (784,) for models on flat pixels, (1, 28, 28) for convolutional ones.
"""
import importlib
import pkgutil

import digits  # noqa: F401  (quiets Paddle's logging before paddle is imported)
from digits.errors import UserError
from digits.training import num_outputs

MODELS = {}


def register(name):
    def add(cls):
        MODELS[name] = cls
        return cls
    return add


def build_model(name, num_outputs=1, **options):
    """The network `name` with `options` (its constructor's keywords). The options stay on the model as
    build_options: digits.training.fit records them in the run's config.json, so the run can be rebuilt."""
    if name not in MODELS:
        raise UserError(f"unknown model {name!r}: choose one of {', '.join(sorted(MODELS))}")
    model = MODELS[name](num_outputs=num_outputs, **options)
    model.build_options = options
    return model


def maker(config):
    """What digits.training.fit builds: the model a TrainConfig names, with one output per the loss's need."""
    if config.model not in MODELS:  # say so before a run folder is made
        raise UserError(f"unknown model {config.model!r}: choose one of {', '.join(sorted(MODELS))}")
    return lambda: build_model(config.model, num_outputs(config.loss))


for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")
