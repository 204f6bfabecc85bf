"""Export a final ticket: a mask-applied MMEngine checkpoint, or (channel tickets) a slim model:
``colt-export`` (``tools/export_ticket.py`` in a checkout).

Usage:
    colt-export work_dir/tickets/final.safetensors out.pth
    colt-export work_dir/tickets/final.safetensors slim --slim CONFIG [--onnx]
The first writes the dense-layout checkpoint with zeros at pruned weights (what mmdet's tools
load). With ``--slim CONFIG`` (the search's config) a channel ticket becomes a narrower model:
``slim.py`` (config) and ``slim.pth`` (checkpoint), which ``colt-test slim.py slim.pth``
evaluates; ``--onnx`` also writes the slim detector's backbone+neck as ``slim.onnx``. Existing
outputs are never overwritten (``--force`` replaces them).
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
    parser.add_argument('--input-size', type=int, nargs=2, metavar=('H', 'W'),
                        help='--onnx: the input size traced (default: the test pipeline scale)')
    parser.add_argument('--force', action='store_true', help='overwrite existing outputs')
    parser.add_argument('--debug', action='store_true', help='tracebacks for known errors too')
    args = parser.parse_args(argv)

    def export() -> int:
        if args.onnx and not args.slim:
            raise ValueError('--onnx exports the slim model: add --slim CONFIG')
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
    out = args.out
    stem = out[:-4] if out.endswith(('.pth', '.py')) else out
    outputs = [f'{stem}.py', f'{stem}.pth'] + ([f'{stem}.onnx'] if args.onnx else [])
    for path in outputs:
        refuse_existing(path, args.force)
    model = task_of(cfg).build_model(cfg)
    depth = read_ticket_meta(args.ticket).get('channel_groups', 'inner')
    config_path, ckpt = export_slim(cfg, args.ticket, stem, channel_groups(model, depth),
                                    overwrite=args.force, model_shapes={
                                        n: tuple(t.shape) for n, t in model.state_dict().items()})
    print(f'{args.ticket} -> {config_path} + {ckpt}')
    if args.onnx:
        from ..deploy.onnx import export_onnx
        onnx_path = export_onnx(config_path, ckpt, f'{stem}.onnx', args.input_size,
                                overwrite=args.force)
        print(f'backbone+neck -> {onnx_path}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
