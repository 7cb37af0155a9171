"""A run folder: config.json, metrics.jsonl, checkpoints and plots.

A checkpoint is written after every epoch and holds everything needed to continue exactly where the
run stopped: weights, optimizer state (with its learning-rate schedule), the epoch and step, and the
random-number generators' states (the loader's shuffle and Paddle's dropout). It is one unit: its files
are written into a new hidden folder, each fsynced, with manifest.json last (each file's size and
SHA-256), and the folder is then renamed to checkpoints/epoch-NNNN in one step. A kill or a full disk
at any moment leaves either the whole new checkpoint or none of it; a damaged one fails its manifest
check and the one before it is used. The two newest are kept.

Every file of a run folder is plain data that loading cannot execute code from: arrays in .npz archives
read with numpy.load(allow_pickle=False), everything else JSON. A run folder is something students share
("my trained model"); paddle.save's files are pickles, and unpickling a file runs whatever code it names
(lab 08 teaches paddle.save/paddle.load as the course does, and says why runs are stored this way).
"""
import hashlib
import json
import os
import random
import shutil
import tempfile
import time
import warnings
import zipfile

import numpy as np

try:
    import fcntl
except ImportError:  # Windows: no advisory locks, so a run folder is not guarded against a second writer
    fcntl = None

from .errors import UserError
from .fileio import atomic_path, fsync_dir, write_text

CONFIG, METRICS, LOCK = "config.json", "metrics.jsonl", ".lock"
CHECKPOINTS, MANIFEST, KEEP = "checkpoints", "manifest.json", 2
MODEL_FILE, OPTIMIZER_FILE, RNG_FILE, STATE_FILE = "model.npz", "optimizer.npz", "rng.json", "checkpoint.json"
WEIGHTS_FILE = MODEL_FILE  # a model folder (pretrained/): config.json and this, no checkpoints
PICKLED = ("model.pdparams", "model.pdopt", "rng.pkl")  # what checkpoints held before this format: never opened
FORMAT = 2  # checkpoint.json's "format": 2 is this plain-data layout


def after_checkpoint_step(name):
    """Called after each step of a checkpoint write (each file, the manifest, the rename): nothing here;
    bench/crash_matrix.py kills the process at one of them to test that a resume is still exact."""


class Run:
    """A run folder. In a data-parallel run only rank 0 writes; the other ranks get writes=False."""

    def __init__(self, path, writes=True, scalars=None):
        self.path, self.writes, self.scalars, self._lock = path, writes, scalars, None

    @classmethod
    def create(cls, path, config, writes=True, visualdl=False):
        """Start a new run folder, holding its lock (see lock()) from before config.json is written: of two
        processes given the same --out at the same moment, one trains and the other is refused; a folder that
        already holds a run or other files is refused, so nothing is mixed."""
        run = cls(path, writes)
        if writes:  # other ranks of a data-parallel run would see the folder rank 0 has just made
            if os.path.exists(path) and not os.path.isdir(path):
                raise UserError(f"--out {path} is a file: name a new folder for the run")
            if os.path.isdir(path) and set(os.listdir(path)) - {LOCK}:
                if os.path.exists(os.path.join(path, CONFIG)):
                    raise UserError(f"{path} already holds a run: choose another --out, or continue it with "
                                    f"--resume {path}")
                if LOCK not in os.listdir(path):  # a folder of the user's; with a lock, a run may be starting in it
                    raise UserError(f"--out {path} is a folder with other files in it: name a new or empty folder")
            log_writer = visualdl_log_writer() if visualdl else None  # fail before anything is written
            try:
                os.makedirs(path, exist_ok=True)
            except OSError as error:  # a read-only parent, a file on the way
                raise UserError(f"cannot create the run folder {path} ({error.strerror or error}): name a folder "
                                f"you can write, with --out") from None
            run.lock()
            if os.path.exists(os.path.join(path, CONFIG)):  # another process created the run while we waited
                run.unlock()
                raise UserError(f"{path} already holds a run: choose another --out, or continue it with --resume {path}")
            if set(os.listdir(path)) - {LOCK}:  # left by a start that died before config.json
                run.unlock()
                raise UserError(f"--out {path} is a folder with other files in it: name a new or empty folder")
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
        """The run's settings (config.json); a file that is no JSON object is one line, not a traceback."""
        config = _read_json(self.file(CONFIG))
        if not isinstance(config, dict) or not isinstance(config.get("model"), str):
            raise UserError(f"{self.file(CONFIG)} is damaged or not a run's settings (it should be the JSON that "
                            f"train.py wrote): pass a run folder that train.py wrote")
        return config

    def update_config(self, changes):
        """Record settings a resume changed (a longer --epochs), so config.json tells what the run did."""
        if self.writes and any(self.config.get(k) != v for k, v in changes.items()):
            write_text(self.file(CONFIG), json.dumps({**self.config, **changes}, indent=2) + "\n")

    def lock(self):
        """Hold this folder while training in it: a second process (a --resume of a run still training)
        is refused instead of appending to the same files. The OS frees the lock if the process dies."""
        if not self.writes or fcntl is None:
            return
        try:
            handle = open(self.file(LOCK), "a+")
        except OSError as error:  # a read-only run folder
            raise UserError(f"cannot write in {self.path} ({error.strerror or error}): training needs a run folder "
                            f"it can write") from None
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            owner = handle.read().strip() or "another process"
            handle.close()
            raise UserError(f"{self.path} is being trained by {owner}: wait for it to finish, or stop it "
                            f"and then --resume {self.path}") from None
        try:
            handle.seek(0)
            handle.truncate()
            handle.write(f"process {os.getpid()}\n")
            handle.flush()
        except OSError as error:  # a full disk: the lock is held, only its note of who holds it is missing
            print(f"warning: could not note this process in {self.file(LOCK)} ({error.strerror or error})")
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
        try:
            with open(self.file(METRICS), "a", encoding="utf-8") as f:
                f.write(json.dumps(record) + "\n")
        except OSError as error:  # a full disk: the last checkpoint is there to resume from
            saved = self.checkpoint()
            kept = f"the checkpoint of epoch {saved['epoch']} is kept" if saved else "no epoch had finished yet"
            raise UserError(f"could not write {self.file(METRICS)} ({error.strerror or error}): free some space, "
                            f"then --resume {self.path}; {kept}") from None
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
            save_arrays(os.path.join(staging, MODEL_FILE), state_arrays(model.state_dict()))
            after_checkpoint_step(MODEL_FILE)
            optimizer_state = optimizer.state_dict()
            save_arrays(os.path.join(staging, OPTIMIZER_FILE), state_arrays(optimizer_state))
            after_checkpoint_step(OPTIMIZER_FILE)
            _write_json(os.path.join(staging, RNG_FILE), {"epoch": epoch, **rng})
            after_checkpoint_step(RNG_FILE)
            # Paddle keys optimizer state by generated parameter names (conv2d_4.w_0), which depend on how
            # many layers a process built before; record them so a restore can translate to its own.
            _write_json(os.path.join(staging, STATE_FILE), {
                "format": FORMAT, "epoch": epoch, "step": step, "parameter_names": parameter_names(model),
                "optimizer_values": {key: value for key, value in optimizer_state.items()  # the LR schedule's
                                     if not hasattr(value, "numpy")},
                "saved": time.strftime("%Y-%m-%d %H:%M:%S"), "paddle": paddle.__version__})
            after_checkpoint_step(STATE_FILE)
            files = {name: _describe_file(os.path.join(staging, name))
                     for name in (MODEL_FILE, OPTIMIZER_FILE, RNG_FILE, STATE_FILE)}
            _write_json(os.path.join(staging, MANIFEST), {"epoch": epoch, "files": files})
            after_checkpoint_step(MANIFEST)
            fsync_dir(staging)
            target = os.path.join(folder, f"epoch-{epoch:04d}")
            if os.path.exists(target):  # the same epoch again (a resume that fell back): the new copy wins
                shutil.rmtree(target)
            os.rename(staging, target)
            after_checkpoint_step("rename")
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
        """(folder, state) of the newest checkpoint whose files match its manifest; warn about damaged ones.
        A checkpoint of the old pickled layout is refused, never opened."""
        for folder in reversed(self._checkpoint_folders()):
            if any(os.path.exists(os.path.join(folder, name)) for name in PICKLED):
                raise UserError(f"{self.path} was written by an earlier version of this project, whose checkpoints "
                                f"are pickles (model.pdparams, rng.pkl): loading one can run any code it holds, so "
                                f"this version does not open them; train the run again (the same flags give the "
                                f"same run)")
            problem = _verify(folder)
            if problem is None:
                state = _read_json(os.path.join(folder, STATE_FILE))
                if isinstance(state, dict) and state.get("format") == FORMAT:
                    return folder, state
                problem = f"{STATE_FILE} is not this project's checkpoint record"
            print(f"warning: checkpoint {folder} is damaged ({problem}); using the one before it")
        return None, None

    def checkpoint(self):
        """{'epoch': last saved epoch (0-based), 'step': batches trained, ...} or None if none was saved."""
        return self._latest_good()[1]

    def model_file(self):
        """The weights of the newest good checkpoint (what eval.py and the labs load); in a model folder
        (config.json and model.npz, as pretrained/ holds), that file."""
        if os.path.isfile(self.file(WEIGHTS_FILE)):
            return self.file(WEIGHTS_FILE)
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
            saved = {key: paddle.to_tensor(value) for key, value in read_weights(os.path.join(folder, OPTIMIZER_FILE)).items()}
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", "The input state dict is empty")  # plain SGD keeps no state
                optimizer.set_state_dict(_rename_state({**saved, **state.get("optimizer_values", {})}, saved_to_current))
            rng = _read_json(os.path.join(folder, RNG_FILE))
            if not (isinstance(rng, dict) and {"python", "numpy", "paddle"} <= set(rng)):
                raise UserError(f"{folder}/{RNG_FILE} is not a random state this project wrote: train the run again")
            set_random_state(rng, self.path, state)
        if self.writes:  # forget what an interrupted epoch (or a final eval) logged after the checkpoint
            kept = [r for r in self._read_metrics() if r.get("epoch", last_epoch + 1) <= last_epoch]
            write_text(self.file(METRICS), "".join(json.dumps(r) + "\n" for r in kept))
        return last_epoch + 1, state["step"] if state else 0


def random_state():
    """Python's, NumPy's and Paddle's random states as plain values (lists and numbers: JSON).

    Paddle 2.6 keeps its CPU generator's state without the generator's place in its stream (digits.compat),
    so there the generator is first reseeded with a number drawn from its own stream: its whole state is then
    that seed. Every run does this at every checkpoint, so a resumed run draws exactly what the uninterrupted
    one draws.
    """
    import paddle

    from . import compat
    if not compat.RNG_STATE_PICKLES_POSITION:
        generator = paddle.base.core.default_cpu_generator()
        generator.manual_seed(generator.random())
    version, internal, gauss = random.getstate()
    name, keys, position, has_gauss, cached = np.random.get_state()
    return {"python": [version, list(internal), gauss],
            "numpy": [name, keys.tolist(), int(position), int(has_gauss), float(cached)],
            "paddle": [list(generator_state.__getstate__()) for generator_state in paddle.get_rng_state()]}


def set_random_state(rng, run, checkpoint):
    """Restore what random_state() recorded; a state another Paddle wrote that this one cannot take, or values
    that are no random state at all, are one line."""
    import paddle
    try:
        paddle.set_rng_state(generator_states(rng["paddle"]))
    except (RuntimeError, TypeError, ValueError, IndexError):
        saved_by = f"Paddle {checkpoint['paddle']}" if "paddle" in checkpoint else "another Paddle"
        raise UserError(f"{run}: its checkpoint's random state was written by {saved_by}, which Paddle "
                        f"{paddle.__version__} cannot read: resume it with {saved_by}") from None
    try:
        version, internal, gauss = rng["python"]
        name, keys, position, has_gauss, cached = rng["numpy"]
        random.setstate((version, tuple(internal), gauss))
        np.random.set_state((name, np.array(keys, dtype=np.uint32), position, has_gauss, cached))
    except (TypeError, ValueError, OverflowError):
        raise UserError(f"{run}: its checkpoint's random state is not one this project wrote: train the run "
                        f"again") from None


def generator_states(values):
    """Paddle's generator states from the plain values random_state() recorded: what unpickling them does."""
    from paddle.base.core import GeneratorState
    states = []
    for state_values in values:
        state = GeneratorState.__new__(GeneratorState)
        state.__setstate__(tuple(state_values))
        states.append(state)
    return states


def state_arrays(state):
    """The tensors of a state_dict as NumPy arrays (its other values, an LR schedule's, are left out)."""
    return {key: np.asarray(value.numpy()) for key, value in state.items() if hasattr(value, "numpy")}


def save_arrays(path, arrays):
    """Write {name: array} as an uncompressed .npz, fsynced (a checkpoint's files are complete once written)."""
    with open(path, "wb") as f:
        np.savez(f, **arrays)
        f.flush()
        os.fsync(f.fileno())


def _read_json(path):
    """A JSON file's value, or None when it is no JSON (bytes of anything else, however they got there)."""
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError, RecursionError):
        return None


def _write_json(path, values):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(values, f)
        f.flush()
        os.fsync(f.fileno())


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


def new_run_path(root, name, reserve=False):
    """runs/<date>-<time>-<name>: with `reserve`, the folder is made here, and a name another process took in the
    same second gets -2, -3, ...: runs of a sweep started in parallel never share a folder."""
    stem = os.path.join(root, time.strftime("%Y%m%d-%H%M%S") + "-" + name)
    if not reserve:
        return stem
    os.makedirs(root, exist_ok=True)
    for number in range(1, 1000):
        path = stem if number == 1 else f"{stem}-{number}"
        try:
            os.mkdir(path)
            return path
        except FileExistsError:
            continue
    raise UserError(f"could not find a free run folder name for {stem}: pass --out")


def save_weights(model, path):
    """Write a model's parameters (and batch norm's statistics) as a .npz of plain arrays, in one step: a
    format that loading cannot execute code from (np.load with allow_pickle=False), unlike a pickle."""
    arrays = {key: np.asarray(tensor.numpy()) for key, tensor in model.state_dict().items()}
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        np.savez(f, **arrays)
    return path


def read_weights(path):
    """{name: array} from a .npz written by save_weights; a file that is no such archive is one line."""
    try:
        with np.load(path, allow_pickle=False) as archive:  # an object array (a pickle inside) is refused
            return {key: archive[key] for key in archive.files}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as e:
        raise UserError(f"{path} is not a weights file this project wrote ({type(e).__name__}): pass a run "
                        f"folder that train.py wrote") from None


def load_weights(model, path):
    """Load a .npz of weights (save_weights, a checkpoint's model.npz) into `model`, with a clear error when it
    does not fit. Nothing else is opened: a .pdparams is a pickle, which can run code when loaded."""
    if not os.path.exists(path):
        raise UserError(f"weights {path} not found: pass a run folder that train.py wrote")
    if not path.endswith(".npz"):
        raise UserError(f"{path} is not a weights file of this project (.npz): a .pdparams file is a pickle, "
                        f"which can run code when loaded, so it is not opened here")
    state = read_weights(path)
    expected = {k: list(v.shape) for k, v in model.state_dict().items()}
    found = {k: list(v.shape) for k, v in state.items()}
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
