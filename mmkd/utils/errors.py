"""Errors about a name the user wrote (a vocabulary name, a loss type, a term, an optimizer's
part) that is not among the known ones."""
import difflib


class UnknownNameError(KeyError):
    """A name that is not among the known ones. It is a ``KeyError``, so ``except KeyError``
    still catches it, but its message prints as written: ``KeyError`` itself prints the repr of
    its message, quoted and with each newline shown as ``\\n``, which makes a list of known names
    one unreadable line."""

    def __str__(self):
        return str(self.args[0]) if self.args else ''


def did_you_mean(name, known):
    """``" Did you mean 't_neck'?"`` for the known name closest to ``name`` (a misspelling), or
    ``''`` when none is close."""
    close = difflib.get_close_matches(str(name), [str(k) for k in known], n=1, cutoff=0.6)
    return f' Did you mean {close[0]!r}?' if close else ''
