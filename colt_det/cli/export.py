"""Export a final ticket: a mask-applied MMEngine checkpoint, or (channel tickets) a slim model:
``colt-export`` (``tools/export_ticket.py`` in a checkout).

Usage:
    colt-export work_dir/tickets/final.safetensors out.pth
    colt-export work_dir/tickets/final.safetensors slim --slim CONFIG [--onnx [--int8]]
    colt-export CHECKPOINT.pth part --config CONFIG --onnx [--int8]
The first writes the dense-layout checkpoint with zeros at pruned weights (what mmdet's tools
load). With ``--slim CONFIG`` (the search's config) a channel ticket becomes a narrower model:
``slim.py`` (config) and ``slim.pth`` (checkpoint), which ``colt-test slim.py slim.pth``
evaluates; ``--onnx`` also writes the slim detector's backbone+neck as ``slim.onnx``. A dense
or weight-ticket checkpoint's part is exported with ``--config CONFIG --onnx``. ``--int8`` also
writes ``STEM.int8.onnx``: onnxruntime static INT8 (QDQ, per-channel), calibrated on
``--calib-images`` training images (:mod:`colt_det.deploy.int8`); ``colt-test CONFIG CKPT --onnx
STEM.int8.onnx`` measures its mAP. Existing outputs are never overwritten (``--force`` replaces
them).
"""
import argparse
import sys

from . import guarded, load_config, refuse_existing


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description='ticket -> checkpoint or slim model')
    parser.add_argument('ticket')
    parser.add_argument('out', help='checkpoint path; with --slim: the path stem of .py/.pth')
    parser.add_argument('--slim', metavar='CONFIG',
                        help='config of the search: write a physically narrower model')
    parser.add_argument('--onnx', action='store_true',
                        help='with --slim: also the backbone+neck (extract_feat) as ONNX')
    parser.add_argument('--config', metavar='CONFIG',
                        help='with --onnx: TICKET is a checkpoint (.pth) of this config, whose '
                             'part is exported as it is (dense or weight tickets)')
    parser.add_argument('--input-size', type=int, nargs=2, metavar=('H', 'W'),
                        help='--onnx: the input size traced (default: the test pipeline scale)')
    parser.add_argument('--dynamic-size', action='store_true',
                        help='--onnx: any image size (height and width as dynamic axes)')
    parser.add_argument('--int8', action='store_true',
                        help='--onnx: also STEM.int8.onnx, onnxruntime static INT8')
    parser.add_argument('--calib-images', type=int, default=32,
                        help='--int8: training images to calibrate on (default 32)')
    parser.add_argument('--force', action='store_true', help='overwrite existing outputs')
    parser.add_argument('--debug', action='store_true', help='tracebacks for known errors too')
    args = parser.parse_args(argv)

    def export() -> int:
        if args.onnx and not (args.slim or args.config):
            raise ValueError('--onnx exports a detector: add --slim CONFIG (a channel ticket) '
                             'or --config CONFIG (a checkpoint of that config)')
        if (args.int8 or args.dynamic_size) and not args.onnx:
            raise ValueError('--int8 and --dynamic-size are options of the ONNX part: add '
                             '--onnx')
        if args.int8 and args.calib_images < 1:
            raise ValueError(f'--calib-images must be at least 1, got {args.calib_images}')
        if args.config and args.slim:
            raise ValueError('--config and --slim exclude each other: --slim for a channel '
                             'ticket, --config for a checkpoint')
        if args.config:
            return _export_part(args)
        if args.slim:
            return _export_slim(args)
        from ..runtime.checkpoints import checkpoint_from_ticket
        refuse_existing(args.out, args.force)
        checkpoint_from_ticket(args.ticket, args.out, overwrite=args.force)
        print(f'{args.ticket} -> {args.out}')
        return 0
    return guarded(export, args.debug)


def _export_slim(args) -> int:
    from ..core import read_ticket_meta
    from ..core.prunable import channel_groups
    from ..deploy.slim import export_slim
    from ..tasks.base import task_of
    cfg = load_config(args.slim)
    stem = _stem(args.out)
    outputs = [f'{stem}.py', f'{stem}.pth'] + ([f'{stem}.onnx'] if args.onnx else []) + (
        [f'{stem}.int8.onnx'] if args.int8 else [])
    for path in outputs:
        refuse_existing(path, args.force)
    model = task_of(cfg).build_model(cfg)
    depth = read_ticket_meta(args.ticket).get('channel_groups', 'inner')
    config_path, ckpt = export_slim(cfg, args.ticket, stem, channel_groups(model, depth),
                                    overwrite=args.force, model_shapes={
                                        n: tuple(t.shape) for n, t in model.state_dict().items()})
    print(f'{args.ticket} -> {config_path} + {ckpt}')
    if args.onnx:
        _onnx(args, config_path, ckpt, stem)
    return 0


def _stem(out: str) -> str:
    """``out`` without a ``.py``/``.pth``/``.onnx`` ending (the outputs add their own)."""
    for ext in ('.py', '.pth', '.onnx'):
        if out.endswith(ext):
            return out[:-len(ext)]
    return out


def _export_part(args) -> int:
    """``--config CONFIG --onnx``: the part of a checkpoint (dense, or a weight ticket's)."""
    import os.path as osp
    if not osp.isfile(args.ticket) or args.ticket.endswith('.safetensors'):
        raise ValueError(f'{args.ticket}: --config exports a checkpoint (.pth, e.g. '
                         f'final_masked.pth); for a ticket run colt-export TICKET OUT.pth first')
    stem = _stem(args.out)
    for path in [f'{stem}.onnx'] + ([f'{stem}.int8.onnx'] if args.int8 else []):
        refuse_existing(path, args.force)
    _onnx(args, args.config, args.ticket, stem)
    return 0


def _onnx(args, config: str, checkpoint: str, stem: str) -> None:
    from ..deploy.onnx import export_onnx, load_detector
    onnx_path = export_onnx(config, checkpoint, f'{stem}.onnx', args.input_size,
                            overwrite=args.force, dynamic=args.dynamic_size)
    print(f'backbone+neck -> {onnx_path}')
    if args.int8:
        from ..deploy.int8 import calibration_inputs, quantize_int8
        model, cfg = load_detector(config, checkpoint)
        inputs = calibration_inputs(cfg, model, args.calib_images)
        if not args.dynamic_size:  # a fixed-size part: calibrate at its size
            inputs = [_fit(x, args.input_size or _size(cfg)) for x in inputs]
        out = quantize_int8(onnx_path, f'{stem}.int8.onnx', inputs, overwrite=args.force)
        print(f'INT8 ({len(inputs)} calibration images) -> {out}')


def _size(cfg):
    from ..deploy.onnx import input_size_of
    return input_size_of(cfg)


def _fit(x, size):
    """``x`` (1, 3, h, w) cropped or zero-padded to ``size`` (the padding a test batch gets)."""
    import numpy as np
    h, w = size
    out = np.zeros((x.shape[0], x.shape[1], h, w), np.float32)
    out[:, :, :min(h, x.shape[2]), :min(w, x.shape[3])] = x[:, :, :h, :w]
    return out


if __name__ == '__main__':
    sys.exit(main())
