"""Shared by the teaching examples: matplotlib on its file-only backend, and where PNGs go.

Plots are optional: when matplotlib is missing the examples still run and print their numbers.
No window is ever opened (the Agg backend only writes files), so examples run the same on a
laptop, over ssh and in CI.
"""
import os

OUT_DIR = "examples-out"


def pyplot():
    """``matplotlib.pyplot`` on the Agg backend, or None (after saying how to get it)."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print('  (matplotlib not installed, so no plot: pip install -e ".[demo]")')
        return None
    return plt


def save(figure, name):
    """Write ``figure`` to examples-out/NAME (made if needed), close it, and return the path."""
    os.makedirs(OUT_DIR, exist_ok=True)
    path = os.path.join(OUT_DIR, name)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    import matplotlib.pyplot as plt
    plt.close(figure)
    print(f"wrote {path}")
    return path
