"""A hard VOC-format detection set, generated deterministically (the demo generator's 'hard'
preset): 20 shape classes whose colour says nothing about the class, 10-100 px objects that
occlude each other and leave the image, tilted (at most ±20°), stretched and deformed, with
striped or noisy fills, on cluttered textured backgrounds with distractor shapes of no class.
Tiny or mostly hidden objects are marked ``difficult`` (VOC evaluation ignores them).

The demo set (``make_voc``) gives every class its own colour, so a detector can tell classes
apart from one pixel; here only shape separates them, which is what a backbone has to learn.
"""
import math
import random
from typing import List, Tuple

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from .writers import write_imagefolder, write_voc

HARD_CLASSES = ('circle', 'square', 'triangle', 'diamond', 'cross', 'ring', 'hbar', 'vbar',
                'star', 'chevron', 'pentagon', 'hexagon', 'arrow', 'tee', 'ell', 'trapezoid',
                'crescent', 'semicircle', 'frame', 'xshape')

# bump when the presets' defaults change: ensure_demo_data regenerates older folders
HARD_DATA_VERSION = '2'

Point = Tuple[float, float]
# Objects are tilted by at most this many radians: a free rotation would turn a square into a
# diamond, a cross into an xshape and an hbar into a vbar, i.e. make those classes identical.
MAX_TILT = math.radians(20)


def _regular(n: int, start: float = -math.pi / 2) -> List[Point]:
    return [(math.cos(start + 2 * math.pi * k / n), math.sin(start + 2 * math.pi * k / n))
            for k in range(n)]


# unit outlines in [-1, 1]^2 (shapes with holes are drawn in _object_mask)
def _outline(cls: str) -> List[List[Point]]:
    if cls == 'circle':
        return [_regular(40)]
    if cls == 'square':
        return [[(-1, -1), (1, -1), (1, 1), (-1, 1)]]
    if cls == 'triangle':
        return [[(0, -1), (1, 1), (-1, 1)]]
    if cls == 'diamond':
        return [[(0, -1), (1, 0), (0, 1), (-1, 0)]]
    if cls == 'cross':
        t = 0.35
        return [[(-1, -t), (1, -t), (1, t), (-1, t)], [(-t, -1), (t, -1), (t, 1), (-t, 1)]]
    if cls == 'hbar':
        return [[(-1, -0.3), (1, -0.3), (1, 0.3), (-1, 0.3)]]
    if cls == 'vbar':
        return [[(-0.3, -1), (0.3, -1), (0.3, 1), (-0.3, 1)]]
    if cls == 'star':
        return [[(r * x, r * y) for k, (x, y) in enumerate(_regular(10))
                 for r in [1.0 if k % 2 == 0 else 0.45]]]
    if cls == 'chevron':
        return [[(-1, -1), (0, 0.1), (1, -1), (1, -0.4), (0, 0.7), (-1, -0.4)]]
    if cls == 'pentagon':
        return [_regular(5)]
    if cls == 'hexagon':
        return [_regular(6, 0.0)]
    if cls == 'arrow':
        return [[(-1, -0.25), (0.2, -0.25), (0.2, -0.7), (1, 0), (0.2, 0.7), (0.2, 0.25),
                 (-1, 0.25)]]
    if cls == 'tee':
        return [[(-1, -1), (1, -1), (1, -0.45), (0.25, -0.45), (0.25, 1), (-0.25, 1),
                 (-0.25, -0.45), (-1, -0.45)]]
    if cls == 'ell':
        return [[(-1, -1), (-0.45, -1), (-0.45, 0.45), (1, 0.45), (1, 1), (-1, 1)]]
    if cls == 'trapezoid':
        return [[(-0.45, -0.8), (0.45, -0.8), (1, 0.8), (-1, 0.8)]]
    if cls == 'semicircle':
        return [[(math.cos(a), math.sin(a) + 0.5) for a in np.linspace(math.pi, 2 * math.pi, 24)]]
    raise KeyError(cls)


def _transform(poly: List[Point], cx: float, cy: float, rx: float, ry: float, angle: float,
               rng: random.Random, deform: float) -> List[Point]:
    ca, sa = math.cos(angle), math.sin(angle)
    out = []
    for x, y in poly:
        x += rng.uniform(-deform, deform)
        y += rng.uniform(-deform, deform)
        x, y = x * rx, y * ry
        out.append((cx + x * ca - y * sa, cy + x * sa + y * ca))
    return out


FILLS = ('plain', 'plain', 'stripes', 'noise')


def _fill(rng: random.Random, size: Tuple[int, int], fills=FILLS) -> Image.Image:
    """A random colour, plain, striped or noisy: colour and texture carry no class."""
    w, h = size
    base = np.array([rng.randint(0, 255) for _ in range(3)], dtype=np.float32)
    kind = rng.choice(fills)
    img = np.tile(base, (h, w, 1))
    if kind == 'stripes':
        other = np.array([rng.randint(0, 255) for _ in range(3)], dtype=np.float32)
        period = rng.randint(3, 8)
        yy, xx = np.mgrid[0:h, 0:w]
        on = ((xx + yy * rng.choice((0, 1, -1))) // period) % 2 == 0
        img[on] = other
    elif kind == 'noise':
        img += np.random.default_rng(rng.randint(0, 2**31)).normal(0, 40, img.shape)
    return Image.fromarray(np.clip(img, 0, 255).astype(np.uint8))


def _background(rng: random.Random, w: int, h: int) -> Image.Image:
    """A gradient with blobs, lines and noise."""
    g = np.random.default_rng(rng.randint(0, 2**31))
    c0, c1 = g.uniform(40, 220, 3), g.uniform(40, 220, 3)
    t = np.linspace(0, 1, w)[None, :, None] if rng.random() < 0.5 else \
        np.linspace(0, 1, h)[:, None, None]
    img = np.broadcast_to(c0 * (1 - t) + c1 * t, (h, w, 3)).copy()
    img += g.normal(0, 12, img.shape)
    out = Image.fromarray(np.clip(img, 0, 255).astype(np.uint8))
    d = ImageDraw.Draw(out)
    for _ in range(rng.randint(4, 9)):  # soft blobs: blurred well beyond any object's edges
        col = tuple(int(v) for v in g.uniform(0, 255, 3))
        x, y, s = rng.randint(0, w), rng.randint(0, h), rng.randint(6, max(7, w // 4))
        d.ellipse((x - s, y - s * rng.uniform(0.4, 1.0), x + s, y + s), fill=col)
    out = out.filter(ImageFilter.GaussianBlur(rng.uniform(4, 7)))
    d = ImageDraw.Draw(out)
    for _ in range(rng.randint(2, 6)):
        col = tuple(int(v) for v in g.uniform(0, 255, 3))
        x, y = rng.randint(0, w), rng.randint(0, h)
        d.line((x, y, x + rng.randint(-w // 2, w // 2), y + rng.randint(-h // 2, h // 2)),
               fill=col, width=rng.randint(1, 3))
    return out


def _distractor(rng: random.Random, w: int, h: int) -> List[Point]:
    """An irregular polygon of no class (7-11 random radii)."""
    n = rng.randint(7, 11)
    cx, cy, r = rng.uniform(0, w), rng.uniform(0, h), rng.uniform(6, min(w, h) / 5)
    return [(cx + r * rng.uniform(0.3, 1.0) * math.cos(2 * math.pi * k / n),
             cy + r * rng.uniform(0.3, 1.0) * math.sin(2 * math.pi * k / n)) for k in range(n)]


def _object_mask(cls: str, w: int, h: int, box: Tuple[float, float, float, float],
                 angle: float, rng: random.Random, deform: float) -> Image.Image:
    """The object's pixels as an 'L' mask (255 inside)."""
    x0, y0, x1, y1 = box
    cx, cy, rx, ry = (x0 + x1) / 2, (y0 + y1) / 2, (x1 - x0) / 2, (y1 - y0) / 2
    mask = Image.new('L', (w, h), 0)
    d = ImageDraw.Draw(mask)
    if cls in ('ring', 'frame', 'crescent', 'xshape'):
        if cls == 'xshape':
            for poly in _outline('cross'):
                d.polygon(_transform(poly, cx, cy, rx, ry, angle + math.pi / 4, rng, deform),
                          fill=255)
            return mask
        outer = _regular(40) if cls in ('ring', 'crescent') else _outline('square')[0]
        d.polygon(_transform(outer, cx, cy, rx, ry, angle, rng, deform), fill=255)
        inner_c = (cx + 0.35 * rx * math.cos(angle), cy + 0.35 * ry * math.sin(angle)) \
            if cls == 'crescent' else (cx, cy)
        scale = 0.8 if cls == 'crescent' else 0.6
        d.polygon(_transform(outer, inner_c[0], inner_c[1], rx * scale, ry * scale, angle, rng,
                             0.0), fill=0)
        return mask
    for poly in _outline(cls):
        d.polygon(_transform(poly, cx, cy, rx, ry, angle, rng, deform), fill=255)
    return mask


def make_hard_voc(out_dir: str, num_train: int = 800, num_test: int = 200,
                  img_size: int = 128, min_objects: int = 3, max_objects: int = 7,
                  seed: int = 0, min_side: float = 10, max_side: float = 80,
                  fills=FILLS, distractors: Tuple[int, int] = (1, 3),
                  covering: Tuple[int, int] = (0, 2), deform: float = 0.12) -> str:
    """Write the hard VOC-format set under ``out_dir``; returns the ``VOCdevkit`` path.

    Args:
        out_dir (str): output folder (``VOCdevkit/VOC2007/...`` is created in it).
        num_train (int): trainval images.
        num_test (int): test images.
        img_size (int): side of the square images.
        min_objects (int): fewest objects per image.
        max_objects (int): most objects per image.
        seed (int): everything is drawn from this seed (same seed, same bytes).
        min_side (float): smallest object side in pixels (sides are log-uniform).
        max_side (float): largest object side (at most 62% of the image).
        fills (tuple): the fill kinds drawn from ('plain', 'stripes', 'noise').
        distractors (tuple): (fewest, most) distractor shapes under the objects.
        covering (tuple): (fewest, most) distractor shapes drawn over the objects.
        deform (float): largest vertex jitter, in units of the object's half side.
    """
    rng = random.Random(seed)
    look = dict(min_side=min_side, max_side=max_side, fills=tuple(fills),
                distractors=distractors, covering=covering, deform=deform)
    return write_voc(out_dir, num_train, num_test,
                     lambda: _hard_image(rng, img_size, min_objects, max_objects, **look),
                     quality=92)


def _hard_image(rng: random.Random, size: int, min_objects: int, max_objects: int,
                min_side: float, max_side: float, fills, distractors, covering, deform):
    img = _background(rng, size, size)
    d = ImageDraw.Draw(img)
    for _ in range(rng.randint(*distractors)):  # distractors under the objects
        d.polygon(_distractor(rng, size, size),
                  fill=tuple(rng.randint(0, 255) for _ in range(3)))
    owner = np.full((size, size), -1, dtype=np.int32)
    drawn = []
    for k in range(rng.randint(min_objects, max_objects)):
        cls = rng.choice(HARD_CLASSES)
        side = math.exp(rng.uniform(math.log(min_side), math.log(min(max_side, size * 0.62))))
        aspect = math.exp(rng.uniform(-0.4, 0.4))
        bw, bh = side * aspect, side / aspect
        cx, cy = rng.uniform(-0.15 * bw, size + 0.15 * bw), rng.uniform(-0.15 * bh,
                                                                        size + 0.15 * bh)
        mask = _object_mask(cls, size, size, (cx - bw / 2, cy - bh / 2, cx + bw / 2,
                                              cy + bh / 2),
                            rng.uniform(-MAX_TILT, MAX_TILT),
                            rng, rng.uniform(0.0, deform))
        inside = np.asarray(mask) > 127
        if inside.sum() < 20:
            continue
        img.paste(_fill(rng, (size, size), fills), (0, 0), mask)
        owner[inside] = k
        truncated = min(cx - bw / 2, cy - bh / 2) < 0 or max(cx + bw / 2, cy + bh / 2) > size
        drawn.append((k, cls, int(inside.sum()), truncated))
    for _ in range(rng.randint(*covering)):  # distractors may cover objects too
        d = ImageDraw.Draw(img)
        poly = _distractor(rng, size, size)
        d.polygon(poly, fill=tuple(rng.randint(0, 255) for _ in range(3)))
        m = Image.new('L', (size, size), 0)
        ImageDraw.Draw(m).polygon(poly, fill=255)
        owner[np.asarray(m) > 127] = -1
    objects = []
    for k, cls, full, truncated in drawn:
        ys, xs = np.nonzero(owner == k)
        if len(xs) < 12:
            continue  # hidden: not annotated
        visible = len(xs) / full
        x0, y0, x1, y1 = int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1
        difficult = min(x1 - x0, y1 - y0) < 12 or visible < 0.4
        objects.append((cls, (x0, y0, x1, y1), int(truncated), int(difficult)))
    return img.filter(ImageFilter.GaussianBlur(0.4)), objects


def make_hard_cls(out_dir: str, per_class=(600, 20, 40), img_size: int = 48,
                  seed: int = 0, distractor_prob: float = 0.5, fills=FILLS,
                  deform: float = 0.12) -> str:
    """An ImageFolder set of the hard shapes (``train/ val/ test/<class>/*.png``): one object
    per image, filling 40-90% of it, drawn as in :func:`make_hard_voc` (random colour and
    texture, tilt, stretch, deformation) on the same cluttered backgrounds, a distractor polygon
    in ``distractor_prob`` of the images. The stand-in for ImageNet: colt_det pretrains detector
    backbones on it. Returns ``out_dir``."""
    rng = random.Random(seed)
    return write_imagefolder(out_dir, per_class, HARD_CLASSES,
                             lambda cls: _hard_crop(rng, cls, img_size, distractor_prob,
                                                    tuple(fills), deform))


def _hard_crop(rng: random.Random, cls: str, size: int, distractor_prob: float, fills,
               deform: float) -> Image.Image:
    img = _background(rng, size, size)
    if rng.random() < distractor_prob:
        ImageDraw.Draw(img).polygon(_distractor(rng, size, size),
                                    fill=tuple(rng.randint(0, 255) for _ in range(3)))
    side = rng.uniform(0.4, 0.9) * size
    aspect = math.exp(rng.uniform(-0.4, 0.4))
    bw, bh = side * aspect, side / aspect
    cx, cy = rng.uniform(bw / 2, size - bw / 2), rng.uniform(bh / 2, size - bh / 2)
    mask = _object_mask(cls, size, size, (cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2),
                        rng.uniform(-MAX_TILT, MAX_TILT), rng, rng.uniform(0.0, deform))
    img.paste(_fill(rng, (size, size), fills), (0, 0), mask)
    return img.filter(ImageFilter.GaussianBlur(0.4))
