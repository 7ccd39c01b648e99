"""Keeping what modules give inside a model's own ``loss()``: forward hooks registered once,
at build time, that store only while a step asks for it.

    self.capture = Capture()
    self.capture.keep(self.student.neck, 's_neck')           # in __init__, once
    with self.capture() as out:                              # in the step
        losses = self.student.loss(inputs, data_samples)
    out['s_neck']                                            # still there after the block

Outside a ``with`` the hooks store nothing (evaluation, export, the visualisation's forwards).
"""
from contextlib import contextmanager


def output(args, out):
    """What a forward hook keeps by default: the module's output."""
    return out


def first_input(args, out):
    """What a pre-hook keeps: the module's first positional input."""
    return args[0]


class Capture:
    """Forward hooks that keep ``{key: value}`` while a step captures (see the module)."""

    def __init__(self):
        self.active = None
        self.out = {}

    def keep(self, module, key, take=output, pre=False, when=None, many=False):
        """Registers a hook on ``module`` that keeps ``take(args, output)`` as ``key`` while
        capturing (``pre=True``: before the module runs, ``take(args, None)``); ``when(tag)``
        narrows it to the captures of some tags (mutual learning: one member's); ``many=True``
        keeps a list, one item per call (a head's layer, called once per level)."""
        def hook(mod, args, out=None):
            if self.active is not None and (when is None or when(self.active)):
                value = take(args, out)
                if many:
                    self.out.setdefault(key, []).append(value)
                else:
                    self.out[key] = value
        if pre:
            module.register_forward_pre_hook(hook)
        else:
            module.register_forward_hook(hook)

    def store(self, key, value, when=None):
        """Keeps ``value`` as ``key`` while capturing (for code that wraps a method rather than
        hooking a module)."""
        if self.active is not None and (when is None or when(self.active)):
            self.out[key] = value

    @contextmanager
    def __call__(self, tag=True):
        """Captures inside the block; yields the dict the hooks fill, which stays the caller's
        after the block. Blocks nest: an inner block fills its own dict, and the outer one
        captures again after it."""
        outer = self.active, self.out
        out = {}
        self.active, self.out = tag, out
        try:
            yield out
        finally:
            self.active, self.out = outer
