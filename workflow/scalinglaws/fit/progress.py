"""What a long fit shows while it runs (the Chinchilla table takes a minute and more).

On a terminal: one status line, rewritten in place, that names the group, the law and what is
being done (the fit, bootstrap replicate i of N, the backtest), and is cleared at the end. In a
log (stderr not a terminal) nothing: a workflow's log gets what the fit prints when it is done,
not thousands of progress lines. Off unless a command turns it on (`scalinglaws fit` does), so a
study's fit and the tests stay silent.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable, Iterator

MIN_INTERVAL = 0.1  # seconds between two redraws of the line


class Progress:
    """The status line of a fit: `group`, then `law`, then `stage` or `replicates`."""

    def __init__(self, stream=None, enabled: bool = False):
        self.stream, self.enabled = stream, enabled
        self.where, self.what, self.last = "", "", 0.0

    def start(self, stream=None) -> None:
        """Show progress on `stream` (default stderr) when it is a terminal."""
        self.stream = stream or sys.stderr
        self.enabled = bool(getattr(self.stream, "isatty", lambda: False)())

    def stop(self) -> None:
        if self.enabled:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
        self.enabled = False

    def group(self, index: int, count: int, key: str) -> None:
        self.where, self.what = (f"group {index}/{count} ({key})" if count > 1 else ""), ""
        self._show("", force=True)

    def law(self, name: str, stage: str = "fit") -> None:
        self.what = name
        self._show(stage, force=True)

    def stage(self, stage: str) -> None:
        self._show(stage, force=True)

    def replicates(self, draws: Iterable, total: int) -> Iterator:
        """The draws, each counted as a bootstrap replicate as it is taken."""
        for i, draw in enumerate(draws, 1):
            self._show(f"bootstrap {i}/{total}")
            yield draw

    def _show(self, stage: str, force: bool = False) -> None:
        if not self.enabled or (not force and time.monotonic() - self.last < MIN_INTERVAL):
            return
        self.last = time.monotonic()
        text = ": ".join(p for p in ("scalinglaws fit", self.where, self.what, stage) if p)
        self.stream.write(f"\r{text}\x1b[K")
        self.stream.flush()


PROGRESS = Progress()
