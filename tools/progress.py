"""Progress lines with the elapsed time and an ETA, for the tools that take minutes.

Whole lines rather than mmengine's carriage-return ProgressBar, so that a log followed with
``tail -f`` or captured by ``tools/demo.py`` reads well.
"""
import sys
import time


def clock(seconds):
    """``m:ss``, or ``h:mm:ss`` from an hour on."""
    minutes, seconds = divmod(int(seconds + 0.5), 60)
    hours, minutes = divmod(minutes, 60)
    return f'{hours}:{minutes:02d}:{seconds:02d}' if hours else f'{minutes}:{seconds:02d}'


class Progress:
    """Counts ``total`` steps and prints ``{prefix} {done}/{total}{note}, elapsed m:ss, ETA
    m:ss`` at the first step, then at most every ``every`` seconds, and at the last step; the
    ETA assumes the remaining steps take as long as the ones done. Prints nothing when
    ``enabled`` is false.

    Example::

        progress = Progress(len(items), '[dataset] images')
        for item in items:
            ...
            progress.update(note=' (train)')
    """

    def __init__(self, total, prefix, *, every=5.0, enabled=True, file=None):
        self.total = total
        self.prefix = prefix
        self.every = every
        self.enabled = enabled
        self.file = file
        self.done = 0
        self.start = time.perf_counter()
        self.shown_at = None

    def update(self, steps=1, note=''):
        self.done += steps
        if not self.enabled:
            return
        now = time.perf_counter()
        if self.shown_at is not None and self.done < self.total and \
                now - self.shown_at < self.every:
            return
        self.shown_at = now
        elapsed = now - self.start
        eta = elapsed / self.done * max(self.total - self.done, 0)
        print(f'{self.prefix} {self.done}/{self.total}{note}, elapsed {clock(elapsed)}, '
              f'ETA {clock(eta)}', file=self.file or sys.stdout, flush=True)
