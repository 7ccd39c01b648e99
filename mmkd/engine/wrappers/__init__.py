from mmkd.utils.dist import average_gradients

from .distributed import KDDistributedDataParallel

__all__ = ['KDDistributedDataParallel', 'average_gradients']
