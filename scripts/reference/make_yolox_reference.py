#!/usr/bin/python3
"""Golden reference detections for yolox_nano_416_coco.onnx.

This is an independent Python/OpenCV re-implementation of the official YOLOX
ONNX demo pipeline (Megvii-BaseDetection/YOLOX, demo/ONNXRuntime/onnx_inference.py
together with yolox/data/data_augment.py `preproc` and yolox/utils/demo_utils.py
`demo_postprocess` / `multiclass_nms` / `nms`). It shares no code with the
tearless TypeScript implementation, and it runs the network with OpenCV's own
DNN engine (cv2.dnn), not onnxruntime, so it also cross-checks the runtime.

Run it with the Debian interpreter, which has the Debian python3-opencv and
python3-numpy packages (the pyenv python3 on PATH has no cv2):

    /usr/bin/python3 scripts/reference/make_yolox_reference.py \
        /work/shared/data/models/yolox_nano_416_coco.onnx \
        /work/shared/data/coco/val2017 \
        test/golden/yolox_nano_416_reference.json \
        --names /work/shared/data/coco/coco80_names.txt \
        --dump-input 000000000139.jpg test/golden/yolox_139_input_416.f32 \
        --resize-cases test/golden/cv2_resize_cases.json

The numpy dtype behaviour of the demo is kept on purpose (network output in
float32, decoded boxes written back into float32 arrays, NMS arithmetic in
float32, `argsort()[::-1]` for the NMS order), so that rounding and tie order
match what the official demo would print for the same network output.
"""

import argparse
import hashlib
import json
import os
import sys

import cv2
import numpy as np

INPUT_SIZE = (416, 416)  # (height, width), the demo's `input_shape`
STRIDES = (8, 16, 32)  # the demo's strides when p6=False
PAD_VALUE = 114  # the demo's letterbox fill value
DEFAULT_SCORE_THR = 0.1  # the value onnx_inference.py passes to multiclass_nms
DEFAULT_NMS_IOU = 0.45  # the value onnx_inference.py passes to multiclass_nms


# --------------------------------------------------------------------------
# 1. Pre-processing: same steps as yolox.data.data_augment.preproc
# --------------------------------------------------------------------------
def letterbox_top_left(img_bgr, input_size=INPUT_SIZE):
    """Return (HWC uint8 padded image, ratio r).

    As in the official `preproc`:
      * r = min(H_in / h, W_in / w), a Python float (double);
      * the resized size is (int(w * r), int(h * r)): truncation, not rounding;
      * cv2.resize with INTER_LINEAR (for uint8 this is OpenCV's fixed-point
        bilinear path), then .astype(uint8) (a no-op for uint8 input);
      * the image is pasted at the top-left corner of a 114-filled canvas, so
        padding is only on the right and the bottom (no centring);
      * no colour swap: the channels stay in cv2.imread's BGR order.
    """
    h, w = img_bgr.shape[:2]
    r = min(input_size[0] / h, input_size[1] / w)
    new_w, new_h = int(w * r), int(h * r)
    resized = cv2.resize(img_bgr, (new_w, new_h), interpolation=cv2.INTER_LINEAR).astype(np.uint8)
    padded = np.full((input_size[0], input_size[1], 3), PAD_VALUE, dtype=np.uint8)
    padded[:new_h, :new_w] = resized
    return padded, r


def to_network_tensor(padded_hwc):
    """HWC uint8 -> NCHW float32 [1,3,H,W].

    As in `preproc`: transpose (2,0,1) then cast to float32. Values stay raw
    0..255: no /255, no mean/std, and still BGR.
    """
    chw = np.ascontiguousarray(padded_hwc.transpose(2, 0, 1), dtype=np.float32)
    return chw[None, :, :, :]


# --------------------------------------------------------------------------
# 2. Inference with OpenCV's DNN engine (not onnxruntime)
# --------------------------------------------------------------------------
def load_net(model_path):
    net = cv2.dnn.readNetFromONNX(model_path)
    net.setPreferableBackend(cv2.dnn.DNN_BACKEND_OPENCV)
    net.setPreferableTarget(cv2.dnn.DNN_TARGET_CPU)
    return net


def run_net(net, tensor):
    net.setInput(tensor, "images")
    out = net.forward("output")  # [1, 3549, 85] float32
    return np.array(out, dtype=np.float32, copy=True)


# --------------------------------------------------------------------------
# 3. Decode: same maths as yolox.utils.demo_utils.demo_postprocess
# --------------------------------------------------------------------------
def build_grid(input_size=INPUT_SIZE, strides=STRIDES):
    """Per-row (gx, gy) cell indices and stride, in the export's row order.

    Levels go stride 8, 16, 32 (52x52, 26x26, 13x13 at 416); inside a level the
    cells are row-major (gy outer, gx inner), as np.meshgrid(arange(w), arange(h))
    followed by reshape(-1, 2) produces. Integer arrays, as in the demo.
    """
    cells, cell_strides = [], []
    for s in strides:
        hs, ws = input_size[0] // s, input_size[1] // s
        gy, gx = np.mgrid[0:hs, 0:ws]
        cells.append(np.stack((gx.ravel(), gy.ravel()), axis=1))
        cell_strides.append(np.full((hs * ws, 1), s))
    return np.concatenate(cells, 0), np.concatenate(cell_strides, 0)


def decode(raw, grid, cell_stride):
    """raw: [N, 85] float32 for one image. Returns (xywh float32, [N,80] scores float32).

    cx = (tx + gx) * s, cy = (ty + gy) * s, w = exp(tw) * s, h = exp(th) * s.
    The demo computes these in float64 (float32 + int64 arrays) and stores them
    back into the float32 output array, so we do the same.
    Score = obj * cls; in this export both are already sigmoid-activated.
    """
    pred = raw.copy()
    pred[:, 0:2] = (pred[:, 0:2] + grid) * cell_stride
    pred[:, 2:4] = np.exp(pred[:, 2:4]) * cell_stride
    scores = pred[:, 4:5] * pred[:, 5:]
    return pred[:, :4], scores


def xywh_to_xyxy_original(xywh, r):
    """Centre/size -> corners in a float32 array, then in place /= r (like the demo).

    The result is in original-image pixels. The demo does not clip to the image,
    so neither do we: boxes may extend slightly past the borders.
    """
    xyxy = np.ones_like(xywh)
    xyxy[:, 0] = xywh[:, 0] - xywh[:, 2] / 2.0
    xyxy[:, 1] = xywh[:, 1] - xywh[:, 3] / 2.0
    xyxy[:, 2] = xywh[:, 0] + xywh[:, 2] / 2.0
    xyxy[:, 3] = xywh[:, 1] + xywh[:, 3] / 2.0
    xyxy /= r
    return xyxy


# --------------------------------------------------------------------------
# 4. NMS: same algorithm as yolox.utils.demo_utils.nms / multiclass_nms_class_aware
# --------------------------------------------------------------------------
def greedy_nms_plus1(boxes, scores, iou_thr):
    """Greedy single-class NMS with the "+1 pixel" convention of demo_utils.nms.

    area = (x2 - x1 + 1) * (y2 - y1 + 1); overlap width = max(0, xx2 - xx1 + 1),
    and the same for height. A candidate is suppressed when IoU > iou_thr
    (the demo keeps those with IoU <= iou_thr). The visiting order is
    scores.argsort()[::-1], numpy's default (unstable) sort reversed, which is
    what the demo uses, so ties resolve the same way.
    """
    x1, y1, x2, y2 = boxes[:, 0], boxes[:, 1], boxes[:, 2], boxes[:, 3]
    area = (x2 - x1 + 1) * (y2 - y1 + 1)
    order = scores.argsort()[::-1]
    kept = []
    while order.size > 0:
        best, rest = order[0], order[1:]
        kept.append(best)
        iw = np.maximum(0.0, np.minimum(x2[best], x2[rest]) - np.maximum(x1[best], x1[rest]) + 1)
        ih = np.maximum(0.0, np.minimum(y2[best], y2[rest]) - np.maximum(y1[best], y1[rest]) + 1)
        inter = iw * ih
        iou = inter / (area[best] + area[rest] - inter)
        order = rest[iou <= iou_thr]
    return kept


def class_aware_nms(boxes, scores, iou_thr, score_thr):
    """Per class: keep score > score_thr (strictly), then NMS on that class only.

    Returns a list of (class_id, score, box) in class order. Like the demo, a
    box may be reported under several classes.
    """
    out = []
    for c in range(scores.shape[1]):
        cls_scores = scores[:, c]
        mask = cls_scores > score_thr
        if not mask.any():
            continue
        s, b = cls_scores[mask], boxes[mask]
        for k in greedy_nms_plus1(b, s, iou_thr):
            out.append((c, float(s[k]), [float(v) for v in b[k]]))
    return out


def class_agnostic_nms(boxes, scores, iou_thr, score_thr):
    """Like demo_utils.multiclass_nms_class_agnostic (only with --class-agnostic)."""
    cls = scores.argmax(1)
    best = scores[np.arange(len(cls)), cls]
    mask = best > score_thr
    if not mask.any():
        return []
    s, b, c = best[mask], boxes[mask], cls[mask]
    return [(int(c[k]), float(s[k]), [float(v) for v in b[k]]) for k in greedy_nms_plus1(b, s, iou_thr)]


# --------------------------------------------------------------------------
# Driver
# --------------------------------------------------------------------------
def detect_image(net, path, grid, cell_stride, score_thr, nms_iou, agnostic):
    img = cv2.imread(path)  # BGR uint8; cv2.imread applies EXIF orientation by default
    if img is None:
        raise RuntimeError("cv2.imread failed: " + path)
    padded, r = letterbox_top_left(img)
    raw = run_net(net, to_network_tensor(padded))[0]
    xywh, scores = decode(raw, grid, cell_stride)
    boxes = xywh_to_xyxy_original(xywh, r)
    nms = class_agnostic_nms if agnostic else class_aware_nms
    dets = nms(boxes, scores, nms_iou, score_thr)
    # Highest score first; ties by class id, then by the order NMS kept them.
    order = sorted(range(len(dets)), key=lambda i: (-dets[i][1], dets[i][0], i))
    return img.shape[1], img.shape[0], [dets[i] for i in order]


def dump_input(images_dir, file_name, out_path):
    """Write the network input for one image as raw little-endian float32 NCHW."""
    img = cv2.imread(os.path.join(images_dir, file_name))
    padded, _ = letterbox_top_left(img)
    tensor = to_network_tensor(padded).astype("<f4")
    data = tensor.tobytes()
    assert len(data) == 1 * 3 * INPUT_SIZE[0] * INPUT_SIZE[1] * 4
    with open(out_path, "wb") as f:
        f.write(data)
    print("wrote %s (%d bytes, sha256 %s)" % (out_path, len(data), hashlib.sha256(data).hexdigest()))


# Small, deterministic cv2.resize INTER_LINEAR (uint8) cases for unit tests.
# (name, seed, src shape (h, w, c), dsize (w, h) as cv2.resize takes it, note)
RESIZE_CASES = [
    ("down_7x5_to_4x3", 1, (7, 5, 3), (3, 4), "non-integer downscale on both axes"),
    ("mixed_33x17_to_20x29", 2, (33, 17, 3), (29, 20), "upscale width, downscale height"),
    ("up_1x1_to_4x4", 3, (1, 1, 3), (4, 4), "single pixel replicated"),
    ("up_10x7_to_23x16", 4, (10, 7, 3), (16, 23), "non-integer upscale on both axes"),
    ("down_100x60_to_37x22", 5, (100, 60, 3), (22, 37), "strong non-integer downscale"),
    ("down_48x64_ratio_0.65", 6, (48, 64, 3), (int(64 * 0.65), int(48 * 0.65)),
     "letterbox-like ratio 0.65, size truncated with int() like the YOLOX preproc"),
    ("down_exact2x_16x12_to_8x6", 7, (16, 12, 3), (6, 8),
     "exact 2x downscale: OpenCV's resize switches INTER_LINEAR to INTER_AREA here"),
]


def write_resize_cases(out_path):
    cases = []
    for name, seed, shape, dsize, note in RESIZE_CASES:
        src = np.random.default_rng(seed).integers(0, 256, size=shape, dtype=np.uint8)
        dst = cv2.resize(src, dsize, interpolation=cv2.INTER_LINEAR)
        if dst.ndim == 2:  # cv2 drops a channel axis of 1; keep HWC
            dst = dst[:, :, None]
        cases.append({
            "name": name,
            "note": note,
            "seed": seed,
            "generator": "np.random.default_rng(seed).integers(0, 256, size=src_shape, dtype=np.uint8)",
            "src_shape": list(shape),
            "dsize": list(dsize),
            "dst_shape": list(dst.shape),
            "src": src.ravel().tolist(),
            "dst": dst.ravel().tolist(),
            "dst_sha256": hashlib.sha256(dst.tobytes()).hexdigest(),
        })
    doc = {
        "made_with": "OpenCV %s (Debian python3-opencv), numpy %s, cv2.resize(src, dsize, interpolation=cv2.INTER_LINEAR)"
        % (cv2.__version__, np.__version__),
        "layout": "src and dst are flat uint8 lists in HWC row-major order (y, then x, then channel); "
        "src_shape and dst_shape are [height, width, channels]; dsize is [width, height] as cv2.resize takes it",
        "cases": cases,
    }
    with open(out_path, "w") as f:
        json.dump(doc, f, separators=(",", ":"))
        f.write("\n")
    print("wrote %s (%d cases, %d bytes)" % (out_path, len(cases), os.path.getsize(out_path)))


def format_reference_json(doc):
    """Pretty JSON with one detection per line (small diffs, easy to read)."""
    head = {k: v for k, v in doc.items() if k != "images"}
    lines = ["{"]
    for k, v in head.items():
        lines.append(" %s: %s," % (json.dumps(k), json.dumps(v)))
    lines.append(' "images": [')
    for i, im in enumerate(doc["images"]):
        lines.append('  {"file": %s, "width": %d, "height": %d, "detections": ['
                     % (json.dumps(im["file"]), im["width"], im["height"]))
        dets = [json.dumps(d, separators=(", ", ": ")) for d in im["detections"]]
        lines.extend("   " + d + ("," if j + 1 < len(dets) else "") for j, d in enumerate(dets))
        lines.append("  ]}" + ("," if i + 1 < len(doc["images"]) else ""))
    lines.append(" ]")
    lines.append("}")
    text = "\n".join(lines) + "\n"
    assert json.loads(text) == json.loads(json.dumps(doc))
    return text


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model", help="path to yolox_nano_416_coco.onnx")
    ap.add_argument("images_dir", help="folder of .jpg images")
    ap.add_argument("output_json", help="where to write the reference JSON")
    ap.add_argument("--names", default=None, help="class names, one per line (default: coco80_names.txt next to images_dir)")
    ap.add_argument("--score-thr", type=float, default=DEFAULT_SCORE_THR)
    ap.add_argument("--nms-iou", type=float, default=DEFAULT_NMS_IOU)
    ap.add_argument("--class-agnostic", action="store_true",
                    help="use multiclass_nms_class_agnostic instead of the class-aware variant")
    ap.add_argument("--dump-input", nargs=2, metavar=("FILE_NAME", "OUT_F32"),
                    help="also write the preprocessed tensor of one image as raw float32 LE")
    ap.add_argument("--resize-cases", metavar="OUT_JSON", help="also write the cv2.resize unit-test cases")
    args = ap.parse_args(argv)

    names_path = args.names or os.path.join(os.path.dirname(os.path.abspath(args.images_dir)), "coco80_names.txt")
    with open(names_path) as f:
        names = [line.strip() for line in f if line.strip()]
    assert len(names) == 80, "expected 80 class names, got %d" % len(names)

    net = load_net(args.model)
    grid, cell_stride = build_grid()
    assert grid.shape[0] == 3549

    files = sorted(fn for fn in os.listdir(args.images_dir) if fn.lower().endswith(".jpg"))
    images = []
    for fn in files:
        w, h, dets = detect_image(net, os.path.join(args.images_dir, fn), grid, cell_stride,
                                  args.score_thr, args.nms_iou, args.class_agnostic)
        images.append({
            "file": fn,
            "width": int(w),
            "height": int(h),
            "detections": [
                {"classId": int(c), "label": names[c], "score": round(s, 6), "box": [round(v, 2) for v in box]}
                for c, s, box in dets
            ],
        })

    nms_kind = "class-agnostic" if args.class_agnostic else "class-aware"
    doc = {
        "model": os.path.basename(args.model),
        "made_with": "OpenCV %s (Debian python3-opencv) cv2.dnn.readNetFromONNX, DNN_BACKEND_OPENCV/CPU; numpy %s; "
        "scripts/reference/make_yolox_reference.py re-implementing the YOLOX ONNX demo "
        "(preproc top-left letterbox pad 114, BGR 0-255; demo_postprocess decode; %s multiclass_nms "
        "with demo_utils +1-pixel IoU, suppress when IoU > nms_iou; boxes not clipped)"
        % (cv2.__version__, np.__version__, nms_kind),
        "score_thr": args.score_thr,
        "nms_iou": args.nms_iou,
        "images": images,
    }
    os.makedirs(os.path.dirname(os.path.abspath(args.output_json)), exist_ok=True)
    with open(args.output_json, "w") as f:
        f.write(format_reference_json(doc))
    total = sum(len(im["detections"]) for im in images)
    ge03 = sum(1 for im in images for d in im["detections"] if d["score"] >= 0.3)
    print("wrote %s: %d images, %d detections (%d with score >= 0.3)" % (args.output_json, len(images), total, ge03))

    if args.dump_input:
        dump_input(args.images_dir, args.dump_input[0], args.dump_input[1])
    if args.resize_cases:
        write_resize_cases(args.resize_cases)
    return 0


if __name__ == "__main__":
    sys.exit(main())
