"""ad.save / ad.load: module and optimizer state in one ``.npz`` file, without pickle.

The file is an ordinary numpy ``.npz`` archive (a zip): one ``.npy`` member per array (``t0.npy``,
``t1.npy``...) plus ``__autodiff__.npy``, a uint8 array holding a UTF-8 JSON manifest::

    {"format": "autodiff.save", "version": 2, "root": <node>}

where a node is one of ``{"type": "dict", "items": [[key_node, value_node], ...]}`` (keys keep
their Python type: str, int, float, bool, None), ``"list"``/``"tuple"`` with ``"items"``,
``{"type": "tensor", "ref": "t0", "requires_grad": false, "shape": [2, 3], "dtype": "<f4"}``,
``{"type": "ndarray", ...}`` and ``{"type": "npscalar", ...}`` (a numpy scalar) with the same
``ref``/``shape``/``dtype``, or a Python value: ``"int"``, ``"float"`` (as its ``repr``, so inf and
nan survive), ``"bool"``, ``"str"``, ``"none"``. Version 1 (no ``shape``/``dtype``) still loads.

Loading never unpickles and never trusts a size it has not checked: the zip directory, the manifest
and every array header are read and checked against each other (member names, each array used once,
shape and dtype as the manifest says, sizes adding up, at most ``max_bytes`` in all) before any
array is allocated or decompressed. Whatever is wrong with a file, ``ad.load`` raises ``ValueError``
naming the file and the problem; only a missing or unreadable path raises ``OSError``.
"""
from __future__ import annotations

import ast
import io
import json
import math
import os
import re
import struct
import tempfile
import zipfile
import zlib
from typing import Any, BinaryIO, NoReturn, Sequence, Union

import numpy as np

from .tensor import Tensor, _wrap

__all__ = ["save", "load"]

# where save writes and load reads: a path, or a binary file object
_File = Union[str, "os.PathLike[str]", BinaryIO]
# a manifest node (a JSON object) and the path of keys and indices to a value being saved
_Node = dict[str, Any]
_Path = tuple[object, ...]

FORMAT = "autodiff.save"
VERSION = 2                     # 2 records each array's shape and dtype in the manifest
MANIFEST = "__autodiff__"
MAX_DEPTH = 64                  # nesting of dicts/lists/tuples that save writes and load accepts
DEFAULT_MAX_BYTES = 4 * 2**30   # load's default bound on the archive's total uncompressed size

_ARRAY_KINDS = "biufc"          # bool, ints, floats, complex: plain bytes, no pickle
_ARRAY_NODES = ("tensor", "ndarray", "npscalar")
_CONTAINER_NODES = ("dict", "list", "tuple")
_NODE_KEYS = {      # the keys each node type may have (a forged node with others is refused)
    "none": {"type"}, "bool": {"type", "value"}, "int": {"type", "value"}, "float": {"type", "value"},
    "str": {"type", "value"}, "dict": {"type", "items"}, "list": {"type", "items"},
    "tuple": {"type", "items"}, "tensor": {"type", "ref", "requires_grad", "shape", "dtype"},
    "ndarray": {"type", "ref", "shape", "dtype"}, "npscalar": {"type", "ref", "shape", "dtype"},
}
_REF = re.compile(r"t[0-9]{1,9}\Z")                 # the array names save writes
_MEMBER = re.compile(r"(__autodiff__|t[0-9]{1,9})\.npy\Z")
# zipfile parses the whole directory into memory (~300 bytes per entry): bound it before it does
_MAX_MEMBERS = 1 << 17
_MAX_DIRECTORY_BYTES = 16 * 2**20
# the parsed JSON takes ~20x its text in memory; a state dict's manifest is ~150 bytes per array
_MAX_MANIFEST_BYTES = 64 * 2**20
_MAX_HEADER_BYTES = 10000       # an .npy header (numpy's own default bound)
_CHUNK = 1 << 20                # arrays are decompressed into place this many bytes at a time


def _describe_path(path: _Path) -> str:
    return "".join(f"[{key!r}]" for key in path) or "the object"


# ---- save ----------------------------------------------------------------------------------------
class _Encoder:
    def __init__(self) -> None:
        self.arrays: dict[str, np.ndarray] = {}
        self.active: set[int] = set()     # ids of the containers being encoded (cycle detection)

    def array_node(self, kind: str, array: np.ndarray, path: _Path) -> _Node:
        if array.dtype.kind not in _ARRAY_KINDS or array.dtype.fields is not None:
            raise TypeError(f"ad.save: the array at {_describe_path(path)} has dtype {array.dtype}; only "
                            "bool, integer, floating and complex arrays can be saved (never object arrays, "
                            "which would need pickle)")
        ref = f"t{len(self.arrays)}"
        self.arrays[ref] = array
        return {"type": kind, "ref": ref, "shape": list(array.shape), "dtype": array.dtype.str}

    def key(self, key: object, path: _Path) -> _Node:
        if isinstance(key, (bool, str)) or key is None:
            return self.encode(key, path)
        if isinstance(key, (int, float, np.integer, np.floating)):
            return self.encode(key.item() if isinstance(key, np.generic) else key, path)
        raise TypeError(f"ad.save: dict key {key!r} at {_describe_path(path)} is a {type(key).__name__}; "
                        "keys must be str, int, float, bool or None")

    def encode(self, obj: object, path: _Path = ()) -> _Node:
        if obj is None:
            return {"type": "none"}
        if isinstance(obj, bool):
            return {"type": "bool", "value": obj}
        if isinstance(obj, int):
            return {"type": "int", "value": int(obj)}
        if isinstance(obj, float):
            return {"type": "float", "value": repr(float(obj))}
        if isinstance(obj, str):
            return {"type": "str", "value": obj}
        if isinstance(obj, Tensor):
            node = self.array_node("tensor", obj.data, path)
            node["requires_grad"] = bool(obj.requires_grad)
            return node
        if isinstance(obj, np.ndarray):
            return self.array_node("ndarray", obj, path)
        if isinstance(obj, np.generic):
            return self.array_node("npscalar", np.asarray(obj), path)
        if isinstance(obj, (dict, list, tuple)):
            if id(obj) in self.active:
                raise ValueError(f"ad.save: {_describe_path(path)} contains itself; a structure with a "
                                 "cycle cannot be saved")
            if len(self.active) >= MAX_DEPTH:
                raise ValueError(f"ad.save: {_describe_path(path)} is nested deeper than {MAX_DEPTH} "
                                 "levels of dicts, lists and tuples, which ad.load refuses; flatten it")
            self.active.add(id(obj))
            try:
                if isinstance(obj, dict):
                    items: list[Any] = [[self.key(k, path), self.encode(v, path + (k,))] for k, v in obj.items()]
                    return {"type": "dict", "items": items}
                items = [self.encode(v, path + (i,)) for i, v in enumerate(obj)]
                return {"type": "tuple" if isinstance(obj, tuple) else "list", "items": items}
            finally:
                self.active.discard(id(obj))
        raise TypeError(f"ad.save: cannot save a {type(obj).__name__} at {_describe_path(path)}; ad.save "
                        "stores nested dicts, lists and tuples of Tensors, numpy arrays, numbers, strings, "
                        "bools and None (save model.state_dict(), not the model)")


def save(obj: object, path: _File) -> None:
    """Write ``obj`` (e.g. ``model.state_dict()`` or ``{"model": ..., "optimizer": ...}``) to ``path``
    as one ``.npz`` file (the name is used as given). The file is written to a temporary name in the
    same directory and renamed, so an interrupted save never leaves a half-written file; an error
    names ``path``. ``path`` may be a writable binary file object instead.

    >>> import autodiff as ad, tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "state.npz")
    >>> ad.save({"w": ad.tensor([1.0, 2.0]), "step": 3}, path)
    >>> ad.load(path)
    {'w': tensor([1., 2.]), 'step': 3}
    """
    encoder = _Encoder()
    root = encoder.encode(obj)
    manifest = json.dumps({"format": FORMAT, "version": VERSION, "root": root}, allow_nan=False)
    members = dict(encoder.arrays)
    members[MANIFEST] = np.frombuffer(manifest.encode("utf-8"), dtype=np.uint8)
    if hasattr(path, "write"):
        np.savez(path, allow_pickle=False, **members)
        return
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    try:
        handle, temporary = tempfile.mkstemp(prefix=".ad-save-", suffix=".tmp", dir=directory)
    except OSError as error:
        raise _naming(error, path, "cannot create its temporary file in that directory") from None
    try:
        with os.fdopen(handle, "wb") as f:
            np.savez(f, allow_pickle=False, **members)
        # mkstemp makes the file private (0600); give it the mode an ordinary open() would
        os.chmod(temporary, _ordinary_mode())
        os.replace(temporary, path)
    except BaseException as error:
        if os.path.exists(temporary):
            os.remove(temporary)
        if isinstance(error, OSError):
            raise _naming(error, path, "could not write it (the file, if any, is unchanged)") from None
        raise


def _naming(error: OSError, path: str, what: str) -> OSError:
    """The same kind of OSError, naming the user's path rather than the temporary file's."""
    return type(error)(error.errno, f"ad.save: {what} ({error.strerror or error})", path)


def _ordinary_mode() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


# ---- load ----------------------------------------------------------------------------------------
def load(path: _File, *, max_bytes: int = DEFAULT_MAX_BYTES, map_location: object = None,
         weights_only: bool | None = True) -> Any:
    """Read what ``ad.save`` wrote: Tensors come back as Tensors, arrays as arrays, dict keys with
    their types.

    Never unpickles, and refuses any file that is not exactly what ``ad.save`` writes (a pickle or
    ``torch.save`` file, a plain ``.npz``, a truncated, corrupt or forged archive) with a
    ``ValueError`` naming the file and what is wrong, before allocating anything for it. At most
    ``max_bytes`` (default 4 GiB) of arrays and metadata are read; pass a larger bound for a larger
    file you trust. ``map_location`` (None or ``"cpu"``) and ``weights_only=True`` are accepted for
    PyTorch's spelling: everything runs on the CPU and only data is ever loaded.
    """
    if isinstance(max_bytes, bool) or not isinstance(max_bytes, (int, np.integer)) or max_bytes <= 0:
        raise ValueError(f"ad.load: max_bytes must be a positive number of bytes, got {max_bytes!r}")
    if map_location is not None and str(map_location) not in ("cpu", "cpu:0"):
        raise ValueError(f"ad.load: map_location={map_location!r}: autodiff runs on the CPU (numpy); "
                         "pass map_location='cpu' or leave it out")
    if weights_only is not True and weights_only is not None:
        raise ValueError("ad.load: weights_only=False would mean unpickling, which can run code from the "
                         "file; ad.load only ever reads data (leave weights_only out)")
    name = _name(path)
    if hasattr(path, "read"):
        return _Loader(path, name, int(max_bytes)).load()  # type: ignore[arg-type]  # (it has read)
    with open(os.fspath(path), "rb") as f:      # a missing or unreadable path raises OSError as open does
        return _Loader(f, name, int(max_bytes)).load()


def _name(path: _File) -> str:
    if hasattr(path, "read"):
        name = getattr(path, "name", None)
        return repr(name) if isinstance(name, (str, bytes, os.PathLike)) else "<file object>"
    return repr(os.fspath(path))


class _Header:
    """What one member's ``.npy`` header declares, and where its data starts."""
    __slots__ = ("dtype", "shape", "fortran", "offset", "nbytes")

    def __init__(self, dtype: np.dtype, shape: tuple[int, ...], fortran: bool, offset: int) -> None:
        self.dtype, self.shape, self.fortran, self.offset = dtype, shape, fortran, offset
        self.nbytes = math.prod(shape) * dtype.itemsize


class _Loader:
    def __init__(self, f: BinaryIO, name: str, max_bytes: int) -> None:
        self.f = f
        self.name = name
        self.max_bytes = max_bytes

    def corrupt(self, problem: str) -> _Refused:
        return _Refused(f"ad.load: {self.name} is corrupt: {problem}")

    def foreign(self, problem: str) -> _Refused:
        return _Refused(f"ad.load: {self.name} was not written by ad.save: {problem}")

    # -- the container ---------------------------------------------------------------------------
    def load(self) -> Any:
        try:
            return self.read()
        except _Refused:
            raise
        except _READ_ERRORS as error:       # a damage no check above foresaw: still the file's fault
            raise self.corrupt(f"it cannot be read ({_reason(error)})") from None

    def read(self) -> Any:
        f = self.f
        try:
            seekable = f.seekable()
        except (AttributeError, OSError, ValueError):
            seekable = False
        if not seekable:        # zip needs random access: read a stream, at most the bound
            f = self.f = self.read_stream(f)
        base = f.tell()         # a file object is read from where it stands, as np.load does
        f.seek(0, os.SEEK_END)
        size = f.tell()
        f.seek(base)
        start = f.read(8)
        self.sniff(start, size - base)
        self.check_directory_size(size)
        try:
            archive = zipfile.ZipFile(f)
        except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError, struct.error,
                UnicodeDecodeError, NotImplementedError) as error:
            raise self.corrupt(f"its zip directory cannot be read ({_reason(error)})") from None
        with archive:
            return self.load_archive(archive)

    def read_stream(self, f: BinaryIO) -> io.BytesIO:
        limit = self.max_bytes + _MAX_DIRECTORY_BYTES       # members plus their zip bookkeeping
        data = io.BytesIO()
        while True:
            chunk = f.read(_CHUNK)
            if not chunk:
                break
            data.write(chunk)
            if data.tell() > limit:
                raise self.too_large(f"the stream holds more than {limit} bytes")
        data.seek(0)
        return data

    def sniff(self, start: bytes, size: int) -> None:
        if size == 0:
            if self.f.tell() > 0:
                raise _Refused(f"ad.load: {self.name} has nothing left to read at its current position "
                                 "(rewind it first: f.seek(0))")
            raise _Refused(f"ad.load: {self.name} is empty (0 bytes); it is not an ad.save archive "
                             "(an interrupted copy?)")
        if start[:6] == b"\x93NUMPY":
            raise self.foreign("it holds a single .npy array, not an archive (read it with np.load)")
        if start[:1] == b"\x80" and start[1:2] in (b"\x02", b"\x03", b"\x04", b"\x05"):
            raise self.foreign("it is a Python pickle (for example a torch.save file in the legacy "
                               "format); ad.load never unpickles, because unpickling can run code from "
                               "the file. Convert it in PyTorch: ad.save({k: v.numpy() for k, v in "
                               "torch.load(path, weights_only=True).items()}, new_path)")
        if start[:4] not in (b"PK\x03\x04", b"PK\x05\x06"):
            raise self.foreign(f"it is not a zip archive (it starts with {start[:8]!r}; an ad.save file "
                               "starts with b'PK\\x03\\x04')")

    def check_directory_size(self, size: int) -> None:
        """Refuse a zip directory too large to parse, reading only the end records."""
        f = self.f
        tail_size = min(size, 22 + 0xFFFF)
        f.seek(size - tail_size)
        tail = f.read(tail_size)
        at = tail.rfind(b"PK\x05\x06")
        if at < 0 or len(tail) - at < 22:
            raise self.corrupt("it is truncated: it starts like a zip archive but has no end-of-archive "
                               "record (an interrupted copy or download?)")
        entries, directory = struct.unpack("<10xHL6x", tail[at:at + 22])
        if at >= 20 and tail[at - 20:at - 16] == b"PK\x06\x07":   # zip64: the real counts are there
            (record_at,) = struct.unpack("<8xQ4x", tail[at - 20:at])
            if record_at < size:
                f.seek(record_at)
                record = f.read(56)
                if len(record) == 56 and record[:4] == b"PK\x06\x06":
                    entries64, directory64 = struct.unpack("<32xQQ8x", record)
                    entries, directory = max(entries, entries64), max(directory, directory64)
        if entries > _MAX_MEMBERS:
            raise self.corrupt(f"its zip directory lists {entries} members (at most {_MAX_MEMBERS} are read)")
        if directory > _MAX_DIRECTORY_BYTES:
            raise self.corrupt(f"its zip directory claims {directory} bytes (at most "
                               f"{_MAX_DIRECTORY_BYTES} are read)")

    def too_large(self, problem: str) -> _Refused:
        return _Refused(f"ad.load: {self.name} is too large to load: {problem}, more than max_bytes="
                          f"{self.max_bytes}; if you trust the file, pass a larger bound: "
                          "ad.load(path, max_bytes=...)")

    def load_archive(self, archive: zipfile.ZipFile) -> Any:
        infos = archive.infolist()
        names = [info.filename for info in infos]
        if MANIFEST + ".npy" not in names:
            if any(n.endswith("data.pkl") for n in names):
                raise self.foreign("it is a torch.save file (a zip holding a pickle, "
                                   f"{next(n for n in names if n.endswith('data.pkl'))!r}); ad.load never "
                                   "unpickles. Convert it in PyTorch: ad.save({k: v.numpy() for k, v in "
                                   "torch.load(path, weights_only=True).items()}, new_path)")
            raise self.foreign(f"it has no {MANIFEST!r} manifest (members: {_listing(names)}); a plain "
                               ".npz of arrays is read with np.load(path)")
        seen = set()
        for info in infos:
            member = info.filename
            if member in seen:
                raise self.corrupt(f"it holds two members named {member!r}")
            seen.add(member)
            if "/" in member or "\\" in member or member.startswith(".") or ":" in member:
                raise self.corrupt(f"it holds a path-like member name {member[:80]!r}; ad.save writes only "
                                   "flat names such as 't0.npy'")
            if not _MEMBER.match(member):
                raise self.corrupt(f"it holds a member {member[:80]!r} that ad.save never writes")
            if info.flag_bits & 0x1:
                raise self.corrupt(f"member {member!r} is encrypted")
            if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
                raise self.corrupt(f"member {member!r} uses zip compression method {info.compress_type}; "
                                   "ad.save files are stored or deflated")
        declared = sum(info.file_size for info in infos)
        if declared > self.max_bytes:
            raise self.too_large(f"its members declare {declared} bytes uncompressed")
        members = {info.filename[:-4]: info for info in infos}
        root = self.read_manifest(archive, members.pop(MANIFEST))
        nodes = self.check_tree(root)
        refs = [node["ref"] for node in nodes]
        missing = [ref for ref in refs if ref not in members]
        if missing:
            raise self.corrupt(f"the manifest refers to an array {missing[0]!r} that the file does not hold")
        unused = sorted(set(members) - set(refs))
        if unused:
            raise self.corrupt(f"it holds arrays that its manifest does not use: {_listing(unused)}")
        headers = {}
        for node in nodes:      # every header is checked before any array is allocated
            headers[node["ref"]] = self.check_header(archive, members[node["ref"]], node)
        arrays = {ref: self.read_array(archive, members[ref], header) for ref, header in headers.items()}
        return _build(root, arrays)

    # -- the manifest ----------------------------------------------------------------------------
    def read_manifest(self, archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> Any:
        header = self.read_header(archive, info)
        if header.dtype != np.uint8 or len(header.shape) != 1:
            raise self.corrupt(f"its manifest is not a 1-D uint8 array (it is {header.dtype}, shape "
                               f"{header.shape})")
        if header.nbytes > _MAX_MANIFEST_BYTES:
            raise self.corrupt(f"its manifest claims {header.nbytes} bytes (at most {_MAX_MANIFEST_BYTES} "
                               "are read)")
        raw = self.read_array(archive, info, header)
        try:
            manifest = json.loads(raw.tobytes().decode("utf-8"), object_pairs_hook=_unique_keys,
                                  parse_constant=_no_constant)
        except _ManifestError as error:
            raise self.corrupt(f"its manifest {error}") from None
        except RecursionError:
            raise self.corrupt(f"its manifest is nested too deeply (ad.save writes at most {MAX_DEPTH} "
                               "levels)") from None
        except (UnicodeDecodeError, ValueError) as error:
            raise self.corrupt(f"its manifest is not valid JSON ({str(error)[:200]})") from None
        if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
            raise self.foreign(f"its manifest has no format marker {FORMAT!r}")
        version = manifest.get("version")
        if not isinstance(version, int) or isinstance(version, bool) or version < 1:
            raise self.corrupt("its manifest has no version number")
        if version > VERSION:
            raise _Refused(f"ad.load: {self.name} was written by a newer autodiff (format version "
                             f"{version}; this one reads up to {VERSION}); upgrade autodiff to load it")
        if "root" not in manifest:
            raise self.corrupt("its manifest has no root entry")
        self.version = version
        return manifest["root"]

    def check_tree(self, root: object) -> list[_Node]:
        """Check every manifest node (iteratively, depth-bounded) and return the array nodes in order.
        Each array may be referenced once: two tensors sharing one array would alias each other."""
        array_nodes = []
        refs = set()
        stack = [(root, 0)]
        while stack:
            node, depth = stack.pop()
            if not isinstance(node, dict) or not isinstance(node.get("type"), str):
                raise self.corrupt(f"unexpected manifest entry {str(node)[:80]!r}")
            kind = node["type"]
            allowed = _NODE_KEYS.get(kind)
            if allowed is None:
                raise self.corrupt(f"unknown entry type {kind[:40]!r} in its manifest")
            if not set(node) <= allowed:
                raise self.corrupt(f"malformed {kind} entry: unexpected field(s) "
                                   f"{sorted(set(node) - allowed)[:5]}")
            if kind in _CONTAINER_NODES:
                if depth >= MAX_DEPTH:
                    raise self.corrupt(f"its manifest is nested deeper than {MAX_DEPTH} levels")
                items = node.get("items")
                if not isinstance(items, list):
                    raise self.corrupt(f"malformed {kind} entry: its items are not a list")
                if kind != "dict":
                    stack.extend((item, depth + 1) for item in reversed(items))
                    continue
                keys = set()
                children = []
                for pair in items:
                    if not isinstance(pair, list) or len(pair) != 2:
                        raise self.corrupt(f"malformed dict entry: an item {str(pair)[:60]} is not a "
                                           "[key, value] pair")
                    key = self.key(pair[0])
                    if key in keys:
                        raise self.corrupt(f"a dict in its manifest holds the key {key!r} twice")
                    keys.add(key)
                    children.append((pair[1], depth + 1))
                stack.extend(reversed(children))
            elif kind in _ARRAY_NODES:
                ref = node.get("ref")
                if not isinstance(ref, str):
                    raise self.corrupt(f"an array reference {str(ref)[:40]} is not a name")
                if not _REF.match(ref):
                    raise self.corrupt(f"an array reference {ref[:80]!r} is not a name ad.save writes")
                if ref in refs:
                    raise self.corrupt(f"its manifest uses the array {ref!r} twice")
                refs.add(ref)
                if self.version >= 2:
                    shape, dtype = node.get("shape"), node.get("dtype")
                    if not (isinstance(shape, list) and all(type(n) is int and n >= 0 for n in shape)
                            and isinstance(dtype, str)):
                        raise self.corrupt(f"malformed {kind} entry {ref!r}: no valid shape and dtype")
                    if kind == "npscalar" and shape:
                        raise self.corrupt(f"malformed npscalar entry {ref!r}: shape {shape} is not ()")
                if kind == "tensor" and not isinstance(node.get("requires_grad", False), bool):
                    raise self.corrupt(f"malformed tensor entry {ref!r}: requires_grad is not a bool")
                array_nodes.append(node)
            else:
                self.scalar(node)
        return array_nodes

    def scalar(self, node: _Node) -> object:
        kind = node["type"]
        if kind == "none":
            return None
        if "value" not in node:
            raise self.corrupt(f"malformed {kind} entry: it has no value")
        value = node["value"]
        if kind == "float":
            if type(value) is not str:
                raise self.corrupt(f"malformed float entry: {str(value)[:40]!r} is not a float's repr")
            try:
                return float(value)
            except ValueError:
                raise self.corrupt(f"malformed float entry: {value[:40]!r} is not a float") from None
        if type(value) is not {"bool": bool, "int": int, "str": str}[kind]:
            raise self.corrupt(f"a {kind} entry holds {str(value)[:40]!r}")
        return value

    def key(self, node: object) -> object:
        if not isinstance(node, dict) or node.get("type") not in ("none", "bool", "int", "float", "str"):
            raise self.corrupt(f"malformed dict entry: key {str(node)[:60]} is not a str, int, float, bool "
                               "or None")
        if not set(node) <= _NODE_KEYS[node["type"]]:
            raise self.corrupt(f"malformed dict entry: key {str(node)[:60]} has unexpected fields")
        return self.scalar(node)

    # -- the arrays ------------------------------------------------------------------------------
    def read_header(self, archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> _Header:
        """Parse one member's .npy header (decompressing only its first bytes) and check that the
        member's declared size is exactly header + data."""
        member = info.filename
        try:
            with archive.open(info) as f:
                magic = f.read(8)
                if len(magic) != 8 or magic[:6] != b"\x93NUMPY" or magic[6:8] not in (b"\x01\x00", b"\x02\x00"):
                    raise self.corrupt(f"member {member!r} is not an .npy array (it starts with {magic!r})")
                length_format = "<H" if magic[6] == 1 else "<I"
                length_bytes = f.read(struct.calcsize(length_format))
                if len(length_bytes) != struct.calcsize(length_format):
                    raise self.corrupt(f"member {member!r} is truncated inside its header")
                (length,) = struct.unpack(length_format, length_bytes)
                if length > _MAX_HEADER_BYTES:
                    raise self.corrupt(f"member {member!r} has a {length}-byte header (at most "
                                       f"{_MAX_HEADER_BYTES})")
                text = f.read(length)
                if len(text) != length:
                    raise self.corrupt(f"member {member!r} is truncated inside its header")
                offset = 8 + len(length_bytes) + length
        except _Refused:
            raise
        except _READ_ERRORS as error:
            raise self.corrupt(f"member {member!r} cannot be read ({_reason(error)})") from None
        dtype, shape, fortran = self.parse_header(text, member)
        header = _Header(dtype, shape, fortran, offset)
        if info.file_size != offset + header.nbytes:
            raise self.corrupt(f"member {member!r} declares a {dtype} array of shape {shape} "
                               f"({header.nbytes} bytes) but holds {info.file_size - offset} bytes of data")
        return header

    def parse_header(self, text: bytes, member: str) -> tuple[np.dtype, tuple[int, ...], bool]:
        try:
            fields = ast.literal_eval(text.decode("latin1"))
        except (SyntaxError, ValueError, TypeError, MemoryError, RecursionError):
            fields = None
        if not isinstance(fields, dict) or set(fields) != {"descr", "fortran_order", "shape"}:
            raise self.corrupt(f"member {member!r} has a malformed .npy header {text[:80]!r}")
        descr, fortran, shape = fields["descr"], fields["fortran_order"], fields["shape"]
        if not isinstance(descr, str):
            raise self.corrupt(f"member {member!r} holds a structured array (dtype {str(descr)[:60]}); "
                               "ad.save writes only bool, integer, floating and complex arrays")
        try:
            dtype = np.dtype(descr)
        except (TypeError, ValueError, SyntaxError):
            raise self.corrupt(f"member {member!r} has an unknown dtype {descr[:40]!r}") from None
        if dtype.kind not in _ARRAY_KINDS or dtype.fields is not None or dtype.subdtype is not None:
            problem = ("object arrays cannot be loaded safely: reading them would run code from the file"
                       if dtype.kind == "O" else "ad.save writes only bool, integer, floating and complex "
                       "arrays")
            raise self.corrupt(f"member {member!r} has dtype {dtype}: {problem}")
        if not isinstance(fortran, bool) or not isinstance(shape, tuple) or len(shape) > 64 or \
                not all(type(n) is int and n >= 0 for n in shape):
            raise self.corrupt(f"member {member!r} has a malformed .npy header {text[:80]!r}")
        return dtype, shape, fortran

    def check_header(self, archive: zipfile.ZipFile, info: zipfile.ZipInfo, node: _Node) -> _Header:
        header = self.read_header(archive, info)
        ref = node["ref"]
        if self.version >= 2:
            shape, dtype = tuple(node["shape"]), node["dtype"]
            if header.shape != shape or header.dtype.str != dtype:
                raise self.corrupt(f"array {ref!r} is {header.dtype.str} of shape {header.shape} but its "
                                   f"manifest says {dtype[:20]} of shape {shape}")
        elif node["type"] == "npscalar" and header.shape != ():
            raise self.corrupt(f"array {ref!r} should be a scalar but has shape {header.shape}")
        if node.get("requires_grad") and header.dtype.kind not in "fc":
            raise self.corrupt(f"tensor {ref!r} is {header.dtype} but marked requires_grad (only floating "
                               "tensors can require gradients)")
        return header

    def read_array(self, archive: zipfile.ZipFile, info: zipfile.ZipInfo, header: _Header) -> np.ndarray:
        """Decompress one member's data straight into a new array, a chunk at a time."""
        member = info.filename
        buffer = np.empty(header.nbytes, np.uint8)
        view = memoryview(buffer)   # type: ignore[arg-type]  # (numpy declares __buffer__ for Python >= 3.12)
        filled = 0
        try:
            with archive.open(info) as f:
                f.read(header.offset)
                while filled < header.nbytes:
                    chunk = f.read(min(_CHUNK, header.nbytes - filled))
                    if not chunk:
                        raise self.corrupt(f"member {member!r} is truncated ({filled} of {header.nbytes} "
                                           "bytes of data)")
                    view[filled:filled + len(chunk)] = chunk
                    filled += len(chunk)
                if f.read(1):
                    raise self.corrupt(f"member {member!r} holds more data than its header says")
        except _Refused:
            raise
        except _READ_ERRORS as error:
            raise self.corrupt(f"member {member!r} cannot be read ({_reason(error)})") from None
        array = buffer.view(header.dtype).reshape(header.shape, order="F" if header.fortran else "C")
        if header.dtype.kind == "b" and header.nbytes and buffer.max() > 1:
            raise self.corrupt(f"member {member!r} is a bool array holding bytes other than 0 and 1")
        return array


class _Refused(ValueError):
    """ad.load's own refusal (the message names the file): passed through, never re-wrapped."""


class _ManifestError(ValueError):
    pass


# what reading a damaged archive can raise from zipfile, zlib, struct and in-memory files
_READ_ERRORS = (zipfile.BadZipFile, OSError, EOFError, zlib.error, NotImplementedError, RuntimeError,
                struct.error, ValueError, OverflowError, IndexError, KeyError)


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = {}
    for key, value in pairs:
        if key in result:
            raise _ManifestError(f"has the field {key[:40]!r} twice in one entry")
        result[key] = value
    return result


def _no_constant(token: str) -> NoReturn:
    raise _ManifestError(f"holds the non-JSON constant {token}")


def _reason(error: BaseException) -> str:
    return f"{type(error).__name__}: {str(error)[:200]}"


def _listing(names: Sequence[str], limit: int = 10) -> str:
    shown = ", ".join(repr(n[:60]) for n in names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def _build(node: _Node, arrays: dict[str, np.ndarray]) -> Any:
    """The object a checked manifest node describes (recursion bounded by MAX_DEPTH)."""
    kind = node["type"]
    if kind == "none":
        return None
    if kind == "float":
        return float(node["value"])
    if kind in ("bool", "int", "str"):
        return node["value"]
    if kind == "tensor":
        tensor = _wrap(arrays[node["ref"]])
        if node.get("requires_grad"):
            tensor.requires_grad = True
        return tensor
    if kind == "ndarray":
        return arrays[node["ref"]]
    if kind == "npscalar":
        return arrays[node["ref"]][()]
    if kind == "dict":
        return {_build(key, arrays): _build(value, arrays) for key, value in node["items"]}
    items = [_build(item, arrays) for item in node["items"]]
    return tuple(items) if kind == "tuple" else items
