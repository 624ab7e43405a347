"""One writer per output folder.

Cron starts a run every few minutes whether or not the last one has finished; two runs
writing the same posts and state at once must never happen. ``DIR/.lock`` is held with an
advisory ``flock`` for the whole run: the kernel releases it when the process dies, however it
dies, so a killed run never leaves a stale lock behind.
"""

from __future__ import annotations

import fcntl
import os
import time
from datetime import datetime, timezone

from crawler.datadir import DataDir


class LockBusy(RuntimeError):
    """Another process holds the folder; the message names it."""


class DataDirLock:
    def __init__(self, data_dir: DataDir) -> None:
        self.path = data_dir.lock
        self._fh = None

    def acquire(self, wait: float = 0) -> None:
        """Take the lock, waiting up to ``wait`` seconds for another run to finish."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fh = open(self.path, "a+")
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    fh.seek(0)
                    holder = fh.read().strip() or "another process"
                    fh.close()
                    raise LockBusy(f"{self.path.parent} is in use by {holder}; "
                                   "try again later or pass --wait SECONDS") from None
                time.sleep(0.2)
        fh.seek(0)
        fh.truncate()
        fh.write(f"pid {os.getpid()} since {datetime.now(timezone.utc):%Y-%m-%d %H:%M:%S} UTC\n")
        fh.flush()
        self._fh = fh

    def release(self) -> None:
        if self._fh is not None:
            self._fh.truncate(0)
            fcntl.flock(self._fh, fcntl.LOCK_UN)
            self._fh.close()
            self._fh = None

    def __enter__(self) -> "DataDirLock":
        return self

    def __exit__(self, *exc) -> None:
        self.release()
