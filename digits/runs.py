"""A run folder: config.json, metrics.jsonl, checkpoints and plots.

A checkpoint is written after every epoch and holds everything needed to continue exactly where the
run stopped: weights, optimizer state (with its learning-rate schedule), the epoch and step, and the
random-number generators' states (the loader's shuffle and Paddle's dropout). It is one unit: its files
are written into a new hidden folder, each fsynced, with manifest.json last (each file's size and
SHA-256), and the folder is then renamed to checkpoints/epoch-NNNN in one step. A kill or a full disk
at any moment leaves either the whole new checkpoint or none of it; a damaged one fails its manifest
check and the one before it is used. The two newest are kept.
"""
import hashlib
import json
import os
import pickle
import random
import shutil
import tempfile
import time
import warnings

import numpy as np

try:
    import fcntl
except ImportError:  # Windows: no advisory locks, so a run folder is not guarded against a second writer
    fcntl = None

from .errors import UserError
from .fileio import fsync_dir, write_text

CONFIG, METRICS, LOCK = "config.json", "metrics.jsonl", ".lock"
CHECKPOINTS, MANIFEST, KEEP = "checkpoints", "manifest.json", 2
MODEL_FILE, OPTIMIZER_FILE, RNG_FILE, STATE_FILE = "model.pdparams", "model.pdopt", "rng.pkl", "checkpoint.json"


class Run:
    """A run folder. In a data-parallel run only rank 0 writes; the other ranks get writes=False."""

    def __init__(self, path, writes=True, scalars=None):
        self.path, self.writes, self.scalars, self._lock = path, writes, scalars, None

    @classmethod
    def create(cls, path, config, writes=True, visualdl=False):
        """Start a new run folder; refuse one that already holds a run or other files, so nothing is mixed."""
        run = cls(path, writes)
        if writes:  # other ranks of a data-parallel run would see the folder rank 0 has just made
            if os.path.exists(os.path.join(path, CONFIG)):
                raise UserError(f"{path} already holds a run: choose another --out, or continue it with --resume {path}")
            if os.path.exists(path) and not os.path.isdir(path):
                raise UserError(f"--out {path} is a file: name a new folder for the run")
            if os.path.isdir(path) and os.listdir(path):
                raise UserError(f"--out {path} is a folder with other files in it: name a new or empty folder")
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

    def update_config(self, changes):
        """Record settings a resume changed (a longer --epochs), so config.json tells what the run did."""
        if self.writes and any(self.config.get(k) != v for k, v in changes.items()):
            write_text(self.file(CONFIG), json.dumps({**self.config, **changes}, indent=2) + "\n")

    def lock(self):
        """Hold this folder while training in it: a second process (a --resume of a run still training)
        is refused instead of appending to the same files. The OS frees the lock if the process dies."""
        if not self.writes or fcntl is None:
            return
        handle = open(self.file(LOCK), "a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            owner = handle.read().strip() or "another process"
            handle.close()
            raise UserError(f"{self.path} is being trained by {owner}: wait for it to finish, or stop it "
                            f"and then --resume {self.path}") from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"process {os.getpid()}\n")
        handle.flush()
        self._lock = handle

    def unlock(self):
        if self._lock:
            self._lock.close()
            self._lock = None

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

    def _read_metrics(self):
        """Every complete record of metrics.jsonl; a last line torn by a kill mid-write is left out."""
        if not os.path.exists(self.file(METRICS)):
            return []
        records = []
        with open(self.file(METRICS), encoding="utf-8") as f:
            for line in f:
                try:
                    records.append(json.loads(line))
                except json.JSONDecodeError:
                    if line.endswith("\n"):  # a damaged line in the middle is not a torn write: say so
                        raise UserError(f"{self.file(METRICS)} has a damaged line: {line[:60]!r}") from None
        return records

    def records(self, kind):
        """The logged records of one kind: 'batch' (every log interval), 'epoch' (summaries) or 'eval'."""
        return [r for r in self._read_metrics() if r["kind"] == kind]

    # checkpoints ---------------------------------------------------------------------------------------

    def save_checkpoint(self, model, optimizer, epoch, step):
        """Write the whole training state as one unit (see the module's docstring)."""
        rng = random_state()  # on every rank, so that every rank's random stream goes on as it would unsaved
        if not self.writes:
            return
        import paddle
        folder = self.file(CHECKPOINTS)
        os.makedirs(folder, exist_ok=True)
        staging = tempfile.mkdtemp(dir=folder, prefix=".incoming-")
        try:
            for name, state in ((MODEL_FILE, model.state_dict()), (OPTIMIZER_FILE, optimizer.state_dict())):
                with warnings.catch_warnings():
                    warnings.filterwarnings("ignore", "The input state dict is empty")  # plain SGD keeps no state
                    paddle.save(state, os.path.join(staging, name))
            with open(os.path.join(staging, RNG_FILE), "wb") as f:
                pickle.dump({"epoch": epoch, **rng}, f)
            # Paddle keys optimizer state by generated parameter names (conv2d_4.w_0), which depend on how
            # many layers a process built before; record them so a restore can translate to its own.
            with open(os.path.join(staging, STATE_FILE), "w", encoding="utf-8") as f:
                json.dump({"epoch": epoch, "step": step, "parameter_names": parameter_names(model),
                           "saved": time.strftime("%Y-%m-%d %H:%M:%S"), "paddle": paddle.__version__}, f)
            files = {name: _describe_file(os.path.join(staging, name))
                     for name in (MODEL_FILE, OPTIMIZER_FILE, RNG_FILE, STATE_FILE)}
            with open(os.path.join(staging, MANIFEST), "w", encoding="utf-8") as f:
                json.dump({"epoch": epoch, "files": files}, f)
                f.flush()
                os.fsync(f.fileno())
            fsync_dir(staging)
            target = os.path.join(folder, f"epoch-{epoch:04d}")
            if os.path.exists(target):  # the same epoch again (a resume that fell back): the new copy wins
                shutil.rmtree(target)
            os.rename(staging, target)
            fsync_dir(folder)
        except OSError as error:  # a full disk, say: the staging folder goes, the last checkpoint stays
            saved = self.checkpoint()
            kept = f"the checkpoint of epoch {saved['epoch']} is kept" if saved else "no earlier checkpoint exists"
            raise UserError(f"could not write the checkpoint of epoch {epoch} in {self.path} ({error.strerror or error}): "
                            f"free some space, then --resume {self.path}; {kept}") from None
        finally:
            if os.path.exists(staging):
                shutil.rmtree(staging)
        for old in self._checkpoint_folders()[:-KEEP]:
            shutil.rmtree(old)

    def _checkpoint_folders(self):
        """Complete checkpoint folders (renamed into place), oldest first; staging folders are left out."""
        folder = self.file(CHECKPOINTS)
        if not os.path.isdir(folder):
            return []
        return [os.path.join(folder, name) for name in sorted(os.listdir(folder)) if name.startswith("epoch-")]

    def _latest_good(self):
        """(folder, state) of the newest checkpoint whose files match its manifest; warn about damaged ones."""
        for folder in reversed(self._checkpoint_folders()):
            problem = _verify(folder)
            if problem is None:
                with open(os.path.join(folder, STATE_FILE), encoding="utf-8") as f:
                    return folder, json.load(f)
            print(f"warning: checkpoint {folder} is damaged ({problem}); using the one before it")
        return None, None

    def checkpoint(self):
        """{'epoch': last saved epoch (0-based), 'step': batches trained, ...} or None if none was saved."""
        return self._latest_good()[1]

    def model_file(self):
        """The weights of the newest good checkpoint (what eval.py and the labs load)."""
        folder, _ = self._latest_good()
        if folder is None:
            raise UserError(f"{self.path} has no complete checkpoint (no epoch finished): train it first")
        return os.path.join(folder, MODEL_FILE)

    def restore(self, model, optimizer):
        """Load the newest good checkpoint into model and optimizer, restore the RNGs, drop later metrics.

        Returns (next epoch, step) to continue from: (0, 0) when no epoch had finished.
        """
        import paddle
        folder, state = self._latest_good()
        last_epoch = state["epoch"] if state else -1
        if state:
            load_weights(model, os.path.join(folder, MODEL_FILE))
            saved_to_current = {state["parameter_names"][key]: name for key, name in parameter_names(model).items()}
            optimizer.set_state_dict(_rename_state(paddle.load(os.path.join(folder, OPTIMIZER_FILE)), saved_to_current))
            try:
                with open(os.path.join(folder, RNG_FILE), "rb") as f:
                    rng = pickle.load(f)
                paddle.set_rng_state(rng["paddle"])
            except RuntimeError:  # Paddle 2.6 cannot read the random state Paddle 3 pickles (digits.compat)
                saved_by = f"Paddle {state['paddle']}" if "paddle" in state else "a newer Paddle"
                raise UserError(f"{self.path}: its checkpoint's random state was written by {saved_by}, which "
                                f"Paddle {paddle.__version__} cannot read: resume it with {saved_by}") from None
            random.setstate(rng["python"])
            np.random.set_state(rng["numpy"])
        if self.writes:  # forget what an interrupted epoch (or a final eval) logged after the checkpoint
            kept = [r for r in self._read_metrics() if r.get("epoch", last_epoch + 1) <= last_epoch]
            write_text(self.file(METRICS), "".join(json.dumps(r) + "\n" for r in kept))
        return last_epoch + 1, state["step"] if state else 0


def random_state():
    """Python's, NumPy's and Paddle's random states, as a checkpoint pickles them.

    Paddle 2.6 pickles its CPU generator without the generator's place in its stream (digits.compat), so
    there the generator is first reseeded with a number drawn from its own stream: its whole state is then
    that seed, which pickles. Every run does this at every checkpoint, so a resumed run draws exactly what
    the uninterrupted one draws.
    """
    import paddle

    from . import compat
    if not compat.RNG_STATE_PICKLES_POSITION:
        generator = paddle.base.core.default_cpu_generator()
        generator.manual_seed(generator.random())
    return {"python": random.getstate(), "numpy": np.random.get_state(), "paddle": paddle.get_rng_state()}


def _describe_file(path):
    with open(path, "rb") as f:
        os.fsync(f.fileno())
        return {"bytes": os.path.getsize(path), "sha256": hashlib.sha256(f.read()).hexdigest()}


def _verify(folder):
    """None if every file of the checkpoint matches its manifest, else what is wrong."""
    try:
        with open(os.path.join(folder, MANIFEST), encoding="utf-8") as f:
            files = json.load(f)["files"]
        for name, expected in files.items():
            path = os.path.join(folder, name)
            if not os.path.exists(path):
                return f"{name} is missing"
            with open(path, "rb") as f:
                if os.path.getsize(path) != expected["bytes"] or hashlib.sha256(f.read()).hexdigest() != expected["sha256"]:
                    return f"{name} does not match its manifest"
    except (OSError, ValueError, KeyError, TypeError):
        return f"{MANIFEST} is missing or unreadable"
    return None


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
