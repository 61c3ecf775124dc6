"""Files that other processes may read while they are written: written atomically."""

import contextlib
import os
import tempfile


def atomic_write_text(path, text):
    """Write `text` to `path` so that a reader sees the old file or the whole new one,
    never part of it, even if this process dies (or is interrupted) while writing.

    The text goes to a temporary file in the same folder, is flushed to disk
    (``fsync``) and then renamed over `path` (``os.replace``, atomic on POSIX and
    Windows); the folder is created if needed. Returns `path`.
    """
    path = os.fspath(path)
    folder = os.path.dirname(path) or "."
    os.makedirs(folder, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.",
                                             suffix=".tmp", dir=folder)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(temporary)
        raise
    _sync_folder(folder)
    return path


def _sync_folder(folder):
    """Flush the rename to disk too (POSIX; a no-op where folders cannot be opened)."""
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)
