"""The generate stage on the test distribution's toy domain: storage, replay, resume, sharding."""

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from spinlock_core.config import compose
from spinlock_core.errors import StageError
from spinlock_core.replay import compare_replay
from spinlock_core.runner import Runner
from spinlock_core.storage import STATUS, Dataset

from ..conftest import TOY

SMALL = [*TOY, "stage=generate", "generate.n_samples=8", "generate.grid=16", "generate.steps=12"]


def _generate(run_dir, *extra):
    runner = Runner(compose([*SMALL, f"run.dir={run_dir}", *extra]))
    runner.run()
    return run_dir / "dataset"


def _all_arrays(path):
    with Dataset(path) as ds:
        return {name: ds.read(name) for name in ds.array_names()}


def _assert_same(a, b):
    assert a.keys() == b.keys()
    for name in a:
        assert np.array_equal(a[name], b[name], equal_nan=a[name].dtype.kind == "f"), name


def test_dataset_layout_and_metadata(tmp_path):
    path = _generate(tmp_path / "r", "generate.batch_size=3")
    with Dataset(path) as ds:
        assert len(ds) == 8
        assert ds.read("trajectories").shape == (8, 2, 13, 2, 16, 16)
        assert ds.read("theta/unit").shape == ds.read("theta/values").shape == (8, 5)
        assert np.array_equal(ds.read("samples/status"), np.full(8, STATUS["ok"]))
        assert ds.read("features/toy_stats").shape == (8, 2)
        assert ds.read("theta/derived/diffusion_cfl").shape == (8,)
        attrs = ds.attrs
        assert json.loads(attrs["feature_columns"])["toy_stats"][0]["name"] == "final_mean"
        assert "generate:" in attrs["config"] and attrs["centered_l2_discrepancy"] > 0
        assert np.array_equal(ds.read("ic"), ds.read("trajectories")[:, 0, 0])
    manifest = json.loads((path / "manifest.json").read_text())
    assert manifest["n_samples"] == 8 and manifest["summary"]["status"]["ok"] == 8


@pytest.mark.parametrize("index", [0, 4, 7])
def test_replay_equals_the_stored_sample(tmp_path, index):
    path = _generate(tmp_path / "r", "generate.batch_size=3", "generate.chunk_size=5")
    report = compare_replay(path, index)
    assert report["identical"], report


def test_chunks_are_sorted_by_the_operator_batch_key(tmp_path):
    path = _generate(tmp_path / "r", "generate.batch_size=2", "generate.chunk_size=8")  # one chunk
    with Dataset(path) as ds:
        forcing = ds.read("theta/values")[:, 2]
        batch = ds.read("samples/batch")
    order = np.argsort(forcing, kind="stable")
    expected = np.empty(len(order), dtype=np.int64)
    expected[order] = np.arange(len(order)) // 2
    assert 0 < forcing.sum() < len(forcing) and np.array_equal(batch, expected)


def test_stored_data_do_not_depend_on_batch_size(tmp_path):
    a = _all_arrays(_generate(tmp_path / "a", "generate.batch_size=8", "generate.chunk_size=8"))
    b = _all_arrays(_generate(tmp_path / "b", "generate.batch_size=3", "generate.chunk_size=8"))
    assert not np.array_equal(a.pop("samples/batch"), b.pop("samples/batch"))  # only the batch record differs
    _assert_same(a, b)


def test_divergence_is_recorded_and_does_not_crash_the_batch(tmp_path):
    path = _generate(tmp_path / "r", "generate.divergence_bound=1.05")
    with Dataset(path) as ds:
        status, step = ds.read("samples/status"), ds.read("samples/diverged_step")
        reason, traj = ds.read("samples/reason"), ds.read("trajectories")
    diverged = status == STATUS["diverged"]
    assert diverged.any() and (~diverged).any()
    for i in np.flatnonzero(diverged):
        assert step[i] >= 1 and b"bound" in (
            reason[i] if isinstance(reason[i], bytes) else reason[i].encode()
        )
        assert np.isnan(traj[i, :, step[i] :]).all() and np.isfinite(traj[i, :, : step[i]]).all()


def test_interrupted_dataset_with_other_config_is_not_reused(tmp_path):
    run_dir = tmp_path / "r"
    (run_dir / "dataset").mkdir(parents=True)
    (run_dir / "dataset" / "progress.json").write_text(json.dumps({"fingerprint": "something-else"}))
    with pytest.raises(StageError, match="interrupted `generate` made with a different config"):
        _generate(run_dir)
    _generate(run_dir, "run.force=true")
    assert (run_dir / "dataset" / "manifest.json").is_file()


def _cli(run_dir, *extra):
    return [sys.executable, "-m", "spinlock_core", "-q", "run", *SMALL, f"run.dir={run_dir}", *extra]


def test_kill_9_then_resume_gives_the_same_dataset(tmp_path):
    extra = ["generate.n_samples=12", "generate.batch_size=2", "generate.chunk_size=2", "generate.steps=40"]
    reference = _all_arrays(_generate(tmp_path / "ref", *extra))
    run_dir = tmp_path / "killed"
    parts = run_dir / "dataset" / "parts" / "rank0"
    proc = subprocess.Popen(_cli(run_dir, *extra), env=os.environ.copy())
    deadline = time.time() + 120
    while time.time() < deadline and len(list(parts.glob("part-*.h5"))) < 2:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    made = len(list(parts.glob("part-*.h5")))
    assert 2 <= made < 6, "the kill should land mid-run"
    assert not (run_dir / "dataset" / "manifest.json").exists()
    subprocess.run(_cli(run_dir, *extra), check=True, env=os.environ.copy())
    _assert_same(reference, _all_arrays(run_dir / "dataset"))


def test_two_ranks_under_torchrun_write_shards_that_read_as_one_dataset(tmp_path):
    reference = _all_arrays(_generate(tmp_path / "ref", "generate.batch_size=2", "generate.chunk_size=2"))
    run_dir = tmp_path / "ddp"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node=2", "--master-port=29517"]
    cmd += [
        "-m",
        "spinlock_core",
        "-q",
        "run",
        *SMALL,
        f"run.dir={run_dir}",
        "generate.batch_size=2",
        "generate.chunk_size=2",
    ]
    subprocess.run(cmd, check=True, env=os.environ.copy(), timeout=300)
    manifest = json.loads((run_dir / "dataset" / "manifest.json").read_text())
    assert manifest["shards"] == [  # the parts are the dataset: nothing merged or copied
        f"parts/rank{r}/part-{a:09d}-{b:09d}.h5" for r, a, b in [(0, 0, 1), (0, 2, 3), (1, 4, 5), (1, 6, 7)]
    ]
    _assert_same(reference, _all_arrays(run_dir / "dataset"))


def test_a_failing_sample_is_recorded_and_the_others_are_kept(tmp_path, monkeypatch):
    from spinlock_testplugin import toy

    original = toy._ToyStepper.step

    def step(self, u, t):
        if t == 3 and self.d.shape[0] == 1 and float(self.d.flatten()[0]) == self._fail_value:
            raise RuntimeError("operator exploded")
        if t == 3 and self.d.shape[0] > 1:
            raise RuntimeError("batch exploded")
        return original(self, u, t)

    config = compose([*SMALL, f"run.dir={tmp_path / 'r'}", "generate.batch_size=4"])
    from spinlock_core.stages.build import GenerationSetup

    fail_value = float(GenerationSetup.from_config(config, "cpu").theta["diffusion"][5])
    monkeypatch.setattr(toy._ToyStepper, "_fail_value", np.float32(fail_value), raising=False)
    monkeypatch.setattr(toy._ToyStepper, "step", step)
    Runner(config).run()
    with Dataset(tmp_path / "r" / "dataset") as ds:
        status, reason = ds.read("samples/status"), ds.read("samples/reason")
    assert status[5] == STATUS["failed"] and b"operator exploded" in reason[5]
    assert (np.delete(status, 5) == STATUS["ok"]).all()


def test_a_systematic_failure_stops_the_run_and_keeps_finished_batches(tmp_path, monkeypatch):
    """Every sample of the second batch raises alone too: that is a bug, not data, so the run stops."""
    from spinlock_core.stages.build import GenerationSetup
    from spinlock_testplugin import toy

    config = compose([*SMALL, f"run.dir={tmp_path / 'r'}", "generate.batch_size=4", "generate.chunk_size=4"])
    doomed = set(np.float32(GenerationSetup.from_config(config, "cpu").theta["diffusion"][4:8]).tolist())
    original = toy._ToyStepper.step

    def step(self, u, t):
        if set(self.d.flatten().tolist()) & doomed:
            raise RuntimeError("bad setup")
        return original(self, u, t)

    monkeypatch.setattr(toy._ToyStepper, "step", step)
    with pytest.raises(RuntimeError, match="bad setup"):
        Runner(config).run()
    parts = list((tmp_path / "r" / "dataset" / "parts" / "rank0").glob("part-*.h5"))
    assert [p.name for p in parts] == ["part-000000000-000000003.h5"]  # kept for the resumed run


def test_a_disk_too_small_is_refused_before_anything_is_written(tmp_path, monkeypatch):
    import shutil
    from collections import namedtuple

    from spinlock_core.errors import ConfigError

    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr("spinlock_core.disk.shutil.disk_usage", lambda p: usage(10**6, 10**6 - 5000, 5000))
    with pytest.raises(ConfigError) as err:
        _generate(tmp_path / "r")
    text = str(err.value)
    for key in ("generate.n_samples", "generate.store_trajectories", "generate.trajectory_stride", "run.dir"):
        assert key in text, key
    assert "nothing was written" in text and "5.0 kB" in text
    assert not (tmp_path / "r" / "dataset").exists()
    assert shutil.disk_usage is not None  # the monkeypatch did not leak into the module itself


def test_the_disk_estimate_of_a_production_cno_config_is_its_uncompressed_size(monkeypatch, tmp_path):
    """Known answer: 64², 256 states, 3 channels, float16 = 6,291,456 bytes of trajectories per
    realization; the preset stores 1 of 5 (0.64 TB for the prototype's 100k), all 5 take 31.5 GB
    per 1,000 operators, about 3.15 TB for 100k."""
    from collections import namedtuple

    from spinlock_core.disk import check_free_space, dataset_size
    from spinlock_core.errors import ConfigError
    from spinlock_core.stages.build import GenerationSetup

    config = compose(["scale=production", "generate.n_samples=100000", "features=[]"])
    size = dataset_size(GenerationSetup.from_config(config, "cpu"))
    assert size.trajectories == 1 * 256 * 3 * 64 * 64 * 2
    assert size.total(100_000) / 1e12 == pytest.approx(0.64, abs=0.01)
    config = compose(
        ["scale=production", "generate.n_samples=100000", "features=[]", "generate.stored_realizations=null"]
    )
    size = dataset_size(GenerationSetup.from_config(config, "cpu"))
    assert size.trajectories == 5 * 256 * 3 * 64 * 64 * 2
    assert size.ic == 3 * 64 * 64 * 4
    assert size.total(100_000) / 1e12 == pytest.approx(3.15, abs=0.01)
    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr("spinlock_core.disk.shutil.disk_usage", lambda p: usage(2 * 10**12, 10**12, 10**12))
    with pytest.raises(ConfigError, match=r"needs about 3\.3 TB and only 1\.0 TB") as err:
        check_free_space(tmp_path, size, 100_000, 100_000)
    fits = int(10**12 / 1.05 // size.per_sample)
    assert f"at most about {fits}" in str(err.value)
    line = check_free_space(tmp_path, size, 1_000, 100_000)
    assert "31.5 GB per 1,000" in line


def test_stored_realizations_keep_the_first_ones_and_leave_features_alone(tmp_path):
    full = _all_arrays(_generate(tmp_path / "all", "generate.realizations=3"))
    path = _generate(tmp_path / "one", "generate.realizations=3", "generate.stored_realizations=1")
    few = _all_arrays(path)
    assert full["trajectories"].shape[1] == 3 and few["trajectories"].shape[1] == 1
    assert np.array_equal(few["trajectories"], full["trajectories"][:, :1])
    for name in full:
        if name != "trajectories":  # inline features still see every realization
            assert np.array_equal(few[name], full[name], equal_nan=full[name].dtype.kind == "f"), name
    with Dataset(path) as ds:
        assert ds.attrs["realizations"] == 3 and ds.attrs["stored_realizations"] == 1
    assert compare_replay(path, 5)["identical"]


def test_offline_features_refuse_a_dataset_with_fewer_stored_realizations(tmp_path):
    from spinlock_core import registry
    from spinlock_core.errors import DatasetError
    from spinlock_core.stages.features import extract_offline

    path = _generate(
        tmp_path / "r",
        "generate.realizations=3",
        "generate.stored_realizations=2",
        "generate.inline_features=false",
    )
    family = registry.load("features", "toy_stats").create(None)
    with (
        Dataset(path) as ds,
        pytest.raises(DatasetError, match=r"2 of its 3 realizations.*stored_realizations=null"),
    ):
        extract_offline(ds, {"toy_stats": family}, "cpu", 4)
