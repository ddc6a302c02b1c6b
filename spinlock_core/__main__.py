"""``python -m spinlock_core`` (used by ``torchrun -m spinlock_core``)."""

from .cli import main

main()
