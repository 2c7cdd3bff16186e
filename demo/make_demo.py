#!/usr/bin/python3
"""Build CamLens' bundled demo model, fully offline and deterministic.

Generates a synthetic "shapes in clutter" dataset (numpy + PIL only), trains a
small CNN with PyTorch on the CPU (one thread), exports it to ONNX and writes a
few held-out demo images with ground-truth object masks.

Run with the Debian python (needs python3-torch, python3-numpy, python3-pil):

    /usr/bin/python3 demo/make_demo.py

Outputs (all next to this file):
    model.onnx, model.json, labels.txt, model.camlens.json,
    images/<class>_<n>.png, images/<class>_<n>.mask.png, images/labels.json
"""

import datetime
import json
import math
import os
import platform
import struct
import time
from collections import Counter, OrderedDict

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

import torch
import torch.nn as nn
import torch.nn.functional as F

# --------------------------------------------------------------------------
# Constants
# --------------------------------------------------------------------------

SEED = 20240611
SIZE = 64
CLASSES = ["circle", "square", "triangle", "star"]
MEAN = [0.5, 0.5, 0.5]
STD = [0.25, 0.25, 0.25]
SS = 4  # supersampling factor used to anti-alias the foreground object

# Separate, non-overlapping seed streams for each data split.
SEED_TRAIN = SEED + 1
SEED_VAL = SEED + 2      # held-out accuracy set
SEED_DEMO = SEED + 3     # demo images (also held out)

N_TRAIN = 8000
N_VAL = 500
EPOCHS = 12
BATCH = 32
LR = 2e-3
WEIGHT_DECAY = 1e-4

HERE = os.path.dirname(os.path.abspath(__file__))
IMG_DIR = os.path.join(HERE, "images")

torch.set_num_threads(1)
try:
    torch.set_num_interop_threads(1)
except RuntimeError:
    pass


# --------------------------------------------------------------------------
# Synthetic data
# --------------------------------------------------------------------------

def _gradient_background(rng):
    """Smooth random gradient: bilinear blend of 4 random corner colours,
    plus a soft radial tint."""
    corners = rng.uniform(0, 255, size=(2, 2, 3))
    t = np.linspace(0.0, 1.0, SIZE)
    ty = t[:, None, None]
    tx = t[None, :, None]
    top = corners[0, 0] * (1 - tx) + corners[0, 1] * tx
    bot = corners[1, 0] * (1 - tx) + corners[1, 1] * tx
    bg = top * (1 - ty) + bot * ty                      # (64, 64, 3)
    cy, cx = rng.uniform(0, SIZE, size=2)
    rad = rng.uniform(20, 60)
    yy, xx = np.mgrid[0:SIZE, 0:SIZE]
    w = np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * rad ** 2))[..., None]
    tint = rng.uniform(0, 255, size=3)
    k = rng.uniform(0.0, 0.5)
    return bg * (1 - k * w) + tint * (k * w)


def _faint_blobs(rng, img):
    """1-3 blurred, semi-transparent ellipses."""
    n = int(rng.integers(1, 4))
    for _ in range(n):
        layer = Image.new("L", (SIZE, SIZE), 0)
        d = ImageDraw.Draw(layer)
        cx, cy = rng.uniform(0, SIZE, size=2)
        rx, ry = rng.uniform(4, 12, size=2)
        d.ellipse([cx - rx, cy - ry, cx + rx, cy + ry], fill=255)
        layer = layer.filter(ImageFilter.GaussianBlur(radius=float(rng.uniform(1.5, 3.5))))
        a = np.asarray(layer, dtype=np.float64)[..., None] / 255.0 * rng.uniform(0.15, 0.35)
        col = rng.uniform(0, 255, size=3)
        img = img * (1 - a) + col * a
    return img


def _draw_clutter(rng, draw, cover, n_lines, n_dots):
    """Thin random lines and small dots. `cover` (an L-mode ImageDraw or None)
    receives the same primitives in white, to know which pixels they cover."""
    for _ in range(n_lines):
        x0, y0, x1, y1 = rng.uniform(-8, SIZE + 8, size=4)
        col = tuple(int(c) for c in rng.integers(0, 256, size=3))
        draw.line([x0, y0, x1, y1], fill=col, width=1)
        if cover is not None:
            cover.line([x0, y0, x1, y1], fill=255, width=1)
    for _ in range(n_dots):
        x, y = rng.uniform(0, SIZE, size=2)
        r = float(rng.uniform(0.5, 1.6))
        col = tuple(int(c) for c in rng.integers(0, 256, size=3))
        draw.ellipse([x - r, y - r, x + r, y + r], fill=col)
        if cover is not None:
            cover.ellipse([x - r, y - r, x + r, y + r], fill=255)


def _shape_points(cls, cx, cy, radius, angle):
    """Vertices (in supersampled coordinates) of a filled shape whose
    circumscribed circle has the given radius."""
    if cls == 0:
        return None  # circle: drawn as an ellipse
    if cls == 1:
        ks = [angle + math.pi / 4 + i * math.pi / 2 for i in range(4)]
        rs = [radius] * 4
    elif cls == 2:
        ks = [angle - math.pi / 2 + i * 2 * math.pi / 3 for i in range(3)]
        rs = [radius] * 3
    else:
        ks = [angle - math.pi / 2 + i * math.pi / 5 for i in range(10)]
        rs = [radius if i % 2 == 0 else radius * 0.45 for i in range(10)]
    return [(cx + r * math.cos(k), cy + r * math.sin(k)) for k, r in zip(ks, rs)]


def make_sample(rng, cls):
    """One 64x64 RGB image (uint8 HxWx3) with exactly one object of class
    `cls`, its binary mask (uint8, 255 = visible object pixel) and bbox
    [x0, y0, x1, y1) of the whole object (exclusive max)."""
    bg = _gradient_background(rng)
    bg = _faint_blobs(rng, bg)

    # Clutter below the object.
    base = Image.fromarray(np.clip(bg, 0, 255).astype(np.uint8), "RGB")
    _draw_clutter(rng, ImageDraw.Draw(base), None,
                  int(rng.integers(1, 5)), int(rng.integers(2, 10)))
    img = np.asarray(base, dtype=np.float64)

    # Foreground object, anti-aliased via supersampling.
    size = float(rng.uniform(14, 30))      # circumscribed diameter, px
    radius = size / 2
    margin = radius + 1.0
    cx, cy = rng.uniform(margin, SIZE - margin, size=2)
    angle = float(rng.uniform(0, 2 * math.pi))
    big = Image.new("L", (SIZE * SS, SIZE * SS), 0)
    bd = ImageDraw.Draw(big)
    pts = _shape_points(cls, cx * SS, cy * SS, radius * SS, angle)
    if pts is None:
        r = radius * SS
        bd.ellipse([cx * SS - r, cy * SS - r, cx * SS + r, cy * SS + r], fill=255)
    else:
        bd.polygon(pts, fill=255)
    alpha = np.asarray(big.resize((SIZE, SIZE), Image.BOX), dtype=np.float64) / 255.0
    obj = alpha >= 0.5

    # Object colour with enough contrast to the background under it.
    under = img[obj].mean(axis=0)
    col = None
    for _ in range(100):
        c = rng.uniform(0, 255, size=3)
        if np.linalg.norm(c - under) >= 110:
            col = c
            break
    if col is None:
        col = np.zeros(3) if under.mean() > 127 else np.full(3, 255.0)
    shade = 1.0 + rng.uniform(-0.08, 0.08) * (np.mgrid[0:SIZE, 0:SIZE][0] - cy)[..., None] / max(radius, 1)
    a = alpha[..., None]
    img = img * (1 - a) + np.clip(col * shade, 0, 255) * a

    # A little clutter on top; covered pixels are not object pixels.
    top = Image.fromarray(np.clip(img, 0, 255).astype(np.uint8), "RGB")
    cover = Image.new("L", (SIZE, SIZE), 0)
    _draw_clutter(rng, ImageDraw.Draw(top), ImageDraw.Draw(cover),
                  int(rng.integers(0, 3)), int(rng.integers(0, 5)))
    img = np.asarray(top, dtype=np.float64)

    img = img + rng.normal(0, rng.uniform(2, 8), size=img.shape)
    img = np.clip(np.round(img), 0, 255).astype(np.uint8)

    ys, xs = np.nonzero(obj)
    bbox = [int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1]
    mask = (obj & (np.asarray(cover) < 128)).astype(np.uint8) * 255
    return img, mask, bbox


def make_set(seed, n):
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % len(CLASSES)
    rng.shuffle(labels)
    xs = np.empty((n, SIZE, SIZE, 3), dtype=np.uint8)
    for i, c in enumerate(labels):
        xs[i], _, _ = make_sample(rng, int(c))
    return xs, labels.astype(np.int64)


def to_tensor(xs_uint8):
    """uint8 NHWC -> normalised float32 NCHW, exactly as in model.camlens.json."""
    x = torch.from_numpy(xs_uint8).permute(0, 3, 1, 2).float() / 255.0
    mean = torch.tensor(MEAN).view(1, 3, 1, 1)
    std = torch.tensor(STD).view(1, 3, 1, 1)
    return (x - mean) / std


# --------------------------------------------------------------------------
# Model
# --------------------------------------------------------------------------

def cbr(cin, cout, stride=1, suffix=""):
    return [("conv" + suffix, nn.Conv2d(cin, cout, 3, stride, 1, bias=False)),
            ("bn" + suffix, nn.BatchNorm2d(cout)),
            ("relu" + suffix, nn.ReLU())]


class ResidualBlock(nn.Module):
    """relu(proj(x) + bn2(conv2(relu(bn1(conv1(x))))))."""

    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.relu1 = nn.ReLU()
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.proj = nn.Sequential(OrderedDict([
            ("conv", nn.Conv2d(cin, cout, 1, stride, 0, bias=False)),
            ("bn", nn.BatchNorm2d(cout)),
        ]))
        self.relu2 = nn.ReLU()

    def forward(self, x):
        y = self.relu1(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return self.relu2(self.proj(x) + y)


class ShapeNet(nn.Module):
    def __init__(self, n_classes=4):
        super().__init__()
        self.stem = nn.Sequential(OrderedDict(cbr(3, 16, stride=2)))
        self.stage1 = nn.Sequential(OrderedDict(
            cbr(16, 16, suffix="1") + cbr(16, 16, suffix="2") + [("pool", nn.MaxPool2d(2))]))
        self.stage2 = ResidualBlock(16, 32, stride=2)
        self.stage3 = nn.Sequential(OrderedDict(cbr(32, 64, stride=1)))
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.flatten = nn.Flatten()
        self.fc = nn.Linear(64, n_classes)

    def forward(self, x):
        x = self.stem(x)       # 16 x 32 x 32
        x = self.stage1(x)     # 16 x 16 x 16
        x = self.stage2(x)     # 32 x 8 x 8
        x = self.stage3(x)     # 64 x 8 x 8   <- Grad-CAM target
        return self.fc(self.flatten(self.pool(x)))


ARCH_SUMMARY = [
    "input  [N,3,64,64] float32, RGB, (x/255-0.5)/0.25",
    "stem   Conv3x3 s2(3->16) BN ReLU (zero-DC kernels) -> [N,16,32,32]",
    "stage1 Conv3x3(16->16) BN ReLU, Conv3x3(16->16) BN ReLU, MaxPool2 -> [N,16,16,16]",
    "stage2 residual: relu(proj(x) + BN(Conv3x3(32->32)(ReLU(BN(Conv3x3 s2(16->32)(x)))))), "
    "proj = Conv1x1 s2(16->32) BN    -> [N,32,8,8]",
    "stage3 Conv3x3(32->64) BN ReLU                    -> [N,64,8,8] (Grad-CAM target)",
    "pool   global average pool, flatten               -> [N,64]",
    "fc     Linear(64->4)                              -> logits [N,4]",
]


def evaluate(model, x, y, bs=250):
    model.eval()
    correct = 0
    with torch.no_grad():
        for i in range(0, len(x), bs):
            correct += (model(x[i:i + bs]).argmax(1) == y[i:i + bs]).sum().item()
    return correct / len(x)


def augment(xb, g):
    """Class-preserving augmentation of a normalised NCHW batch: dihedral
    transforms (all four shapes keep their class under flips and 90-degree
    rotations), a random colour-channel permutation and, half of the time,
    colour inversion (x -> 255 - x, which is negation after normalising with
    mean 0.5)."""
    if torch.rand(1, generator=g).item() < 0.5:
        xb = xb.flip(3)
    if torch.rand(1, generator=g).item() < 0.5:
        xb = xb.flip(2)
    k = int(torch.randint(0, 4, (1,), generator=g).item())
    if k:
        xb = torch.rot90(xb, k, (2, 3))
    xb = xb[:, torch.randperm(3, generator=g)]
    if torch.rand(1, generator=g).item() < 0.5:
        xb = -xb
    return xb


def zero_dc_stem(model):
    """Project the stem kernels to zero mean (per output and input channel):
    the stem then ignores flat colour and responds to edges only. Objects and
    backgrounds have random colours, and without this constraint the network
    spends most of its training budget on a loss plateau learning exactly
    that invariance. The exported model is an ordinary conv; nothing special
    is needed at inference time."""
    with torch.no_grad():
        w = model.stem.conv.weight
        w -= w.mean(dim=(2, 3), keepdim=True)


# --------------------------------------------------------------------------
# Minimal ONNX (protobuf) reader, only to list the exported nodes
# --------------------------------------------------------------------------

def _varint(buf, i):
    shift = result = 0
    while True:
        b = buf[i]
        i += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, i
        shift += 7


def _fields(buf):
    i = 0
    while i < len(buf):
        key, i = _varint(buf, i)
        num, wt = key >> 3, key & 7
        if wt == 0:
            v, i = _varint(buf, i)
        elif wt == 1:
            v, i = buf[i:i + 8], i + 8
        elif wt == 2:
            n, i = _varint(buf, i)
            v, i = buf[i:i + n], i + n
        elif wt == 5:
            v, i = buf[i:i + 4], i + 4
        else:
            raise ValueError("unsupported wire type %d" % wt)
        yield num, v


def _s64(v):
    return v - (1 << 64) if v >= 1 << 63 else v


def _packed_varints(buf):
    out, i = [], 0
    while i < len(buf):
        v, i = _varint(buf, i)
        out.append(_s64(v))
    return out


def _attribute(buf):
    name, val = "", None
    for fn, fv in _fields(buf):
        if fn == 1:
            name = fv.decode()
        elif fn == 2:
            val = struct.unpack("<f", fv)[0]
        elif fn == 3:
            val = _s64(fv)
        elif fn == 4:
            val = fv.decode()
        elif fn == 8:                       # ints: packed or repeated
            val = (val or []) + (_packed_varints(fv) if isinstance(fv, bytes) else [_s64(fv)])
    return name, val


def _tensor(buf):
    dims, dtype, name, raw, floats = [], 0, "", None, []
    for fn, fv in _fields(buf):
        if fn == 1:
            dims += _packed_varints(fv) if isinstance(fv, bytes) else [_s64(fv)]
        elif fn == 2:
            dtype = fv
        elif fn == 4:
            floats += list(struct.unpack("<%df" % (len(fv) // 4), fv))
        elif fn == 8:
            name = fv.decode()
        elif fn == 9:
            raw = fv
    if dtype == 1:
        arr = np.frombuffer(raw, "<f4") if raw is not None else np.array(floats, "<f4")
    elif dtype == 7:
        arr = np.frombuffer(raw, "<i8")
    else:
        raise ValueError("initializer %s: unsupported data type %d" % (name, dtype))
    return name, arr.reshape(dims).copy()


def read_onnx(path):
    """Nodes [(name, op_type, inputs, outputs, attrs)] and initializers of the
    main graph, straight from the protobuf bytes (no `onnx` package needed)."""
    data = open(path, "rb").read()
    graph = next(v for n, v in _fields(data) if n == 7)      # ModelProto.graph
    nodes, inits = [], {}
    for n, v in _fields(graph):
        if n == 1:                                             # GraphProto.node
            ins, outs, name, op, attrs = [], [], "", "", {}
            for fn, fv in _fields(v):
                if fn == 1:
                    ins.append(fv.decode())
                elif fn == 2:
                    outs.append(fv.decode())
                elif fn == 3:
                    name = fv.decode()
                elif fn == 4:
                    op = fv.decode()
                elif fn == 5:
                    k, val = _attribute(fv)
                    attrs[k] = val
            nodes.append((name, op, ins, outs, attrs))
        elif n == 5:                                           # initializer
            k, arr = _tensor(v)
            inits[k] = arr
    return nodes, inits


def run_onnx(nodes, inits, x):
    """Reference evaluation of the exported graph (only the ops this model
    uses), to check the ONNX file itself against the torch model."""
    env = {k: torch.from_numpy(v) for k, v in inits.items()}
    env["input"] = x
    for name, op, ins, outs, at in nodes:
        a = [env[i] for i in ins if i]
        if op == "Conv":
            pads = at.get("pads", [0, 0, 0, 0])
            assert pads[:2] == pads[2:], "asymmetric pads"
            y = F.conv2d(a[0], a[1], a[2] if len(a) > 2 else None,
                         stride=at.get("strides", [1, 1]), padding=pads[:2],
                         dilation=at.get("dilations", [1, 1]), groups=at.get("group", 1))
        elif op == "Relu":
            y = F.relu(a[0])
        elif op == "Add":
            y = a[0] + a[1]
        elif op == "MaxPool":
            pads = at.get("pads", [0, 0, 0, 0])
            y = F.max_pool2d(a[0], at["kernel_shape"], at.get("strides", at["kernel_shape"]),
                             pads[:2], ceil_mode=bool(at.get("ceil_mode", 0)))
        elif op == "GlobalAveragePool":
            y = a[0].mean(dim=(2, 3), keepdim=True)
        elif op == "Flatten":
            y = a[0].flatten(at.get("axis", 1))
        elif op == "Gemm":
            A = a[0].t() if at.get("transA", 0) else a[0]
            B = a[1].t() if at.get("transB", 0) else a[1]
            y = at.get("alpha", 1.0) * (A @ B)
            if len(a) > 2:
                y = y + at.get("beta", 1.0) * a[2]
        else:
            raise ValueError("reference evaluator: unsupported op %s" % op)
        env[outs[0]] = y
    return env


# --------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------

def main():
    t_all = time.time()
    torch.manual_seed(SEED)
    torch.use_deterministic_algorithms(True)
    os.makedirs(IMG_DIR, exist_ok=True)

    t0 = time.time()
    xtr, ytr = make_set(SEED_TRAIN, N_TRAIN)
    xva, yva = make_set(SEED_VAL, N_VAL)
    t_gen = time.time() - t0
    print("generated %d train + %d held-out images in %.1fs" % (N_TRAIN, N_VAL, t_gen), flush=True)
    Xtr, Ytr = to_tensor(xtr), torch.from_numpy(ytr)
    Xva, Yva = to_tensor(xva), torch.from_numpy(yva)

    model = ShapeNet(len(CLASSES))
    zero_dc_stem(model)
    n_params = sum(p.numel() for p in model.parameters())
    print("params:", n_params, flush=True)

    steps_per_epoch = N_TRAIN // BATCH
    total_steps = EPOCHS * steps_per_epoch
    opt = torch.optim.AdamW(model.parameters(), lr=LR, weight_decay=WEIGHT_DECAY)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=LR, total_steps=total_steps,
                                                pct_start=0.1)
    g = torch.Generator().manual_seed(SEED)

    t0 = time.time()
    step = 0
    history = []
    for epoch in range(EPOCHS):
        model.train()
        perm = torch.randperm(N_TRAIN, generator=g)
        run_loss = 0.0
        for b in range(steps_per_epoch):
            idx = perm[b * BATCH:(b + 1) * BATCH]
            xb = augment(Xtr[idx], g)
            loss = F.cross_entropy(model(xb), Ytr[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            zero_dc_stem(model)
            step += 1
            run_loss += loss.item()
        acc = evaluate(model, Xva, Yva)
        history.append({"epoch": epoch + 1, "train_loss": round(run_loss / steps_per_epoch, 4),
                        "heldout_acc": acc})
        print("epoch %d  loss %.4f  held-out acc %.4f  (%.0fs)"
              % (epoch + 1, run_loss / steps_per_epoch, acc, time.time() - t0), flush=True)
    t_train = time.time() - t0
    model.eval()
    heldout_acc = evaluate(model, Xva, Yva)
    with torch.no_grad():
        pred = torch.cat([model(Xva[i:i + 250]).argmax(1) for i in range(0, N_VAL, 250)])
    confusion = [[int(((Yva == t) & (pred == p)).sum()) for p in range(len(CLASSES))]
                 for t in range(len(CLASSES))]

    # ---- ONNX export ----
    onnx_path = os.path.join(HERE, "model.onnx")
    dummy = torch.zeros(1, 3, SIZE, SIZE)
    torch.onnx.export(model.eval(), dummy, onnx_path, opset_version=17,
                      input_names=["input"], output_names=["logits"],
                      dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}},
                      do_constant_folding=True)
    nodes, inits = read_onnx(onnx_path)
    op_hist = dict(sorted(Counter(n[1] for n in nodes).items()))
    relus = [n for n in nodes if n[1] == "Relu"]
    last_relu = relus[-1]
    print("onnx: %d bytes, ops %s" % (os.path.getsize(onnx_path), op_hist))
    print("last conv-block ReLU: node %s -> %s" % (last_relu[0], last_relu[3][0]))

    # Check the ONNX file itself: evaluate its graph with the reference
    # evaluator above and compare with the torch model.
    with torch.no_grad():
        xs = Xva[:64]
        env = run_onnx(nodes, inits, xs)
        onnx_diff = (env["logits"] - model(xs)).abs().max().item()
        onnx_acc = (run_onnx(nodes, inits, Xva)["logits"].argmax(1) == Yva).float().mean().item()
    print("ONNX reference evaluation: max |logits - torch| = %.2e, held-out acc %.4f"
          % (onnx_diff, onnx_acc))
    assert onnx_diff < 1e-3, onnx_diff
    cam_shape = list(env[last_relu[3][0]].shape[1:])

    # ---- demo images (held out; separate seed) ----
    rng = np.random.default_rng(SEED_DEMO)
    entries = []
    demo_preds = []
    for c, name in enumerate(CLASSES):
        for k in (1, 2):
            img, mask, bbox = make_sample(rng, c)
            fname = "%s_%d.png" % (name, k)
            mname = "%s_%d.mask.png" % (name, k)
            Image.fromarray(img, "RGB").save(os.path.join(IMG_DIR, fname), optimize=True)
            Image.fromarray(mask, "L").save(os.path.join(IMG_DIR, mname), optimize=True)
            entries.append({"file": fname, "mask": mname, "label": c, "class_name": name,
                            "bbox_xyxy": bbox})
            with torch.no_grad():
                p = torch.softmax(model(to_tensor(img[None])), 1)[0]
            demo_preds.append({"file": fname, "pred": int(p.argmax()),
                               "pred_name": CLASSES[int(p.argmax())],
                               "prob": round(float(p.max()), 4)})
    with open(os.path.join(IMG_DIR, "labels.json"), "w") as f:
        json.dump(entries, f, indent=2)
        f.write("\n")

    with open(os.path.join(HERE, "labels.txt"), "w") as f:
        f.write("\n".join(CLASSES) + "\n")

    # CamLens' sidecar config (the contract in the project README): x = (pixel/scale - mean)/std.
    with open(os.path.join(HERE, "model.camlens.json"), "w") as f:
        json.dump({"input": {"size": [SIZE, SIZE], "resize": "stretch", "scale": 255, "mean": MEAN,
                             "std": STD, "channels": "RGB", "layout": "NCHW"},
                   "labels": "labels.txt"}, f, indent=2)
        f.write("\n")

    facts = OrderedDict([
        ("name", "camlens-shapes-demo"),
        ("classes", CLASSES),
        ("seed", SEED),
        ("train_images", N_TRAIN),
        ("heldout_images", N_VAL),
        ("epochs", EPOCHS),
        ("batch_size", BATCH),
        ("steps", step),
        ("optimizer", "AdamW lr=%g wd=%g, OneCycle" % (LR, WEIGHT_DECAY)),
        ("augmentation", "random flips, 90-degree rotations, colour-channel permutation, colour inversion"),
        ("constraint", "stem conv kernels projected to zero mean (edge detectors) after every step"),
        ("heldout_accuracy", heldout_acc),
        ("heldout_confusion", confusion),
        ("history", history),
        ("param_count", n_params),
        ("onnx_bytes", os.path.getsize(onnx_path)),
        ("onnx_opset", 17),
        ("onnx_op_histogram", op_hist),
        ("onnx_nodes", [n[0] for n in nodes]),
        ("gradcam_target", {"node": last_relu[0], "output": last_relu[3][0],
                            "shape": ["batch"] + cam_shape}),
        ("onnx_vs_torch_max_abs_logit_diff", onnx_diff),
        ("onnx_heldout_accuracy", onnx_acc),
        ("demo_predictions", demo_preds),
        ("torch_version", torch.__version__),
        ("numpy_version", np.__version__),
        ("python_version", platform.python_version()),
        ("threads", torch.get_num_threads()),
        ("data_generation_seconds", round(t_gen, 1)),
        ("training_seconds", round(t_train, 1)),
        ("date", datetime.date.today().isoformat()),
        ("architecture", ARCH_SUMMARY),
    ])
    with open(os.path.join(HERE, "model.json"), "w") as f:
        json.dump(facts, f, indent=2)
        f.write("\n")

    print("held-out accuracy: %.4f  (train %.0fs, total %.0fs)"
          % (heldout_acc, t_train, time.time() - t_all))
    print("demo predictions:", demo_preds)


if __name__ == "__main__":
    main()
