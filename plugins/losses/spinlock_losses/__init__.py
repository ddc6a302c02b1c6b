"""spinlock's shipped ``mno`` losses (``spinlock.losses`` entry points).

* ``traj``: MSE on normalised fields with per-step weights;
* ``ic``: extra weight on the first predicted steps, where errors start to compound;
* ``commit`` and ``latent``: behavioural alignment through the run's frozen tokenizer.
"""
