"""The reaction-diffusion domain: ``cno`` (random-CNN) and ``gray_scott`` operator families.

Registered through entry points only (``spinlock.domains``, ``spinlock.operators``,
``spinlock.plugins``), exactly as a third-party domain would be.
"""
