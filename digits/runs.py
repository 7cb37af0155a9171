"""A run folder: config.json, metrics.jsonl, the checkpoint (model.pdparams, model.pdopt) and plots.

The checkpoint is written after every epoch and holds everything needed to continue exactly where
the run stopped: weights, optimizer state (with its learning-rate schedule), the epoch and step, and
the random-number generators' states (the loader's shuffle and Paddle's dropout).
"""
import json
import os
import pickle
import random
import time
import warnings

import numpy as np

from .errors import UserError
from .fileio import atomic_path, write_text

CONFIG, METRICS = "config.json", "metrics.jsonl"
MODEL_FILE, OPTIMIZER_FILE, RNG_FILE, STATE_FILE = "model.pdparams", "model.pdopt", "rng.pkl", "checkpoint.json"


class Run:
    """A run folder. In a data-parallel run only rank 0 writes; the other ranks get writes=False."""

    def __init__(self, path, writes=True, scalars=None):
        self.path, self.writes, self.scalars = path, writes, scalars

    @classmethod
    def create(cls, path, config, writes=True, visualdl=False):
        """Start a new run folder; refuse one that already holds a run, so nothing is overwritten."""
        run = cls(path, writes)
        if writes:  # other ranks of a data-parallel run would see the folder rank 0 has just made
            if os.path.exists(os.path.join(path, CONFIG)):
                raise UserError(f"{path} already holds a run: choose another --out, or continue it with --resume {path}")
            log_writer = visualdl_log_writer() if visualdl else None  # fail before anything is written
            os.makedirs(path, exist_ok=True)
            write_text(run.file(CONFIG), json.dumps(config, indent=2) + "\n")
            run.scalars = log_writer(logdir=run.file("visualdl")) if log_writer else None
        return run

    @classmethod
    def open(cls, path, writes=False, visualdl=False):
        if not os.path.exists(os.path.join(path, CONFIG)):
            raise UserError(f"{path} is not a run folder (no {CONFIG}): pass a folder that train.py wrote")
        scalars = visualdl_log_writer()(logdir=os.path.join(path, "visualdl")) if visualdl and writes else None
        return cls(path, writes, scalars)

    def file(self, name):
        return os.path.join(self.path, name)

    @property
    def config(self):
        with open(self.file(CONFIG), encoding="utf-8") as f:
            return json.load(f)

    def say(self, message):
        if self.writes:
            print(message)

    def log(self, record):
        if not self.writes:
            return
        with open(self.file(METRICS), "a", encoding="utf-8") as f:
            f.write(json.dumps(record) + "\n")
        if self.scalars and "step" in record:
            for key, value in record.items():
                if key not in ("kind", "epoch", "batch", "step") and isinstance(value, float):
                    self.scalars.add_scalar(f"{record['kind']}/{key}", value, record["step"])

    def records(self, kind):
        """The logged records of one kind: 'batch' (every log interval), 'epoch' (summaries) or 'eval'."""
        if not os.path.exists(self.file(METRICS)):
            return []
        with open(self.file(METRICS), encoding="utf-8") as f:
            return [r for r in map(json.loads, f) if r["kind"] == kind]

    def save_checkpoint(self, model, optimizer, epoch, step):
        """Save the whole training state atomically; checkpoint.json, written last, names the epoch."""
        if not self.writes:
            return
        import paddle
        for name, state in ((MODEL_FILE, model.state_dict()), (OPTIMIZER_FILE, optimizer.state_dict())):
            with atomic_path(self.file(name)) as tmp, warnings.catch_warnings():
                warnings.filterwarnings("ignore", "The input state dict is empty")  # plain SGD keeps no state
                paddle.save(state, tmp)
        rng = {"epoch": epoch, "python": random.getstate(), "numpy": np.random.get_state(),
               "paddle": paddle.get_rng_state()}
        with atomic_path(self.file(RNG_FILE)) as tmp, open(tmp, "wb") as f:
            pickle.dump(rng, f)
        # Paddle keys optimizer state by generated parameter names (conv2d_4.w_0), which depend on how
        # many layers a process built before; record them so a restore can translate to its own.
        names = parameter_names(model)
        write_text(self.file(STATE_FILE), json.dumps({"epoch": epoch, "step": step, "parameter_names": names,
                                                      "saved": time.strftime("%Y-%m-%d %H:%M:%S")}) + "\n")

    def checkpoint(self):
        """{'epoch': last saved epoch (0-based), 'step': batches trained} or None if none was saved."""
        if not os.path.exists(self.file(STATE_FILE)):
            return None
        with open(self.file(STATE_FILE), encoding="utf-8") as f:
            return json.load(f)

    def restore(self, model, optimizer):
        """Load the last checkpoint into model and optimizer, restore the RNGs, drop later metrics.

        Returns (next epoch, step) to continue from.
        """
        import paddle
        state = self.checkpoint()
        if state is None:
            raise UserError(f"{self.path} has no checkpoint yet (no epoch finished): start a new run instead")
        load_weights(model, self.file(MODEL_FILE))
        saved_to_current = {state["parameter_names"][key]: name for key, name in parameter_names(model).items()}
        optimizer.set_state_dict(_rename_state(paddle.load(self.file(OPTIMIZER_FILE)), saved_to_current))
        with open(self.file(RNG_FILE), "rb") as f:
            rng = pickle.load(f)
        random.setstate(rng["python"])
        np.random.set_state(rng["numpy"])
        paddle.set_rng_state(rng["paddle"])
        if self.writes:  # forget what an interrupted epoch (or a final eval) logged after the checkpoint
            with open(self.file(METRICS), encoding="utf-8") as f:
                kept = [line for line in f if json.loads(line).get("epoch", state["epoch"] + 1) <= state["epoch"]]
            write_text(self.file(METRICS), "".join(kept))
        return state["epoch"] + 1, state["step"]


def parameter_names(model):
    """{structured key: Paddle's generated name}; state_dict keys are the same with or without DataParallel."""
    return {key: tensor.name for key, tensor in model.state_dict().items()}


def _rename_state(state, renames):
    """Optimizer state keys are '<parameter name>_<accumulator>_0': swap in each parameter's new name."""
    renamed = {}
    for key, value in state.items():
        old = max((name for name in renames if key.startswith(name + "_")), key=len, default=None)
        renamed[renames[old] + key[len(old):] if old else key] = value
    return renamed


def visualdl_log_writer():
    """VisualDL's LogWriter class; VisualDL is optional, so say how to get it when it is missing."""
    try:
        from visualdl import LogWriter
    except ImportError:
        raise UserError("--visualdl needs the optional visualdl package: pip install visualdl") from None
    return LogWriter


def new_run_path(root, name):
    return os.path.join(root, time.strftime("%Y%m%d-%H%M%S") + "-" + name)


def load_weights(model, path):
    """Load a .pdparams file into `model`, with a clear error when it does not fit."""
    import paddle
    if not os.path.exists(path):
        raise UserError(f"checkpoint {path} not found: pass a run folder or .pdparams file that train.py wrote")
    try:
        state = paddle.load(path)
    except Exception as e:  # paddle raises a variety of errors for files it cannot read
        raise UserError(f"{path} is not a Paddle checkpoint ({type(e).__name__}): pass a .pdparams file") from None
    expected = {k: list(v.shape) for k, v in model.state_dict().items()}
    found = {k: list(v.shape) for k, v in state.items()} if isinstance(state, dict) else {}
    if expected != found:
        raise UserError(f"{path} does not fit the {type(model).__name__} model "
                        f"({_describe_mismatch(expected, found)}): pick the --model it was trained with")
    model.set_state_dict(state)
    return model


def _describe_mismatch(expected, found):
    if not found:
        return "it holds no parameters"
    for key in expected:
        if key not in found:
            return f"it has no {key}"
        if expected[key] != found[key]:
            return f"{key} is {found[key]}, the model needs {expected[key]}"
    extra = next(k for k in found if k not in expected)
    return f"it has an extra parameter {extra}"
