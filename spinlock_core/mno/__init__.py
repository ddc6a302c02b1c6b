"""Training and validation of the MNO (the θ-conditioned one-step backbone).

* :mod:`.loop`: the one rollout and truncated-BPTT loop every caller rolls a backbone out with;
* :mod:`.train`: the ``mno`` stage (optimizer, schedule, checkpoints, resume, DDP);
* :mod:`.data`: where its (θ, u0, targets) come from (stored trajectories or the operator);
* :mod:`.evaluate`: its rollout errors per horizon against baselines, and figures;
* :mod:`.validate`: the ``validate`` stage (the MNO vs the operator on fresh θ), with
  :mod:`.validate_metrics` (distribution distances, token statistics) and
  :mod:`.validate_report` (its Markdown and figures).

The stage specs stay in :mod:`spinlock_core.stages` with the others; this package builds on the
generic stage machinery there (``stages.build``, ``stages.features``) and never on the report.
Importing it is light: torch and matplotlib load on use.
"""
