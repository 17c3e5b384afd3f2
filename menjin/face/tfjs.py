"""A small NumPy runner for TF.js graph models (model.json + .bin shards), float32 on the CPU.

Why: the face models worth measuring against dlib ship as TF.js graph models inside npm packages, and
a gate should not need a JavaScript runtime or a deep-learning framework to run them. Only the ops
those models use are implemented; any other op fails at load time, by name, rather than giving wrong
numbers. Layout is NHWC with TF's SAME/VALID padding rules.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

Attrs = Mapping[str, Any]
Op = Callable[[list[np.ndarray], Attrs], np.ndarray]

_DTYPES = {"float32": np.float32, "int32": np.int32, "uint8": np.uint8, "uint16": np.uint16}
_QUANTISED = {"uint8": np.uint8, "uint16": np.uint16, "float16": np.float16}
_NOT_COMPUTED = {"Const", "Placeholder"}


class UnsupportedModel(ValueError):
    """The model uses an op or an attribute this runner does not implement."""


class GraphModel:
    """A TF.js graph model, loaded once and run on NumPy arrays."""

    def __init__(self, model_json: Path) -> None:
        document = json.loads(model_json.read_text(encoding="utf-8"))
        nodes = {node["name"]: node for node in document["modelTopology"]["node"]}
        self.name = model_json.stem
        self.constants = _weights(document["weightsManifest"], model_json.parent)
        self.inputs = [name for name, node in nodes.items() if node["op"] == "Placeholder"]
        signature = document.get("signature") or document.get("userDefinedMetadata", {}).get("signature")
        declared = [o["name"] for o in (signature or {}).get("outputs", {}).values()]
        consumed = {_ref(i) for node in nodes.values() for i in node.get("input", [])}
        self.outputs = [_ref(n) for n in declared] or [n for n in nodes if n not in consumed]
        self._plan = [(nodes[n], _op(nodes[n], self.name)) for n in _order(nodes, self.outputs)]
        missing = [n for n, node in nodes.items() if node["op"] == "Const" and n not in self.constants]
        if missing:
            raise UnsupportedModel(f"{self.name}: no weights for constants {missing[:3]}")

    def run(self, feeds: np.ndarray | Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Every output by name; `feeds` is an NHWC float32 batch, or arrays by input name."""
        if isinstance(feeds, np.ndarray):
            feeds = dict.fromkeys(self.inputs, feeds)
        values: dict[str, np.ndarray] = {**self.constants}
        values.update({name: np.asarray(array, np.float32) for name, array in feeds.items()})
        for node, op in self._plan:
            if node["op"] == "Placeholder" and node["name"] not in values:
                raise KeyError(f"{self.name}: no value fed for input {node['name']!r}")
            if op is not None:
                args = [values[_ref(i)] for i in node.get("input", []) if not i.startswith("^")]
                values[node["name"]] = op(args, node.get("attr", {}))
        return {name: values[name] for name in self.outputs}


def _ref(name: str) -> str:
    """A node's name from an input reference (`name`, `name:0`, `^name` for a control edge)."""
    name = name.removeprefix("^")
    head, _, index = name.rpartition(":")
    if head and index.isdigit():
        if index != "0":
            raise UnsupportedModel(f"second outputs of ops are not supported ({name})")
        return head
    return name


def _order(nodes: Mapping[str, Any], outputs: Sequence[str]) -> list[str]:
    """The nodes the outputs need, each after its inputs (iterative depth-first search)."""
    order: list[str] = []
    state: dict[str, bool] = {}  # False: being visited, True: done
    for output in outputs:
        stack = [(output, False)]
        while stack:
            name, expanded = stack.pop()
            if expanded:
                state[name] = True
                order.append(name)
                continue
            if state.get(name) is True:
                continue
            if name not in nodes:
                raise UnsupportedModel(f"node {name!r} is referenced but not defined")
            if state.get(name) is False:
                raise UnsupportedModel(f"the graph has a cycle through {name!r}")
            state[name] = False
            stack.append((name, True))
            stack += [
                (_ref(i), False) for i in nodes[name].get("input", []) if state.get(_ref(i)) is not True
            ]
    return order


def _weights(manifest: list[dict[str, Any]], folder: Path) -> dict[str, np.ndarray]:
    """Every constant in the manifest, dequantised to its declared dtype (affine uint8/uint16, float16)."""
    found: dict[str, np.ndarray] = {}
    for group in manifest:
        buffer = b"".join((folder / path).read_bytes() for path in group["paths"])
        offset = 0
        for entry in group["weights"]:
            dtype, quantisation = entry["dtype"], entry.get("quantization")
            if dtype not in _DTYPES:
                raise UnsupportedModel(f"weight {entry['name']!r} has dtype {dtype!r}")
            stored = _QUANTISED[quantisation["dtype"]] if quantisation else _DTYPES[dtype]
            count = int(np.prod(entry["shape"], dtype=np.int64))
            raw = np.frombuffer(buffer, stored, count, offset)
            offset += count * raw.itemsize
            if quantisation and quantisation["dtype"] != "float16":
                raw = raw * np.float32(quantisation["scale"]) + np.float32(quantisation["min"])
            found[entry["name"]] = raw.astype(_DTYPES[dtype]).reshape(entry["shape"])
        if offset != len(buffer):
            raise UnsupportedModel(f"the weights take {offset} bytes but {group['paths']} hold {len(buffer)}")
    return found


def _attr(attrs: Attrs, key: str, default: Any = None) -> Any:
    """One attribute in TF's protobuf-as-JSON form: ints come as strings and strings as base64."""
    value = attrs.get(key)
    if value is None:
        return default
    if "list" in value:
        items = value["list"]
        return [int(i) for i in items.get("i", [])] or [
            base64.b64decode(s).decode() for s in items.get("s", [])
        ]
    if "s" in value:
        return base64.b64decode(value["s"]).decode()
    if "i" in value:
        return int(value["i"])
    if "f" in value:
        return float(value["f"])
    return value.get("b", default)


def _op(node: Mapping[str, Any], model: str) -> Op | None:
    name, kind, attrs = node["name"], node["op"], node.get("attr", {})
    if kind in _NOT_COMPUTED:
        return None
    if kind not in OPS:
        raise UnsupportedModel(f"{model}: op {kind!r} (node {name!r}) is not implemented by menjin.face.tfjs")
    if _attr(attrs, "data_format", "NHWC") != "NHWC":
        raise UnsupportedModel(f"{model}: node {name!r} is not NHWC")
    if any(d != 1 for d in _attr(attrs, "dilations", [])):
        raise UnsupportedModel(f"{model}: node {name!r} uses dilated convolution")
    if _attr(attrs, "padding", "VALID") not in ("SAME", "VALID"):
        raise UnsupportedModel(f"{model}: node {name!r} uses {_attr(attrs, 'padding')} padding")
    unknown = set(_attr(attrs, "fused_ops", [])) - {"BiasAdd"} - set(_ACTIVATIONS)
    if unknown:
        raise UnsupportedModel(f"{model}: node {name!r} fuses {sorted(unknown)}, not implemented")
    return OPS[kind]


# Convolution and pooling.


def _same_padding(size: int, kernel: int, stride: int) -> tuple[int, int]:
    """TF's SAME rule: output ceil(size / stride), the odd pixel of padding goes after."""
    total = max((-(-size // stride) - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


def _windows(x: np.ndarray, kernel: tuple[int, int], attrs: Attrs, fill: float = 0.0) -> np.ndarray:
    """Strided view (N, OH, OW, C, KH, KW) of the input's windows, padded as the op says."""
    (kh, kw), (_, sh, sw, _) = kernel, _attr(attrs, "strides")
    if _attr(attrs, "padding") == "SAME":
        pads = ((0, 0), _same_padding(x.shape[1], kh, sh), _same_padding(x.shape[2], kw, sw), (0, 0))
        x = np.pad(x, pads, constant_values=fill)
    return sliding_window_view(x, (kh, kw), axis=(1, 2))[:, ::sh, ::sw]


def _conv2d(x: np.ndarray, f: np.ndarray, attrs: Attrs) -> np.ndarray:
    """im2col + one matmul (a plain matmul for 1×1 convolutions at stride 1)."""
    kh, kw, channels, out = f.shape
    if (kh, kw) == (1, 1) and _attr(attrs, "strides") == [1, 1, 1, 1]:
        return (x.reshape(-1, channels) @ f.reshape(channels, out)).reshape(*x.shape[:3], out)
    windows = _windows(x, (kh, kw), attrs)  # N, OH, OW, C, KH, KW
    n, oh, ow = windows.shape[:3]
    columns = windows.transpose(0, 1, 2, 4, 5, 3).reshape(n * oh * ow, kh * kw * channels)
    return (columns @ f.reshape(kh * kw * channels, out)).reshape(n, oh, ow, out)


def _depthwise(x: np.ndarray, f: np.ndarray, attrs: Attrs) -> np.ndarray:
    """One multiply-add per kernel tap over all channels; filter (KH, KW, C, multiplier)."""
    kh, kw, channels, multiplier = f.shape
    windows = _windows(x, (kh, kw), attrs)
    out = np.zeros((*windows.shape[:3], channels, multiplier), np.float32)
    for i in range(kh):
        for j in range(kw):
            out += windows[..., i, j, None] * f[i, j]
    return out.reshape(*out.shape[:3], channels * multiplier)


def _fused(compute: Callable[[np.ndarray, np.ndarray, Attrs], np.ndarray]) -> Op:
    """Grappler's fused form: the op, then `BiasAdd` and an activation as `fused_ops` lists them."""

    def op(args: list[np.ndarray], attrs: Attrs) -> np.ndarray:
        y = compute(args[0], args[1], attrs)
        extra = iter(args[2:])
        for fused in _attr(attrs, "fused_ops", []):
            y = y + next(extra) if fused == "BiasAdd" else _ACTIVATIONS[fused](y)
        return y

    return op


def _matmul(a: np.ndarray, b: np.ndarray, attrs: Attrs) -> np.ndarray:
    return (a.T if _attr(attrs, "transpose_a", False) else a) @ (
        b.T if _attr(attrs, "transpose_b", False) else b
    )


def _max_pool(args: list[np.ndarray], attrs: Attrs) -> np.ndarray:
    _, kh, kw, _ = _attr(attrs, "ksize")
    return _windows(args[0], (kh, kw), attrs, fill=-np.inf).max(axis=(4, 5))


# Everything else.


def _softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _reduce(reduce: Callable[..., np.ndarray]) -> Op:
    def op(args: list[np.ndarray], attrs: Attrs) -> np.ndarray:
        axes = tuple(int(a) for a in np.atleast_1d(args[1]))
        return reduce(args[0], axis=axes, keepdims=bool(_attr(attrs, "keep_dims", False)))

    return op


def _squeeze(args: list[np.ndarray], attrs: Attrs) -> np.ndarray:
    axes = _attr(attrs, "squeeze_dims", [])
    return np.squeeze(args[0], axis=tuple(axes) if axes else None)


def _unary(fn: Callable[[np.ndarray], np.ndarray]) -> Op:
    return lambda args, _: fn(args[0])


def _binary(fn: Callable[[np.ndarray, np.ndarray], np.ndarray]) -> Op:
    return lambda args, _: fn(args[0], args[1])


_ACTIVATIONS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "Relu": lambda x: np.maximum(x, np.float32(0)),
    "Relu6": lambda x: np.clip(x, np.float32(0), np.float32(6)),
    "Sigmoid": lambda x: np.float32(0.5) * (np.float32(1) + np.tanh(np.float32(0.5) * x)),  # cannot overflow
}

OPS: dict[str, Op] = {
    "Identity": _unary(lambda x: x),
    **{name: _unary(fn) for name, fn in _ACTIVATIONS.items()},
    "Abs": _unary(np.abs),
    "Square": _unary(np.square),
    "Rsqrt": _unary(lambda x: np.float32(1) / np.sqrt(x)),
    "Softmax": _unary(_softmax),
    "Add": _binary(np.add),
    "AddV2": _binary(np.add),
    "BiasAdd": _binary(np.add),
    "Sub": _binary(np.subtract),
    "Mul": _binary(np.multiply),
    "Maximum": _binary(np.maximum),
    "Minimum": _binary(np.minimum),
    "Reshape": _binary(lambda x, shape: x.reshape(shape)),
    "Pad": _binary(lambda x, pads: np.pad(x, pads.tolist())),
    "Squeeze": _squeeze,
    "Sum": _reduce(np.sum),
    "Mean": _reduce(np.mean),
    "MaxPool": _max_pool,
    "Conv2D": _fused(_conv2d),
    "_FusedConv2D": _fused(_conv2d),
    "DepthwiseConv2dNative": _fused(_depthwise),
    "FusedDepthwiseConv2dNative": _fused(_depthwise),
    "MatMul": _fused(_matmul),
    "_FusedMatMul": _fused(_matmul),
}
