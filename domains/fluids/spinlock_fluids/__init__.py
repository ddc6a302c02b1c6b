"""spinlock-domain-fluids: 2-D incompressible Navier-Stokes (vorticity form) on the unit torus.

A domain package of its own (``pip install ./domains/fluids``), registered only through entry
points (``spinlock.domains: fluids``, ``spinlock.operators: navier_stokes``,
``spinlock.plugins: fluids`` for its config groups), as any third-party domain would be.
Importing the package is light; torch is imported by the modules that compute.
"""

__version__ = "0.1.0"
