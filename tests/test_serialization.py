"""ad.save / ad.load: round trips of module and optimizer state, PyTorch interop, and refusing every
file that was not written by ad.save without ever running code from it."""
import io
import json
import os
import pickle
import zipfile

import numpy as np
import pytest

import autodiff as ad
import nn


def test_round_trip_of_nested_state(tmp_path):
    state = {
        "model": {"w": ad.tensor([[1.0, 2.0]]), "count": ad.tensor(3)},
        "optimizer": {
            "state": {0: {"momentum_buffer": np.arange(3.0), "step": np.int64(7)}, 1: {}},
            "param_groups": [{"params": [0, 1], "lr": 0.1, "betas": (0.9, 0.999), "nesterov": False,
                              "maximize": None, "name": "default"}],
        },
        "epoch": 4, "loss": float("nan"), "best": float("inf"), "note": "héllo ✓",
        3.5: "float key", True: "bool key", None: "none key",
    }
    path = tmp_path / "checkpoint.pt"
    ad.save(state, path)
    assert sorted(os.listdir(tmp_path)) == ["checkpoint.pt"]        # the name as given, no temp left
    loaded = ad.load(path)
    assert list(loaded) == list(state)
    model = loaded["model"]
    assert isinstance(model["w"], ad.Tensor) and model["w"].dtype == np.float32
    np.testing.assert_array_equal(model["w"].data, [[1.0, 2.0]])
    assert model["count"].dtype == np.int64 and model["count"].shape == ()
    opt = loaded["optimizer"]
    assert list(opt["state"]) == [0, 1] and isinstance(list(opt["state"])[0], int)       # int keys kept
    buffer = opt["state"][0]["momentum_buffer"]
    assert type(buffer) is np.ndarray and buffer.tolist() == [0.0, 1.0, 2.0]
    step = opt["state"][0]["step"]
    assert isinstance(step, np.int64) and step == 7
    group = opt["param_groups"][0]
    assert group == {"params": [0, 1], "lr": 0.1, "betas": (0.9, 0.999), "nesterov": False, "maximize": None,
                     "name": "default"}
    assert isinstance(group["betas"], tuple) and isinstance(group["params"], list)
    assert loaded["epoch"] == 4 and np.isnan(loaded["loss"]) and loaded["best"] == float("inf")
    assert loaded["note"] == "héllo ✓"
    assert loaded[3.5] == "float key" and loaded[True] == "bool key" and loaded[None] == "none key"


def test_requires_grad_and_shapes_survive(tmp_path):
    t = ad.tensor(np.ones((2, 0, 3)), requires_grad=True)
    path = tmp_path / "t.npz"
    ad.save([t, np.zeros(()), np.ones((3, 4)).T, np.array([1 + 2j]), np.array([True, False])], path)
    a, b, c, d, e = ad.load(path)
    assert a.requires_grad and a.shape == (2, 0, 3)
    assert b.shape == () and c.shape == (4, 3) and d.dtype == np.complex128 and e.dtype == np.bool_


def test_file_objects(tmp_path):
    buffer = io.BytesIO()
    ad.save({"x": np.arange(3)}, buffer)
    buffer.seek(0)
    assert ad.load(buffer)["x"].tolist() == [0, 1, 2]
    with open(tmp_path / "f.npz", "wb") as f:
        ad.save({"y": 1}, f)
    with open(tmp_path / "f.npz", "rb") as f:
        assert ad.load(f) == {"y": 1}


def test_save_refuses_what_it_cannot_store_without_pickle(tmp_path):
    path = tmp_path / "x.npz"
    with pytest.raises(TypeError, match=r"\['a'\]\[0\] has dtype object.*never object arrays"):
        ad.save({"a": [np.array([object()], dtype=object)]}, path)
    with pytest.raises(TypeError, match=r"cannot save a Linear at \['model'\].*state_dict"):
        ad.save({"model": nn.Linear(2, 2)}, path)
    with pytest.raises(TypeError, match="keys must be"):
        ad.save({(1, 2): 3}, path)
    cycle = []
    cycle.append(cycle)
    with pytest.raises(ValueError, match="cycle"):
        ad.save(cycle, path)
    assert not path.exists()


def test_module_state_round_trip_keeps_the_parameter_arrays(tmp_path):
    ad.manual_seed(0)
    source = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.ReLU(), nn.Linear(4, 2))
    source(ad.randn(8, 3))                        # move the running statistics
    path = tmp_path / "model.npz"
    ad.save(source.state_dict(), path)
    target = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.ReLU(), nn.Linear(4, 2))
    arrays = [p.data for p in target.parameters()]
    target.load_state_dict(ad.load(path))
    assert all(p.data is a for p, a in zip(target.parameters(), arrays))
    for (name, a), b in zip(source.state_dict().items(), target.state_dict().values()):
        np.testing.assert_array_equal(a.data, b.data, err_msg=name)
    assert target[1].num_batches_tracked.item() == 1


def test_saved_state_dict_loads_into_torch_sequential(tmp_path):
    torch = pytest.importorskip("torch")
    ad.manual_seed(1)
    ours = nn.Sequential(nn.Linear(5, 8), nn.BatchNorm1d(8), nn.GELU(), nn.Dropout(0.2), nn.Linear(8, 6),
                         nn.LayerNorm(6), nn.Tanh(), nn.Linear(6, 3))
    ours(ad.randn(16, 5))
    ours.eval()
    path = tmp_path / "model.npz"
    ad.save(ours.state_dict(), path)
    tn = torch.nn
    theirs = tn.Sequential(tn.Linear(5, 8), tn.BatchNorm1d(8), tn.GELU(), tn.Dropout(0.2), tn.Linear(8, 6),
                           tn.LayerNorm(6), tn.Tanh(), tn.Linear(6, 3)).eval()
    loaded = ad.load(path)
    theirs.load_state_dict({k: torch.from_numpy(v.numpy()) for k, v in loaded.items()}, strict=True)
    x = np.random.default_rng(0).normal(size=(4, 5)).astype(np.float32)
    np.testing.assert_allclose(ours(ad.tensor(x)).data, theirs(torch.from_numpy(x)).detach().numpy(),
                               rtol=1e-5, atol=1e-6)
    # the archive is a plain .npz too: np.load sees the same arrays under t0, t1, ...
    with np.load(path, allow_pickle=False) as archive:
        manifest = json.loads(archive["__autodiff__"].tobytes())
        refs = {key["value"]: value["ref"] for key, value in manifest["root"]["items"]}
        theirs.load_state_dict({k: torch.from_numpy(archive[ref]) for k, ref in refs.items()}, strict=True)
    assert manifest["format"] == "autodiff.save" and manifest["version"] == 2


# ---------------------------------------------------------------------------------------------
# refusing files

class CreatesMarker:
    """Unpickling this calls open(marker, "w"): proof that code ran."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def pickle_payload(marker):
    return np.array([CreatesMarker(marker)], dtype=object)


def test_payload_is_live_when_unpickled(tmp_path):
    """The marker mechanism works (so its absence below means nothing ran)."""
    marker = tmp_path / "ran"
    np.savez(tmp_path / "evil.npz", payload=pickle_payload(marker))
    with np.load(tmp_path / "evil.npz", allow_pickle=True) as archive:
        archive["payload"]
    assert marker.exists()


def test_npz_with_an_object_array_is_refused_and_runs_nothing(tmp_path):
    marker = tmp_path / "ran"
    path = tmp_path / "evil.npz"
    np.savez(path, payload=pickle_payload(marker))
    with pytest.raises(ValueError, match=r"evil.npz.*not written by ad.save"):
        ad.load(path)
    assert not marker.exists()


def test_forged_manifest_pointing_at_an_object_array_is_refused_and_runs_nothing(tmp_path):
    marker = tmp_path / "ran"
    path = tmp_path / "forged.npz"
    manifest = json.dumps({"format": "autodiff.save", "version": 1, "root": {"type": "ndarray", "ref": "t0"}})
    np.savez(path, t0=pickle_payload(marker), __autodiff__=np.frombuffer(manifest.encode(), np.uint8))
    with pytest.raises(ValueError, match=r"forged.npz.*(cannot be loaded safely|Object arrays)"):
        ad.load(path)
    assert not marker.exists()


def test_plain_pickle_file_is_refused_and_runs_nothing(tmp_path):
    marker = tmp_path / "ran"
    path = tmp_path / "model.pt"
    with open(path, "wb") as f:
        pickle.dump({"weights": CreatesMarker(marker)}, f)
    with pytest.raises(ValueError, match=r"model.pt.*not written by ad.save"):
        ad.load(path)
    assert not marker.exists()


def good_file(tmp_path):
    path = tmp_path / "good.npz"
    ad.save({"w": ad.tensor(np.arange(100.0)), "b": [1, 2]}, path)
    return path


def test_truncated_and_corrupt_files_give_clear_errors(tmp_path):
    data = good_file(tmp_path).read_bytes()
    for n in (0, 10, len(data) // 2, len(data) - 10):
        path = tmp_path / f"cut{n}.npz"
        path.write_bytes(data[:n])
        with pytest.raises(ValueError, match=rf"cut{n}.npz"):
            ad.load(path)
    flipped = bytearray(data)
    position = data.index(b"t0.npy") + 200            # inside the first array's bytes
    flipped[position] ^= 0xFF
    (tmp_path / "flipped.npz").write_bytes(bytes(flipped))
    with pytest.raises(ValueError, match=r"flipped.npz.*(corrupt|CRC)"):
        ad.load(tmp_path / "flipped.npz")
    (tmp_path / "text.npz").write_text("hello")
    with pytest.raises(ValueError, match="text.npz"):
        ad.load(tmp_path / "text.npz")
    np.save(tmp_path / "single.npy", np.ones(3))
    with pytest.raises(ValueError, match="single .npy array"):
        ad.load(tmp_path / "single.npy")
    with pytest.raises(FileNotFoundError):
        ad.load(tmp_path / "missing.npz")


def forge(tmp_path, manifest_bytes, **arrays):
    path = tmp_path / "forged.npz"
    np.savez(path, __autodiff__=np.frombuffer(manifest_bytes, np.uint8), **arrays)
    return path


@pytest.mark.parametrize("manifest, problem", [
    (b"{not json", "not valid JSON"),
    (b"\xff\xfe", "not valid JSON"),
    (json.dumps({"format": "other", "version": 1, "root": {}}).encode(), "format marker"),
    (json.dumps({"format": "autodiff.save", "version": 99, "root": {"type": "none"}}).encode(), "newer autodiff"),
    (json.dumps({"format": "autodiff.save", "version": "1", "root": {}}).encode(), "no version"),
    (json.dumps({"format": "autodiff.save", "version": 1}).encode(), "no root"),
    (json.dumps({"format": "autodiff.save", "version": 1, "root": {"type": "tensor", "ref": "t9"}}).encode(),
     "does not hold"),
    (json.dumps({"format": "autodiff.save", "version": 1, "root": {"type": "tensor", "ref": ["t0"]}}).encode(),
     "not a name"),
    (json.dumps({"format": "autodiff.save", "version": 1, "root": {"type": "eval", "value": "1"}}).encode(),
     "unknown entry type 'eval'"),
    (json.dumps({"format": "autodiff.save", "version": 1, "root": {"type": "int", "value": "1"}}).encode(),
     "int entry"),
    (json.dumps({"format": "autodiff.save", "version": 1, "root": {"type": "dict", "items": [[1]]}}).encode(),
     "malformed dict"),
    (("[" * 100000 + "]" * 100000).encode(), "JSON|nested"),
])
def test_forged_manifests_are_refused(tmp_path, manifest, problem):
    path = forge(tmp_path, manifest, t0=np.ones(2))
    with pytest.raises(ValueError, match=rf"ad.load: '.*forged.npz'.*({problem})"):
        ad.load(path)


def test_manifest_of_the_wrong_dtype_is_refused(tmp_path):
    path = tmp_path / "wrong.npz"
    np.savez(path, __autodiff__=np.zeros(3, np.float64))
    with pytest.raises(ValueError, match="not a 1-D uint8 array"):
        ad.load(path)


def test_an_interrupted_save_leaves_the_old_file(tmp_path, monkeypatch):
    path = good_file(tmp_path)
    before = path.read_bytes()

    def broken_savez(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(np, "savez", broken_savez)
    with pytest.raises(KeyboardInterrupt):
        ad.save({"new": 1}, path)
    assert path.read_bytes() == before and sorted(os.listdir(tmp_path)) == ["good.npz"]


def test_archive_is_a_plain_zip_of_npy_members(tmp_path):
    path = good_file(tmp_path)
    with zipfile.ZipFile(path) as archive:
        assert sorted(archive.namelist()) == ["__autodiff__.npy", "t0.npy"]


def test_saved_file_gets_the_ordinary_permissions(tmp_path):
    path = good_file(tmp_path)
    plain = tmp_path / "plain"
    plain.write_bytes(b"")
    assert path.stat().st_mode & 0o777 == plain.stat().st_mode & 0o777
