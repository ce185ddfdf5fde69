"""ad.save / ad.load: module and optimizer state in one ``.npz`` file, without pickle.

The file is an ordinary numpy ``.npz`` archive: one member per array (``t0``, ``t1``...) plus
``__autodiff__``, a uint8 array holding a UTF-8 JSON manifest::

    {"format": "autodiff.save", "version": 1, "root": <node>}

where a node is one of ``{"type": "dict", "items": [[key_node, value_node], ...]}`` (keys keep
their Python type: str, int, float, bool, None), ``"list"``/``"tuple"`` with ``"items"``,
``{"type": "tensor", "ref": "t0", "requires_grad": false}``, ``{"type": "ndarray", "ref": "t1"}``,
``{"type": "npscalar", "ref": "t2"}`` (a numpy scalar), or a Python value: ``"int"``, ``"float"``
(as its ``repr``, so inf and nan survive), ``"bool"``, ``"str"``, ``"none"``.

Loading uses ``np.load(..., allow_pickle=False)`` and a JSON parser only: no code from the file can
run. Object arrays cannot be stored or loaded; a file that is not an archive written by
``ad.save``, or one that is truncated or corrupt, raises ``ValueError`` naming the file.
"""
import json
import os
import tempfile
import zipfile

import numpy as np

from .tensor import Tensor, _wrap

__all__ = ["save", "load"]

FORMAT = "autodiff.save"
VERSION = 1
MANIFEST = "__autodiff__"
_ARRAY_KINDS = "biufc"      # bool, ints, floats, complex: what np.load reads without pickle


def _describe_path(path):
    return "".join(f"[{key!r}]" for key in path) or "the object"


class _Encoder:
    def __init__(self):
        self.arrays = {}
        self.active = set()     # ids of the containers being encoded (cycle detection)

    def array_ref(self, array, path):
        if array.dtype.kind not in _ARRAY_KINDS:
            raise TypeError(f"ad.save: the array at {_describe_path(path)} has dtype {array.dtype}; only "
                            "bool, integer, floating and complex arrays can be saved (never object arrays, "
                            "which would need pickle)")
        ref = f"t{len(self.arrays)}"
        self.arrays[ref] = array
        return ref

    def key(self, key, path):
        if isinstance(key, (bool, str)) or key is None:
            return self.encode(key, path)
        if isinstance(key, (int, float, np.integer, np.floating)):
            return self.encode(key.item() if isinstance(key, np.generic) else key, path)
        raise TypeError(f"ad.save: dict key {key!r} at {_describe_path(path)} is a {type(key).__name__}; "
                        "keys must be str, int, float, bool or None")

    def encode(self, obj, path=()):
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
            return {"type": "tensor", "ref": self.array_ref(obj.data, path),
                    "requires_grad": bool(obj.requires_grad)}
        if isinstance(obj, np.ndarray):
            return {"type": "ndarray", "ref": self.array_ref(obj, path)}
        if isinstance(obj, np.generic):
            return {"type": "npscalar", "ref": self.array_ref(np.asarray(obj), path)}
        if isinstance(obj, (dict, list, tuple)):
            if id(obj) in self.active:
                raise ValueError(f"ad.save: {_describe_path(path)} contains itself; a structure with a "
                                 "cycle cannot be saved")
            self.active.add(id(obj))
            try:
                if isinstance(obj, dict):
                    items = [[self.key(k, path), self.encode(v, path + (k,))] for k, v in obj.items()]
                    return {"type": "dict", "items": items}
                items = [self.encode(v, path + (i,)) for i, v in enumerate(obj)]
                return {"type": "tuple" if isinstance(obj, tuple) else "list", "items": items}
            finally:
                self.active.discard(id(obj))
        raise TypeError(f"ad.save: cannot save a {type(obj).__name__} at {_describe_path(path)}; ad.save "
                        "stores nested dicts, lists and tuples of Tensors, numpy arrays, numbers, strings, "
                        "bools and None (save model.state_dict(), not the model)")


def save(obj, path):
    """Write ``obj`` (e.g. ``model.state_dict()`` or ``{"model": ..., "optimizer": ...}``) to ``path``
    as one ``.npz`` file (the name is used as given). The file is written to a temporary name and
    renamed, so an interrupted save never leaves a half-written file. ``path`` may be a writable
    binary file object instead.

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
        np.savez(path, **members)
        return
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    handle, temporary = tempfile.mkstemp(prefix=".ad-save-", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(handle, "wb") as f:
            np.savez(f, **members)
        # mkstemp makes the file private (0600); give it the mode an ordinary open() would
        os.chmod(temporary, _ordinary_mode())
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.remove(temporary)
        raise


def _ordinary_mode():
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


class _Decoder:
    def __init__(self, arrays, name):
        self.arrays = arrays
        self.name = name

    def fail(self, problem):
        return ValueError(f"ad.load: {self.name} is corrupt: {problem}")

    def array(self, node):
        ref = node.get("ref")
        if ref not in self.arrays:
            raise self.fail(f"the manifest refers to an array {ref!r} that the file does not hold")
        return self.arrays[ref]

    def decode(self, node):
        # an explicit stack would only matter past Python's recursion limit, which a state dict
        # never nears; the manifest's nesting is the saved object's nesting
        if not isinstance(node, dict) or not isinstance(node.get("type"), str):
            raise self.fail(f"unexpected manifest entry {str(node)[:80]!r}")
        kind = node["type"]
        try:
            if kind == "none":
                return None
            if kind in ("bool", "int", "str"):
                value = node["value"]
                expected = {"bool": bool, "int": int, "str": str}[kind]
                if type(value) is not expected:
                    raise self.fail(f"a {kind} entry holds {value!r}")
                return value
            if kind == "float":
                return float(node["value"])
            if kind == "tensor":
                array = self.array(node)
                tensor = _wrap(array)
                if node.get("requires_grad"):
                    tensor.requires_grad = True
                return tensor
            if kind == "ndarray":
                return self.array(node)
            if kind == "npscalar":
                return self.array(node)[()]
            if kind in ("list", "tuple"):
                items = [self.decode(item) for item in node["items"]]
                return tuple(items) if kind == "tuple" else items
            if kind == "dict":
                result = {}
                for pair in node["items"]:
                    key, value = pair
                    result[self.decode(key)] = self.decode(value)
                return result
        except (KeyError, TypeError, ValueError) as error:
            if isinstance(error, ValueError) and str(error).startswith("ad.load:"):
                raise
            raise self.fail(f"malformed {kind} entry ({error})") from None
        raise self.fail(f"unknown entry type {kind!r}")


def load(path):
    """Read what ``ad.save`` wrote: Tensors come back as Tensors, arrays as arrays, dict keys with
    their types. Never unpickles: a file not written by ``ad.save`` (including an ``.npz`` holding
    object arrays), a truncated or a corrupt one raises ``ValueError`` naming the file and the
    problem."""
    name = _name(path)
    try:
        archive = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise
    except ValueError as error:
        raise ValueError(f"ad.load: {name} was not written by ad.save: {error}") from None
    except (OSError, EOFError, zipfile.BadZipFile) as error:
        raise ValueError(f"ad.load: {name} is not a readable .npz archive (truncated or corrupt?): "
                         f"{error}") from None
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise ValueError(f"ad.load: {name} holds a single .npy array, not an archive written by ad.save")
    with archive:
        try:
            names = set(archive.files)
            if MANIFEST not in names:
                raise ValueError(f"ad.load: {name} was not written by ad.save (it has no {MANIFEST!r} "
                                 f"manifest; members: {sorted(names)[:10]})")
            manifest = _read_manifest(archive[MANIFEST], name)
            arrays = {}
            for ref in _refs(manifest["root"]):
                if not isinstance(ref, str):
                    raise ValueError(f"ad.load: {name} is corrupt: an array reference {str(ref)[:40]} is "
                                     "not a name")
                if ref in arrays:
                    continue
                if ref not in names or ref == MANIFEST:
                    raise ValueError(f"ad.load: {name} is corrupt: the manifest refers to an array {ref!r} "
                                     "that the file does not hold")
                array = archive[ref]
                if array.dtype.kind not in _ARRAY_KINDS:
                    raise ValueError(f"ad.load: {name}: member {ref!r} has dtype {array.dtype}, which "
                                     "ad.save never writes")
                arrays[ref] = array
        except ValueError as error:
            if str(error).startswith("ad.load:"):
                raise
            # numpy's refusal of object arrays ("Object arrays cannot be loaded when allow_pickle=False")
            raise ValueError(f"ad.load: {name} cannot be loaded safely: {error}") from None
        except (OSError, EOFError, zipfile.BadZipFile, KeyError) as error:
            raise ValueError(f"ad.load: {name} is truncated or corrupt: {type(error).__name__}: {error}") from None
    try:
        return _Decoder(arrays, name).decode(manifest["root"])
    except RecursionError:
        raise ValueError(f"ad.load: {name} is corrupt: its manifest is nested too deeply") from None


def _name(path):
    if hasattr(path, "read"):
        name = getattr(path, "name", None)
        return repr(name) if isinstance(name, (str, bytes, os.PathLike)) else "<file object>"
    return repr(os.fspath(path))


def _read_manifest(raw, name):
    if raw.dtype != np.uint8 or raw.ndim != 1:
        raise ValueError(f"ad.load: {name} is corrupt: its manifest is not a 1-D uint8 array")
    try:
        manifest = json.loads(raw.tobytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as error:
        raise ValueError(f"ad.load: {name} is corrupt: its manifest is not valid JSON ({error})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise ValueError(f"ad.load: {name} was not written by ad.save (its manifest has no "
                         f"format marker {FORMAT!r})")
    version = manifest.get("version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise ValueError(f"ad.load: {name} is corrupt: its manifest has no version number")
    if version > VERSION:
        raise ValueError(f"ad.load: {name} was written by a newer autodiff (format version {version}; this "
                         f"one reads up to {VERSION}); upgrade autodiff to load it")
    if "root" not in manifest:
        raise ValueError(f"ad.load: {name} is corrupt: its manifest has no root entry")
    return manifest


def _refs(root):
    """Every array name the manifest refers to (iteratively)."""
    refs = []
    stack = [root]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if node.get("type") in ("tensor", "ndarray", "npscalar"):
                refs.append(node.get("ref"))
            for value in node.values():
                if isinstance(value, (dict, list)):
                    stack.append(value)
        elif isinstance(node, list):
            stack.extend(node)
    return refs
