"""A matplotlib backend for the sandbox: draws with Agg, and `plt.show()` (or the end of the
run) saves every open figure as a PNG in the working folder, for the chat to attach."""

import atexit

from matplotlib.backend_bases import FigureManagerBase
from matplotlib.backends.backend_agg import FigureCanvasAgg

FigureCanvas = FigureCanvasAgg
FigureManager = FigureManagerBase
_saved = [0]


def show(*args, **kwargs):
    import matplotlib.pyplot as plt

    for number in plt.get_fignums():
        _saved[0] += 1
        plt.figure(number).savefig(f"/work/figure_{_saved[0]}.png")
    plt.close("all")


atexit.register(show)
