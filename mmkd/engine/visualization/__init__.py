from .tensorboard import OptionalTensorboardVisBackend, tensorboard_available

__all__ = ['OptionalTensorboardVisBackend', 'tensorboard_available']
