"""Generated data sets (PIL, seeded): the demo sets and the hard benchmark sets.

Configs name a set by ``demo_data = '<kind>'``; the tools generate it under ``data/demo`` on
first use (:func:`ensure_demo_data`). Nothing is downloaded.
"""
import os.path as osp
import shutil

from . import demo, hard

# demo_data kind -> (folder under data_root, generator module and function, its arguments)
DEMO_KINDS = {
    'det': ('voc', demo, 'make_voc', {}),
    'cls': ('cls', demo, 'make_imagefolder', {}),
    'det_hard': ('voc_hard', hard, 'make_hard_voc', {}),
    # the detector backbone's pretraining set (the ImageNet stand-in)
    'cls_hard': ('cls_hard', hard, 'make_hard_cls', {}),
    # a second classification benchmark: the same 20 hard shapes, fewer and smaller images,
    # other random draws
    'cls_hard32': ('cls_hard32', hard, 'make_hard_cls',
                   dict(per_class=(150, 30, 60), img_size=32, seed=1)),
}


def _marker_says(marker: str, version: str) -> bool:
    if not osp.exists(marker):
        return False
    with open(marker) as f:
        return f.read().strip() == version


def ensure_demo_data(data_root: str = 'data/demo', kind: str = 'both') -> str:
    """Generate the demo data under ``data_root`` unless a finished copy is there.

    A ``.done`` marker (holding the data version: a set made by older defaults is regenerated)
    is written last, so an interrupted generation is redone, not trusted.
    """
    if kind != 'both' and kind not in DEMO_KINDS:
        raise ValueError(f'unknown demo_data {kind!r}: set the config\'s demo_data to one of '
                         f'{", ".join([*DEMO_KINDS, "both"])}')
    for name in ('det', 'cls') if kind == 'both' else (kind,):
        sub, module, func, kwargs = DEMO_KINDS[name]
        # the hard sets' marker names their version (older defaults are regenerated)
        version = getattr(module, 'HARD_DATA_VERSION', '')
        marker = osp.join(data_root, sub, '.done')
        if not _marker_says(marker, version):
            shutil.rmtree(osp.join(data_root, sub), ignore_errors=True)
            getattr(module, func)(osp.join(data_root, sub), **kwargs)
            with open(marker, 'w') as f:
                f.write(version)
    return data_root
