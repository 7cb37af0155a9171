"""Where the course's data file is looked for, in order: the file MNIST_JSON names; work/mnist.json.gz in the
project, then under the current folder and under the home folder (the course's own ./work/mnist.json.gz, as
AI Studio keeps it in ~/work); data/data<id>/mnist.json.gz, where AI Studio mounts a project's datasets
(/home/aistudio/data/data<id>/), under the current folder, the project and the home folder.

digits.data reads the file found; digits.prepare builds it where none is found.
"""
import glob
import os

from . import PROJECT_ROOT
from .errors import UserError

FILE_NAME = "mnist.json.gz"

_announced = set()  # AI Studio files already named in this process's output


def project_datafile():
    """work/mnist.json.gz in the project: where the course keeps its file and prepare builds it."""
    return os.path.join(PROJECT_ROOT, "work", FILE_NAME)


def user_cache_folder():
    """The project's folder in the user's cache (XDG_CACHE_HOME, else ~/.cache): for what cannot be written
    beside a read-only data file, and for the tests' MNIST download."""
    return os.path.join(os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"),
                        "paddle-digits")


def default_idx_folder():
    """work/mnist-idx in the project: where prepare downloads the four IDX files for the project's file,
    and where the labs that read them look by default (wherever the course file itself was found)."""
    return os.path.join(PROJECT_ROOT, "work", "mnist-idx")


def distinct(folders):
    """The folders without repeats (the same folder by another path counts once), in order."""
    kept = []
    for folder in folders:
        if os.path.realpath(folder) not in map(os.path.realpath, kept):
            kept.append(folder)
    return kept


def current_folder():
    try:
        return [os.getcwd()]
    except FileNotFoundError:  # the current folder was deleted
        return []


def aistudio_folders():
    """The folders under which AI Studio's data/data<id>/ folders are looked for, in order: the current
    folder, the project and the home folder (AI Studio's home is /home/aistudio), without repeats."""
    return distinct([*current_folder(), PROJECT_ROOT, os.path.expanduser("~")])


def course_places():
    """Where the course keeps its file, in the order looked at: work/mnist.json.gz in the project, then
    ./work/mnist.json.gz under the current folder and under the home folder (AI Studio keeps ~/work)."""
    folders = distinct([PROJECT_ROOT, *current_folder(), os.path.expanduser("~")])
    return [os.path.join(folder, "work", FILE_NAME) for folder in folders]


def aistudio_datafiles():
    """Every data/data<id>/mnist.json.gz under aistudio_folders(), in a fixed order: by folder, then by
    dataset id (data9 before data10), so the same one comes first on every run."""
    def dataset_order(path):
        name = os.path.basename(os.path.dirname(path))[len("data"):]
        return (int(name), "") if name.isdigit() else (float("inf"), name)

    found = []
    for folder in aistudio_folders():
        for path in sorted(glob.glob(os.path.join(folder, "data", "data*", FILE_NAME)), key=dataset_order):
            if os.path.isfile(path) and os.path.realpath(path) not in map(os.path.realpath, found):
                found.append(path)
    return found


def looked_for():
    """Where find_datafile looks, for messages."""
    return (", ".join(course_places()) + f", or data/data*/{FILE_NAME} (AI Studio's dataset folders) under "
            + ", ".join(aistudio_folders()))


def find_datafile(required=False):
    """The course file to use: the one MNIST_JSON names, else the first of course_places() that exists
    (named in the output when it is not the project's), else the first of aistudio_datafiles() (named, with
    the others found). When there is none: work/mnist.json.gz in the project, the place to build it, or
    with `required` a UserError naming where it looked."""
    if os.environ.get("MNIST_JSON"):
        return os.environ["MNIST_JSON"]
    for place in course_places():
        if os.path.isfile(place):
            if place != project_datafile() and place not in _announced:
                _announced.add(place)
                print(f"using {place}, the course file in the course's place (./work/)")
            return place
    mounted = aistudio_datafiles()
    if mounted:
        if mounted[0] not in _announced:
            _announced.add(mounted[0])
            others = f" (also found: {', '.join(mounted[1:])}; set MNIST_JSON to use another)" if mounted[1:] else ""
            print(f"using {mounted[0]}, the course file from AI Studio's datasets{others}")
        return mounted[0]
    if required:
        raise UserError(f"no course file found: looked for MNIST_JSON (not set), {looked_for()}. Build it with "
                        f"`python -m digits.prepare --source DIR` (or `python train.py`, which builds it), or "
                        f"point MNIST_JSON at your copy")
    return project_datafile()


def default_datafile():
    """The course file to use, or where to build it: see find_datafile."""
    return find_datafile()
