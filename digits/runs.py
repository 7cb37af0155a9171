"""A run folder: config.json, metrics.jsonl, the checkpoint (model.pdparams, model.pdopt) and plots."""
import json
import os
import time
import warnings

from .errors import UserError
from .fileio import atomic_path, write_text

CONFIG, METRICS = "config.json", "metrics.jsonl"
MODEL_FILE, OPTIMIZER_FILE, STATE_FILE = "model.pdparams", "model.pdopt", "checkpoint.json"


class Run:
    def __init__(self, path):
        self.path = path

    @classmethod
    def create(cls, path, config):
        """Start a new run folder; refuse one that already holds a run, so nothing is overwritten."""
        if os.path.exists(os.path.join(path, CONFIG)):
            raise UserError(f"{path} already holds a run: choose another --out (or leave it out for a new folder)")
        os.makedirs(path, exist_ok=True)
        run = cls(path)
        write_text(run.file(CONFIG), json.dumps(config, indent=2) + "\n")
        return run

    @classmethod
    def open(cls, path):
        if not os.path.exists(os.path.join(path, CONFIG)):
            raise UserError(f"{path} is not a run folder (no {CONFIG}): pass a folder that train.py wrote")
        return cls(path)

    def file(self, name):
        return os.path.join(self.path, name)

    @property
    def config(self):
        with open(self.file(CONFIG), encoding="utf-8") as f:
            return json.load(f)

    def log(self, record):
        with open(self.file(METRICS), "a", encoding="utf-8") as f:
            f.write(json.dumps(record) + "\n")

    def records(self, kind):
        """The logged records of one kind: 'batch' (loss every log interval) or 'epoch' (summaries)."""
        if not os.path.exists(self.file(METRICS)):
            return []
        with open(self.file(METRICS), encoding="utf-8") as f:
            return [r for r in map(json.loads, f) if r["kind"] == kind]

    def save_checkpoint(self, model, optimizer, epoch):
        """Save model and optimizer state atomically: a crash mid-save leaves the previous checkpoint."""
        import paddle
        for name, state in ((MODEL_FILE, model.state_dict()), (OPTIMIZER_FILE, optimizer.state_dict())):
            with atomic_path(self.file(name)) as tmp, warnings.catch_warnings():
                warnings.filterwarnings("ignore", "The input state dict is empty")  # plain SGD keeps no state
                paddle.save(state, tmp)
        write_text(self.file(STATE_FILE), json.dumps({"epoch": epoch, "saved": time.strftime("%Y-%m-%d %H:%M:%S")}) + "\n")

    def checkpoint_epoch(self):
        """The last epoch whose checkpoint was saved (0-based), or None."""
        if not os.path.exists(self.file(STATE_FILE)):
            return None
        with open(self.file(STATE_FILE), encoding="utf-8") as f:
            return json.load(f)["epoch"]


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
