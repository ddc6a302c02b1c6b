import numpy as np
import pytest

from spinlock_core.errors import DatasetError
from spinlock_core.storage import Dataset, completed_indices, write_manifest, write_part


def _arrays(indices):
    n = len(indices)
    return {
        "ic": np.arange(n * 4, dtype=np.float32).reshape(n, 1, 2, 2) + indices[0],
        "samples": {"status": np.zeros(n, np.int8), "reason": np.array(["x"] * n, dtype=object)},
    }


def test_parts_are_the_dataset_and_read_back_by_global_index(tmp_path):
    files = []
    for r, block in enumerate((np.arange(0, 3), np.arange(3, 7))):
        parts = tmp_path / "parts" / f"rank{r}"
        for chunk in np.array_split(block, 2):
            files.append(write_part(parts, chunk, _arrays(chunk)))
        assert completed_indices(parts) == set(block.tolist())
    write_manifest(tmp_path, files, 7, {})
    with Dataset(tmp_path) as ds:
        assert len(ds) == 7
        ic = ds.read("ic")
        assert ic.shape == (7, 1, 2, 2)
        assert np.array_equal(ic[:, 0, 0, 0], [0, 4, 2, 3, 7, 5, 9])  # 4 i + the part's first index
        assert np.array_equal(ds.read("ic", [5, 1]), ic[[5, 1]])
        assert ds.read("samples/reason")[0] in (b"x", "x")
        assert ds.paths == files  # what the report sizes: the parts themselves


def test_stray_temporary_from_a_killed_run_is_ignored_and_removed(tmp_path):
    write_part(tmp_path, np.arange(0, 2), _arrays(np.arange(0, 2)))
    (tmp_path / ".part-000000002-000000003.h5.123.tmp").write_bytes(b"half written")
    assert completed_indices(tmp_path) == {0, 1}
    assert not list(tmp_path.glob(".*"))


def test_incomplete_dataset_has_a_clear_error(tmp_path):
    with pytest.raises(DatasetError, match="no manifest.json"):
        Dataset(tmp_path)


def test_unknown_array_lists_available(tmp_path):
    part = write_part(tmp_path / "p", np.arange(0, 2), _arrays(np.arange(0, 2)))
    with Dataset(part) as ds, pytest.raises(DatasetError, match="it has: .*ic"):
        ds.read("trajectories")
