from .seg_discriminator import SegDiscriminator
from .skd_reference import SKDReferenceDiscriminator

__all__ = ['SegDiscriminator', 'SKDReferenceDiscriminator']
