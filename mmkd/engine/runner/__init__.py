from .mutual_loops import MutualTestLoop, MutualValLoop

__all__ = ['MutualTestLoop', 'MutualValLoop']
