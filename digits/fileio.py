"""Atomic file writes: a reader never sees a half-written file, and a failed write leaves the old one."""
import contextlib
import os
import tempfile

_UMASK = os.umask(0)
os.umask(_UMASK)


@contextlib.contextmanager
def atomic_path(path):
    """Yield a temporary path next to `path`; on success it is renamed over `path`, on error removed.

    The temporary file is flushed to disk before the rename, and the rename itself after it, so a
    power cut leaves either the old file or the complete new one, never a renamed but empty file.
    """
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=temp_prefix(path), suffix=".tmp")
    os.close(fd)
    os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes the file private; give it the usual permissions
    try:
        yield tmp
        _fsync(tmp, os.O_RDWR)  # Windows syncs only a file opened for writing
        os.replace(tmp, path)
        fsync_dir(directory)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def temp_prefix(path):
    """How atomic_path's temporary files for `path` begin: a killed writer's leftovers can be found by it."""
    return "." + os.path.basename(path) + "."


def fsync_dir(path):
    """Make a rename or a new file in the folder `path` durable, where the system can."""
    _fsync(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0), optional=True)


def _fsync(path, flags, optional=False):
    # Windows cannot open a directory, and some file systems refuse to sync one: the rename is then
    # as durable as the system makes it, which is no reason to fail the write.
    try:
        fd = os.open(path, flags)
    except OSError:
        if optional:
            return
        raise
    try:
        os.fsync(fd)
    except OSError:
        if not optional:
            raise
    finally:
        os.close(fd)


def write_text(path, text):
    with atomic_path(path) as tmp:
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)
