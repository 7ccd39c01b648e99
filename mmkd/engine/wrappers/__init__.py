from .distributed import KDDistributedDataParallel, average_gradients

__all__ = ['KDDistributedDataParallel', 'average_gradients']
