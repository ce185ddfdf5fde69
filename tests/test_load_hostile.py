"""ad.load on malformed and hostile files: each kind of bad file is built here, byte by byte where
needed, and must give a ValueError naming the file and what is wrong (never numpy's advice to load
with pickle, never MemoryError), with memory bounded while it refuses. ad.save names the user's
path in its errors and stays atomic."""
import io
import json
import os
import pickle
import struct
import tracemalloc
import warnings
import zipfile

import numpy as np
import pytest

import autodiff as ad

MiB = 2**20


# ---- building blocks -----------------------------------------------------------------------------
def npy(array):
    """The bytes np.save writes for ``array``."""
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, np.asarray(array), allow_pickle=False)
    return buffer.getvalue()


def npy_header(header_text, data=b"", version=1):
    """A hand-made .npy member: any header text, any data."""
    text = header_text.encode("latin1")
    text += b" " * (-(len(text) + 11) % 64) + b"\n"
    length = struct.pack("<H" if version == 1 else "<I", len(text))
    return b"\x93NUMPY" + bytes([version, 0]) + length + text + data


def node(ref, array, kind="tensor", **extra):
    array = np.asarray(array)
    entry = {"type": kind, "ref": ref, "shape": list(array.shape), "dtype": array.dtype.str}
    if kind == "tensor":
        entry["requires_grad"] = False
    entry.update(extra)
    return entry


def manifest(root, version=2, **fields):
    document = {"format": "autodiff.save", "version": version, "root": root, **fields}
    return npy(np.frombuffer(json.dumps(document).encode(), np.uint8))


def state(*pairs):
    """A dict node from (str key, value node) pairs."""
    return {"type": "dict", "items": [[{"type": "str", "value": key}, value] for key, value in pairs]}


def write_zip(path, members, compression=zipfile.ZIP_STORED):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")          # zipfile warns about the duplicate-name case
        with zipfile.ZipFile(path, "w", compression) as archive:
            for name, payload in members:
                archive.writestr(name, payload)
    return path


def patch_directory(path, member, offset, fmt, value):
    """Overwrite one field of ``member``'s central-directory record (a forged size or flag)."""
    data = bytearray(path.read_bytes())
    name = member.encode()
    at = 0
    while True:
        at = data.index(b"PK\x01\x02", at)
        (name_length,) = struct.unpack_from("<H", data, at + 28)
        if data[at + 46:at + 46 + name_length] == name:
            break
        at += 4
    struct.pack_into(fmt, data, at + offset, value)
    path.write_bytes(bytes(data))
    return path


def good_members():
    w = np.arange(6.0).reshape(2, 3)
    return [("__autodiff__.npy", manifest(state(("w", node("t0", w))))), ("t0.npy", npy(w))]


class CreatesMarker:
    """Unpickling this creates a file: its absence proves no code from the file ran."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


# ---- the bad files: name -> builder(tmp_path) returning (path, pattern of the error) ---------------
def random_bytes(tmp):
    path = tmp / "random.bin"
    path.write_bytes(np.random.default_rng(0).bytes(4096))
    return path, "not a zip archive"


def empty_file(tmp):
    path = tmp / "empty.npz"
    path.write_bytes(b"")
    return path, "is empty"


def text_file(tmp):
    path = tmp / "notes.npz"
    path.write_text("these are not weights\n")
    return path, "not a zip archive"


def legacy_torch_save(tmp):
    # the legacy torch.save layout: pickled magic number, protocol version, sys info, then the data
    path = tmp / "legacy.pt"
    with open(path, "wb") as f:
        for part in (0x1950A86A20F9469CFC6C, 1001, {"protocol_version": 1001, "little_endian": True},
                     {"weight": CreatesMarker(tmp / "ran")}):
            pickle.dump(part, f, protocol=2)
    return path, "Python pickle.*never unpickles"


def zip_torch_save(tmp):
    path = write_zip(tmp / "new.pt", [("archive/data.pkl", pickle.dumps({"w": 1}, protocol=2)),
                                      ("archive/version", b"3\n")])
    return path, "torch.save file.*never unpickles"


def single_npy(tmp):
    path = tmp / "single.npy"
    path.write_bytes(npy(np.ones(3)))
    return path, "single .npy array"


def npy_claiming_1e12_elements(tmp):
    path = tmp / "huge.npy"
    path.write_bytes(npy_header("{'descr': '<f8', 'fortran_order': False, 'shape': (1000000000000,), }"))
    return path, "single .npy array"


def member_claiming_1e12_elements(tmp):
    huge = [10**12]
    members = [("__autodiff__.npy", manifest({"type": "ndarray", "ref": "t0", "shape": huge, "dtype": "<f8"})),
               ("t0.npy", npy_header("{'descr': '<f8', 'fortran_order': False, 'shape': (1000000000000,), }"))]
    return write_zip(tmp / "claims.npz", members), r"declares a float64 array of shape \(1000000000000,\)"


def declared_size_over_the_bound(tmp):
    # the directory says t0 is 2 GiB uncompressed: refused from the directory alone
    path = patch_directory(write_zip(tmp / "declared.npz", good_members()), "t0.npy", 24, "<L", 2**31)
    return path, "too large to load.*max_bytes"


def zip_bomb(tmp):
    # 64 MiB of zeros deflate to ~64 KiB; the manifest and header are consistent with it
    zeros = np.zeros(8 * MiB)
    members = [("__autodiff__.npy", manifest({"type": "ndarray", "ref": "t0", "shape": [8 * MiB],
                                              "dtype": "<f8"})), ("t0.npy", npy(zeros))]
    return write_zip(tmp / "bomb.npz", members, zipfile.ZIP_DEFLATED), "too large to load.*max_bytes"


def zip_bomb_lying_about_its_size(tmp):
    # the directory claims a small member, but its deflated stream expands far beyond it
    path = tmp / "liar.npz"
    small = np.zeros(4)
    members = [("__autodiff__.npy", manifest({"type": "ndarray", "ref": "t0", "shape": [4], "dtype": "<f8"})),
               ("t0.npy", npy(small) + bytes(32 * MiB))]
    write_zip(path, members, zipfile.ZIP_DEFLATED)
    return patch_directory(path, "t0.npy", 24, "<L", len(npy(small))), "t0.npy.*(CRC|cannot be read)"


def truncated_archive(tmp):
    data = write_zip(tmp / "whole.npz", good_members()).read_bytes()
    path = tmp / "truncated.npz"
    path.write_bytes(data[:len(data) // 2])
    return path, "truncated"


def flipped_data_byte(tmp):
    data = bytearray(write_zip(tmp / "whole.npz", good_members()).read_bytes())
    data[data.index(b"t0.npy") + 150] ^= 0xFF            # inside t0's data
    path = tmp / "flipped.npz"
    path.write_bytes(bytes(data))
    return path, "t0.npy.*CRC"


def plain_npz(tmp):
    path = tmp / "plain.npz"
    np.savez(path, weights=np.ones(3))
    return path, "no '__autodiff__' manifest"


def manifest_nested_65_levels(tmp):
    root = {"type": "none"}
    for _ in range(65):
        root = {"type": "list", "items": [root]}
    return write_zip(tmp / "deep.npz", [("__autodiff__.npy", manifest(root))]), "nested deeper than 64"


def manifest_nested_100000_levels(tmp):
    text = ("[" * 100000 + "]" * 100000).encode()
    return write_zip(tmp / "deeper.npz", [("__autodiff__.npy", npy(np.frombuffer(text, np.uint8)))]), \
        "nested too deeply"


def array_referenced_twice(tmp):
    w = np.ones(3)
    root = state(("a", node("t0", w)), ("b", node("t0", w)))
    return write_zip(tmp / "twice.npz", [("__autodiff__.npy", manifest(root)), ("t0.npy", npy(w))]), \
        "uses the array 't0' twice"


def duplicate_dict_keys(tmp):
    w = np.ones(3)
    root = state(("a", node("t0", w)), ("a", node("t1", w)))
    members = [("__autodiff__.npy", manifest(root)), ("t0.npy", npy(w)), ("t1.npy", npy(w))]
    return write_zip(tmp / "dupkeys.npz", members), "holds the key 'a' twice"


def duplicate_json_fields(tmp):
    text = b'{"format": "autodiff.save", "version": 2, "root": {"type": "int", "type": "str", "value": "x"}}'
    return write_zip(tmp / "dupfields.npz", [("__autodiff__.npy", npy(np.frombuffer(text, np.uint8)))]), \
        "field 'type' twice"


def duplicate_member_names(tmp):
    members = good_members() + [("t0.npy", npy(np.zeros((2, 3))))]
    return write_zip(tmp / "dupmembers.npz", members), "two members named 't0.npy'"


def path_like_member(tmp):
    members = good_members() + [("../../etc/t1.npy", npy(np.ones(1)))]
    return write_zip(tmp / "pathlike.npz", members), "path-like member name '../../etc/t1.npy'"


def absolute_member(tmp):
    members = good_members() + [("/tmp/t1.npy", npy(np.ones(1)))]
    return write_zip(tmp / "absolute.npz", members), "path-like member name"


def object_array(tmp):
    payload = io.BytesIO()
    np.lib.format.write_array(payload, np.array([CreatesMarker(tmp / "ran")], dtype=object), allow_pickle=True)
    members = [("__autodiff__.npy", manifest({"type": "ndarray", "ref": "t0", "shape": [1], "dtype": "|O"})),
               ("t0.npy", payload.getvalue())]
    return write_zip(tmp / "object.npz", members), "dtype object: object arrays cannot be loaded safely"


def structured_array(tmp):
    record = np.zeros(2, dtype=[("a", "<f8"), ("b", "<i4")])
    members = [("__autodiff__.npy", manifest({"type": "ndarray", "ref": "t0", "shape": [2], "dtype": "|V12"})),
               ("t0.npy", npy(record))]
    return write_zip(tmp / "structured.npz", members), "structured array"


def manifest_names_a_missing_array(tmp):
    w = np.ones(3)
    root = state(("a", node("t0", w)), ("b", node("t1", w)))
    return write_zip(tmp / "missing.npz", [("__autodiff__.npy", manifest(root)), ("t0.npy", npy(w))]), \
        "refers to an array 't1' that the file does not hold"


def array_the_manifest_does_not_use(tmp):
    members = good_members() + [("t1.npy", npy(np.ones(2)))]
    return write_zip(tmp / "extra.npz", members), "arrays that its manifest does not use: 't1'"


def shape_differs_from_manifest(tmp):
    members = [("__autodiff__.npy", manifest(node("t0", np.ones((3, 2))))), ("t0.npy", npy(np.ones((2, 3))))]
    return write_zip(tmp / "shape.npz", members), r"shape \(2, 3\) but its manifest says <f8 of shape \(3, 2\)"


def dtype_differs_from_manifest(tmp):
    members = [("__autodiff__.npy", manifest(node("t0", np.ones(3, np.float32)))), ("t0.npy", npy(np.ones(3)))]
    return write_zip(tmp / "dtype.npz", members), "is <f8 of shape .* manifest says <f4"


def malformed_npy_header(tmp):
    members = [("__autodiff__.npy", manifest(node("t0", np.ones(3)))),
               ("t0.npy", npy_header("__import__('os').system('echo hi')", bytes(24)))]
    return write_zip(tmp / "header.npz", members), "malformed .npy header"


def huge_npy_header_length(tmp):
    members = [("__autodiff__.npy", manifest(node("t0", np.ones(3)))),
               ("t0.npy", b"\x93NUMPY\x02\x00" + struct.pack("<I", 2**31) + b"{")]
    return write_zip(tmp / "headerlength.npz", members), "2147483648-byte header"


def manifest_not_uint8(tmp):
    return write_zip(tmp / "manifest.npz", [("__autodiff__.npy", npy(np.zeros(3)))]), "not a 1-D uint8 array"


def manifest_not_json(tmp):
    return write_zip(tmp / "json.npz", [("__autodiff__.npy", npy(np.frombuffer(b"{oops", np.uint8)))]), \
        "not valid JSON"


def manifest_with_nan_constant(tmp):
    text = b'{"format": "autodiff.save", "version": 2, "root": {"type": "float", "value": NaN}}'
    return write_zip(tmp / "nan.npz", [("__autodiff__.npy", npy(np.frombuffer(text, np.uint8)))]), \
        "non-JSON constant NaN"


def unknown_entry_type(tmp):
    return write_zip(tmp / "eval.npz", [("__autodiff__.npy", manifest({"type": "eval", "value": "1"}))]), \
        "unknown entry type 'eval'"


def bool_array_with_other_bytes(tmp):
    members = [("__autodiff__.npy", manifest(node("t0", np.ones(4, bool), kind="ndarray"))),
               ("t0.npy", npy(np.full(4, 2, np.uint8)).replace(b"|u1", b"|b1"))]
    return write_zip(tmp / "bool.npz", members), "bool array holding bytes other than 0 and 1"


def int_tensor_requiring_grad(tmp):
    members = [("__autodiff__.npy", manifest(node("t0", np.ones(3, np.int64), requires_grad=True))),
               ("t0.npy", npy(np.ones(3, np.int64)))]
    return write_zip(tmp / "intgrad.npz", members), "marked requires_grad"


def scalar_with_a_shape(tmp):
    members = [("__autodiff__.npy", manifest(node("t0", np.ones(3), kind="npscalar"))),
               ("t0.npy", npy(np.ones(3)))]
    return write_zip(tmp / "scalar.npz", members), "npscalar entry 't0': shape"


def encrypted_member(tmp):
    path = patch_directory(write_zip(tmp / "encrypted.npz", good_members()), "t0.npy", 8, "<H", 1)
    return path, "encrypted"


def unsupported_compression(tmp):
    return write_zip(tmp / "bz2.npz", good_members(), zipfile.ZIP_BZIP2), "compression method 12"


def oversized_zip_directory(tmp):
    data = bytearray(write_zip(tmp / "whole.npz", good_members()).read_bytes())
    end = data.rindex(b"PK\x05\x06")
    struct.pack_into("<L", data, end + 12, 2**30)          # the directory's size in the end record
    path = tmp / "directory.npz"
    path.write_bytes(bytes(data))
    return path, "zip directory claims 1073741824 bytes"


def broken_zip_directory(tmp):
    data = bytearray(write_zip(tmp / "whole.npz", good_members()).read_bytes())
    end = data.rindex(b"PK\x05\x06")
    struct.pack_into("<L", data, end + 16, len(data) - 30)  # the directory's offset, now wrong
    path = tmp / "offset.npz"
    path.write_bytes(bytes(data))
    return path, "is corrupt: (its zip directory|member .* cannot be read)"


def newer_format(tmp):
    return write_zip(tmp / "newer.npz", [("__autodiff__.npy", manifest({"type": "none"}, version=99))]), \
        "newer autodiff"


HOSTILE = [random_bytes, empty_file, text_file, legacy_torch_save, zip_torch_save, single_npy,
           npy_claiming_1e12_elements, member_claiming_1e12_elements, declared_size_over_the_bound, zip_bomb,
           zip_bomb_lying_about_its_size, truncated_archive, flipped_data_byte, plain_npz,
           manifest_nested_65_levels, manifest_nested_100000_levels, array_referenced_twice,
           duplicate_dict_keys, duplicate_json_fields, duplicate_member_names, path_like_member,
           absolute_member, object_array, structured_array, manifest_names_a_missing_array,
           array_the_manifest_does_not_use, shape_differs_from_manifest, dtype_differs_from_manifest,
           malformed_npy_header, huge_npy_header_length, manifest_not_uint8, manifest_not_json,
           manifest_with_nan_constant, unknown_entry_type, bool_array_with_other_bytes,
           int_tensor_requiring_grad, scalar_with_a_shape, encrypted_member, unsupported_compression,
           oversized_zip_directory, broken_zip_directory, newer_format]


def refuse(path, pattern, **kwargs):
    """ad.load(path) must raise a ValueError naming the file and matching ``pattern``; returns the
    peak memory traced while it refused."""
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        with pytest.raises(ValueError, match=pattern) as caught:
            ad.load(path, **kwargs)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    message = str(caught.value)
    assert message.startswith("ad.load: ") and os.path.basename(path) in message
    assert "allow_pickle" not in message and "unsafe" not in message.lower()
    return peak


def test_the_bad_files_are_many_and_distinct():
    assert len(HOSTILE) >= 20 and len({f.__name__ for f in HOSTILE}) == len(HOSTILE)


@pytest.mark.parametrize("build", HOSTILE, ids=lambda f: f.__name__)
def test_each_hostile_file_is_refused_with_bounded_memory(tmp_path, build):
    path, pattern = build(tmp_path)
    peak = refuse(path, pattern, max_bytes=MiB)
    assert peak < 4 * MiB, f"{peak / MiB:.1f} MiB traced while refusing {path.name}"
    assert not (tmp_path / "ran").exists()       # no code from the file ran


@pytest.mark.parametrize("build", [npy_claiming_1e12_elements, member_claiming_1e12_elements,
                                   declared_size_over_the_bound, legacy_torch_save, object_array],
                         ids=lambda f: f.__name__)
def test_refused_under_the_default_bound_too(tmp_path, build):
    path, pattern = build(tmp_path)
    if build is declared_size_over_the_bound:        # 2 GiB fits under 4 GiB: now the header refuses it
        pattern = "declares a float64 array of shape"
    assert refuse(path, pattern) < 4 * MiB


@pytest.mark.parametrize("build", [zip_bomb, flipped_data_byte, path_like_member, array_referenced_twice],
                         ids=lambda f: f.__name__)
def test_refused_from_a_file_object_and_a_stream(tmp_path, build):
    path, pattern = build(tmp_path)
    with open(path, "rb") as f:
        with pytest.raises(ValueError, match=pattern):
            ad.load(f, max_bytes=MiB)

    class Stream(io.RawIOBase):          # readable, not seekable (a pipe or a socket)
        def __init__(self, data):
            self.data = io.BytesIO(data)

        def readable(self):
            return True

        def readinto(self, buffer):
            return self.data.readinto(buffer)

    with pytest.raises(ValueError, match=pattern):
        ad.load(io.BufferedReader(Stream(path.read_bytes())), max_bytes=MiB)


def test_the_building_blocks_make_a_file_that_loads(tmp_path):
    """The hostile files are small edits of this one, which loads: each refusal is about its edit."""
    loaded = ad.load(write_zip(tmp_path / "good.npz", good_members()), max_bytes=MiB)
    np.testing.assert_array_equal(loaded["w"].data, np.arange(6.0).reshape(2, 3))
    assert loaded["w"].dtype == np.float64 and loaded["w"].data.flags.writeable


def test_max_bytes_bounds_a_good_file_and_names_the_fix(tmp_path):
    path = tmp_path / "big.npz"
    ad.save({"w": ad.zeros(1000, 1000)}, path)          # 4 MB of float32
    with pytest.raises(ValueError, match=r"big.npz' is too large.*max_bytes=1048576.*ad.load\(path, max_bytes="):
        ad.load(path, max_bytes=MiB)
    assert ad.load(path, max_bytes=8 * MiB)["w"].shape == (1000, 1000)
    for bad in (0, -1, 1.5, True, "1GB"):
        with pytest.raises(ValueError, match="max_bytes must be a positive number"):
            ad.load(path, max_bytes=bad)


def test_loading_a_compressed_archive_decompresses_in_place(tmp_path):
    """np.savez_compressed output of the same members loads, with memory near the array's size."""
    path = tmp_path / "state.npz"
    ad.save({"w": ad.zeros(2000, 1000, dtype=np.float64)}, path)        # 16 MB
    with zipfile.ZipFile(path) as archive:
        members = [(name, archive.read(name)) for name in archive.namelist()]
    write_zip(tmp_path / "deflated.npz", members, zipfile.ZIP_DEFLATED)
    assert (tmp_path / "deflated.npz").stat().st_size < MiB
    tracemalloc.start()
    try:
        loaded = ad.load(tmp_path / "deflated.npz")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert loaded["w"].shape == (2000, 1000) and not loaded["w"].data.any()
    assert peak < 16e6 + 4 * MiB, f"{peak / MiB:.1f} MiB to load 16 MB"


def test_version_1_files_still_load(tmp_path):
    """Files from before shapes and dtypes were in the manifest load, with the header checks."""
    w = np.arange(3.0)
    root = state(("w", {"type": "tensor", "ref": "t0", "requires_grad": True}),
                 ("n", {"type": "npscalar", "ref": "t1"}))
    members = [("__autodiff__.npy", manifest(root, version=1)), ("t0.npy", npy(w)),
               ("t1.npy", npy(np.int64(7)))]
    loaded = ad.load(write_zip(tmp_path / "v1.npz", members))
    assert loaded["w"].requires_grad and loaded["w"].data.tolist() == [0.0, 1.0, 2.0]
    assert loaded["n"] == 7 and isinstance(loaded["n"], np.int64)


def test_fortran_ordered_and_big_endian_arrays_round_trip(tmp_path):
    f_order = np.asfortranarray(np.arange(12.0).reshape(3, 4))
    big = np.arange(5, dtype=">i4")
    ad.save([f_order, big, np.zeros((0, 3))], tmp_path / "orders.npz")
    a, b, c = ad.load(tmp_path / "orders.npz")
    np.testing.assert_array_equal(a, f_order)
    np.testing.assert_array_equal(b, big)
    assert b.dtype == np.dtype(">i4") and c.shape == (0, 3)


# ---- ad.save --------------------------------------------------------------------------------------
def test_save_refuses_nesting_that_load_would_refuse(tmp_path):
    deep = [1]
    for _ in range(64):
        deep = [deep]
    with pytest.raises(ValueError, match="nested deeper than 64"):
        ad.save(deep, tmp_path / "deep.npz")
    assert not os.listdir(tmp_path)
    ok = deep[0]                    # 64 levels: the limit itself round-trips
    ad.save(ok, tmp_path / "ok.npz")
    assert ad.load(tmp_path / "ok.npz") == ok


def test_save_names_the_users_path_in_its_errors(tmp_path):
    missing = tmp_path / "no-such-dir" / "state.npz"
    with pytest.raises(FileNotFoundError) as caught:
        ad.save({"w": ad.ones(2)}, missing)
    assert caught.value.filename == str(missing) and str(missing) in str(caught.value)
    assert ".ad-save-" not in str(caught.value)
    (tmp_path / "a-directory").mkdir()
    with pytest.raises(IsADirectoryError) as caught:
        ad.save({"w": ad.ones(2)}, tmp_path / "a-directory")
    assert str(tmp_path / "a-directory") in str(caught.value) and ".ad-save-" not in str(caught.value)
    assert sorted(os.listdir(tmp_path)) == ["a-directory"]          # no temporary file left behind


def test_save_stays_atomic_when_the_write_fails(tmp_path, monkeypatch):
    path = tmp_path / "state.npz"
    ad.save({"w": ad.ones(2)}, path)
    before = path.read_bytes()

    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(np, "savez", disk_full)
    with pytest.raises(OSError, match="No space left") as caught:
        ad.save({"w": ad.zeros(2)}, path)
    assert caught.value.filename == str(path)
    assert path.read_bytes() == before and os.listdir(tmp_path) == ["state.npz"]


def test_load_accepts_pytorchs_keywords_and_refuses_unpickling(tmp_path):
    path = tmp_path / "state.npz"
    ad.save({"w": ad.ones(2)}, path)
    assert ad.load(path, map_location="cpu", weights_only=True)["w"].shape == (2,)
    with pytest.raises(ValueError, match="CPU"):
        ad.load(path, map_location="cuda")
    with pytest.raises(ValueError, match="never|only ever reads data"):
        ad.load(path, weights_only=False)


def test_a_file_object_is_read_from_where_it_stands(tmp_path):
    buffer = io.BytesIO()
    buffer.write(b"a header of the user's own\n")
    ad.save({"w": ad.arange(3)}, buffer)
    buffer.seek(len(b"a header of the user's own\n"))
    assert ad.load(buffer)["w"].data.tolist() == [0, 1, 2]
    buffer.seek(0, io.SEEK_END)
    with pytest.raises(ValueError, match=r"nothing left to read.*f.seek\(0\)"):
        ad.load(buffer)


def test_random_damage_gives_a_value_error_or_a_load_never_anything_else():
    """Seeded fuzzing: flipped, inserted, deleted bytes and truncations of a good file (stored and
    deflated), and random edits of its manifest re-zipped with valid checksums."""
    rng = np.random.default_rng(0)
    buffer = io.BytesIO()
    ad.save({"w": ad.randn(5, 4), "b": [np.arange(3), True, 1.5, "s", None, (np.int64(2),)],
             3: ad.tensor([True, False])}, buffer)
    with zipfile.ZipFile(io.BytesIO(buffer.getvalue())) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    files = [buffer.getvalue(), write_zip(io.BytesIO(), members.items(), zipfile.ZIP_DEFLATED).getvalue()]
    text = np.lib.format.read_array(io.BytesIO(members["__autodiff__.npy"])).tobytes()
    outcomes = {"loaded": 0, "refused": 0}
    for trial in range(600):
        if trial % 2:
            data = bytearray(files[trial // 2 % 2])
            at = int(rng.integers(len(data)))
            edit = trial // 4 % 4
            if edit == 0:
                data[at] ^= int(rng.integers(1, 256))
            elif edit == 1:
                del data[at:]
            elif edit == 2:
                data[at:at] = rng.bytes(int(rng.integers(1, 20)))
            else:
                del data[at:at + int(rng.integers(1, 20))]
            data = bytes(data)
        else:
            edited = bytearray(text)
            edited[int(rng.integers(len(edited)))] = int(rng.choice(list(b'{}[]",:019tfnul-e. x')))
            forged = dict(members, **{"__autodiff__.npy": npy(np.frombuffer(bytes(edited), np.uint8))})
            data = write_zip(io.BytesIO(), forged.items()).getvalue()
        try:
            ad.load(io.BytesIO(data), max_bytes=MiB)
            outcomes["loaded"] += 1
        except ValueError as error:
            assert str(error).startswith("ad.load: ") and "allow_pickle" not in str(error)
            outcomes["refused"] += 1
    assert outcomes["refused"] > 500
