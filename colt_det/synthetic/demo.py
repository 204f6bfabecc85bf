"""Deterministic generator of the built-in demo data (no downloads).

* A VOC-format detection set (``VOCdevkit/VOC2007/{JPEGImages,Annotations,ImageSets/Main}``):
  10 classes, each a shape in its own colour, several objects per image on a noisy background.
* An ImageFolder classification set (``train/ val/ test/<class>/*.png``): 10 shape classes with
  random colours, positions and sizes.
"""
import math
import random
from typing import List, Sequence, Tuple

from PIL import Image, ImageDraw, ImageFilter

from .writers import write_imagefolder, write_voc

SHAPES = ('circle', 'square', 'triangle', 'diamond', 'cross', 'ring', 'hbar', 'vbar', 'star',
          'chevron')
DET_COLORS = {
    'circle': (220, 40, 40), 'square': (40, 170, 40), 'triangle': (40, 60, 220),
    'diamond': (230, 200, 30), 'cross': (200, 40, 200), 'ring': (30, 200, 210),
    'hbar': (250, 130, 20), 'vbar': (120, 60, 20), 'star': (240, 240, 240),
    'chevron': (20, 20, 20)
}
DET_CLASSES = tuple(SHAPES)
VOC_CLASSES = ('aeroplane', 'bicycle', 'bird', 'boat', 'bottle', 'bus', 'car', 'cat', 'chair',
               'cow', 'diningtable', 'dog', 'horse', 'motorbike', 'person', 'pottedplant',
               'sheep', 'sofa', 'train', 'tvmonitor')
CLS_CLASSES = tuple(SHAPES)


def _polygon(shape: str, cx: float, cy: float, r: float) -> List[Tuple[float, float]]:
    if shape == 'triangle':
        return [(cx, cy - r), (cx - r, cy + r), (cx + r, cy + r)]
    if shape == 'diamond':
        return [(cx, cy - r), (cx + r, cy), (cx, cy + r), (cx - r, cy)]
    if shape == 'star':
        pts = []
        for k in range(10):
            rad = r if k % 2 == 0 else r * 0.45
            a = -math.pi / 2 + k * math.pi / 5
            pts.append((cx + rad * math.cos(a), cy + rad * math.sin(a)))
        return pts
    if shape == 'chevron':
        t = r * 0.5
        return [(cx - r, cy - r), (cx, cy), (cx + r, cy - r), (cx + r, cy - r + t),
                (cx, cy + t), (cx - r, cy - r + t)]
    raise KeyError(shape)


def draw_shape(draw: ImageDraw.ImageDraw, shape: str, box: Sequence[float], color) -> None:
    """Draw ``shape`` filling ``box`` = (x0, y0, x1, y1)."""
    x0, y0, x1, y1 = box
    cx, cy, r = (x0 + x1) / 2, (y0 + y1) / 2, (x1 - x0) / 2
    if shape == 'circle':
        draw.ellipse(box, fill=color)
    elif shape == 'square':
        draw.rectangle(box, fill=color)
    elif shape == 'ring':
        draw.ellipse(box, outline=color, width=max(2, int(r * 0.35)))
    elif shape == 'cross':
        t = r * 0.35
        draw.rectangle((x0, cy - t, x1, cy + t), fill=color)
        draw.rectangle((cx - t, y0, cx + t, y1), fill=color)
    elif shape == 'hbar':
        draw.rectangle((x0, cy - r * 0.3, x1, cy + r * 0.3), fill=color)
    elif shape == 'vbar':
        draw.rectangle((cx - r * 0.3, y0, cx + r * 0.3, y1), fill=color)
    else:
        draw.polygon(_polygon(shape, cx, cy, r), fill=color)


def _tight_box(shape: str, box: Sequence[float]) -> Tuple[int, int, int, int]:
    """The visible extent of the drawn shape (bars are thin in one direction)."""
    x0, y0, x1, y1 = box
    cx, cy, r = (x0 + x1) / 2, (y0 + y1) / 2, (x1 - x0) / 2
    if shape == 'hbar':
        y0, y1 = cy - r * 0.3, cy + r * 0.3
    elif shape == 'vbar':
        x0, x1 = cx - r * 0.3, cx + r * 0.3
    elif shape == 'chevron':
        y1 = cy + r * 0.5
    return int(round(x0)), int(round(y0)), int(round(x1)), int(round(y1))


def _background(rng: random.Random, w: int, h: int) -> Image.Image:
    base = tuple(rng.randint(90, 170) for _ in range(3))
    img = Image.new('RGB', (w, h), base)
    d = ImageDraw.Draw(img)
    for _ in range(6):  # soft clutter so the task is not trivial
        x, y = rng.randint(0, w), rng.randint(0, h)
        s = rng.randint(4, max(5, w // 6))
        c = tuple(min(255, max(0, b + rng.randint(-35, 35))) for b in base)
        d.ellipse((x - s, y - s, x + s, y + s), fill=c)
    return img.filter(ImageFilter.GaussianBlur(1.5))


def make_voc(out_dir: str, num_train: int = 400, num_test: int = 100, img_size=96,
             min_objects: int = 2, max_objects: int = 4, seed: int = 0,
             names: Sequence[str] = DET_CLASSES, year: str = 'VOC2007') -> str:
    """Write the VOC-format demo detection set; returns the ``VOCdevkit`` path.

    ``img_size`` is the side of square images, or ``(width, height)`` (e.g. ``(500, 375)``,
    VOC's typical size, for step-time measurements at VOC scale). ``names``: the annotation
    name of each of the 10 shapes (e.g. VOC's first 10 classes, see :func:`make_voc0712`).
    """
    rng = random.Random(seed)
    label = dict(zip(DET_CLASSES, names))
    width, height = (img_size, img_size) if isinstance(img_size, int) else img_size
    short = min(width, height)

    def image():
        img = _background(rng, width, height)
        draw = ImageDraw.Draw(img)
        placed: List[Tuple[int, int, int, int]] = []
        objects = []
        for _ in range(rng.randint(min_objects, max_objects)):
            for _try in range(30):  # rejection-sample boxes that barely overlap
                s = rng.randint(short // 6, short // 3)
                x0, y0 = rng.randint(1, width - s - 2), rng.randint(1, height - s - 2)
                box = (x0, y0, x0 + s, y0 + s)
                if all(_iou(box, p) < 0.05 for p in placed):
                    break
            else:
                continue
            cls = rng.choice(DET_CLASSES)
            draw_shape(draw, cls, box, DET_COLORS[cls])
            placed.append(box)
            objects.append((label[cls], _tight_box(cls, box)))
        return img, objects
    return write_voc(out_dir, num_train, num_test, image, quality=95, year=year)


def make_voc0712(out_dir: str, num_train: int = 200, num_test: int = 50,
                 img_size=(500, 375)) -> str:
    """Generated stand-in for Pascal VOC07+12 at VOC's image size, in the layout and with the
    class names ``configs/colt_faster_rcnn_voc.py`` reads (``VOC2007`` trainval + test,
    ``VOC2012`` trainval; the 10 shapes are named after every other VOC class, so both halves of
    a 2-partition split get images): for running the main config end to end without the real
    data. Returns the ``VOCdevkit`` path."""
    make_voc(out_dir, num_train, num_test, img_size, seed=0, names=VOC_CLASSES[::2])
    return make_voc(out_dir, num_train, 0, img_size, seed=1, names=VOC_CLASSES[::2],
                    year='VOC2012')


def _iou(a, b) -> float:
    ix = max(0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union else 0.0


def make_imagefolder(out_dir: str, per_class=(150, 30, 60), img_size: int = 32,
                     seed: int = 0) -> str:
    """Write the ImageFolder demo set with ``per_class`` = (train, val, test) images/class."""
    rng = random.Random(seed)

    def image(cls: str) -> Image.Image:
        img = _background(rng, img_size, img_size)
        s = rng.randint(img_size // 2, img_size - 6)
        x0, y0 = rng.randint(1, img_size - s - 1), rng.randint(1, img_size - s - 1)
        color = tuple(rng.choice((rng.randint(0, 60), rng.randint(190, 255)))
                      for _ in range(3))
        draw_shape(ImageDraw.Draw(img), cls, (x0, y0, x0 + s, y0 + s), color)
        return img
    return write_imagefolder(out_dir, per_class, CLS_CLASSES, image)
