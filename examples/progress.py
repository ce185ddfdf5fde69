"""A progress bar for training loops: tqdm when it is installed and output is a terminal, plain
lines otherwise (logs, CI, notebooks without widgets)."""
import sys
import time


class _PlainProgress:
    """tqdm's small interface (iteration, set_postfix, close), printing one line when done."""

    def __init__(self, iterable, desc, stream):
        self.iterable, self.desc, self.stream = iterable, desc, stream
        self.postfix = {}
        self.start = time.perf_counter()

    def __iter__(self):
        return iter(self.iterable)

    def set_postfix(self, **values):
        self.postfix = values

    def close(self):
        if self.stream is None:
            return
        values = " ".join(f"{k}={v:.4f}" if isinstance(v, float) else f"{k}={v}" for k, v in self.postfix.items())
        elapsed = time.perf_counter() - self.start
        took = f"{elapsed:.2f} s" if elapsed >= 1 else f"{elapsed * 1e3:.1f} ms"
        print(f"{self.desc}: {values} ({took})", file=self.stream)


def progress(iterable, desc, enabled=True, stream=None):
    """Wrap ``iterable`` in a progress bar showing the running loss (``bar.set_postfix(loss=...)``)."""
    stream = sys.stdout if stream is None else stream
    if not enabled:
        return _PlainProgress(iterable, desc, None)
    if stream.isatty():
        try:
            from tqdm import tqdm
            return tqdm(iterable, desc=desc, leave=False, file=stream)
        except ImportError:
            pass
    return _PlainProgress(iterable, desc, stream)
