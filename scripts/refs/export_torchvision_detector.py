"""Exports torchvision detectors (NMS inside the graph) to ONNX for CamLens's If/Loop work.

Run:  /usr/bin/python3 scripts/refs/export_torchvision_detector.py [--out /tmp/models] [--tiny test/fixtures/tvdetect]
  (torch 1.13 / torchvision 0.14; weights are seeded random, not trained: labels mean nothing.)

Writes
  OUT/ssdlite320.onnx  torchvision ssdlite320_mobilenet_v3_large (weights=None), 320x320, opset 13.
  TINY/tiny_ssd.onnx   (with --tiny) a torchvision `SSD` with a two-layer backbone and 4 classes: the
                       same transform + post-processing graph (TopK, batched NMS, score threshold)
                       in well under 1.5 MB, for tests that must always run.
Both take `images` float32 [1, 3, H, W] in [0, 1] and return boxes [N, 4], scores [N], labels [N].
"""
import argparse
import collections
import os
import time

import torch
import torchvision
from torch import nn
from torchvision.models.detection.ssd import SSD
from torchvision.models.detection.anchor_utils import DefaultBoxGenerator
from torchvision.models.detection.ssd import SSDHead


class TinyBackbone(nn.Module):
    """Two feature maps (stride 8 and 16), as SSD wants an OrderedDict of them."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 8, 3, 2, 1), nn.ReLU(), nn.Conv2d(8, 8, 3, 2, 1), nn.ReLU(), nn.Conv2d(8, 16, 3, 2, 1), nn.ReLU())
        self.down = nn.Sequential(nn.Conv2d(16, 16, 3, 2, 1), nn.ReLU())

    def forward(self, x):
        a = self.stem(x)
        return collections.OrderedDict([("0", a), ("1", self.down(a))])


def tiny_ssd():
    anchors = DefaultBoxGenerator([[2], [2]])
    head = SSDHead([16, 16], anchors.num_anchors_per_location(), 4)
    # Small thresholds so that random weights still keep detections after NMS.
    return SSD(TinyBackbone(), anchors, (64, 64), 4, head=head, score_thresh=0.01, topk_candidates=20, detections_per_img=10,
               image_mean=[0.485, 0.456, 0.406], image_std=[0.229, 0.224, 0.225])


def export(model, size, path, opset):
    model.eval()
    x = torch.rand(1, 3, size, size, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        out = model(x)[0]
    t0 = time.time()
    torch.onnx.export(model, (x,), path, opset_version=opset, do_constant_folding=True, input_names=["images"],
                      output_names=["boxes", "scores", "labels"])
    print(f"{path}: {os.path.getsize(path)} bytes, {time.time() - t0:.1f} s, torch detections {out['boxes'].shape[0]}, "
          f"top score {out['scores'][:1].tolist()}")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--out", default="/tmp/models")
    p.add_argument("--tiny", default=None)
    p.add_argument("--opset", type=int, default=13)
    args = p.parse_args()
    torch.manual_seed(0)
    if args.tiny:
        os.makedirs(args.tiny, exist_ok=True)
        export(tiny_ssd(), 64, os.path.join(args.tiny, "tiny_ssd.onnx"), args.opset)
    if args.out:
        os.makedirs(args.out, exist_ok=True)
        torch.manual_seed(0)
        m = torchvision.models.detection.ssdlite320_mobilenet_v3_large(weights=None, weights_backbone=None)
        export(m, 320, os.path.join(args.out, "ssdlite320.onnx"), args.opset)


if __name__ == "__main__":
    main()
