from .seg_discriminator import SegDiscriminator

__all__ = ['SegDiscriminator']
