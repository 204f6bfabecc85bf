"""Export a final ticket: a mask-applied MMEngine checkpoint, or (channel tickets) a slim model.

Usage:
    python tools/export_ticket.py work_dir/tickets/final.safetensors out.pth
    python tools/export_ticket.py work_dir/tickets/final.safetensors slim --slim CONFIG
The first writes the dense-layout checkpoint with zeros at pruned weights (what mmdet's tools
load). With ``--slim CONFIG`` (the search's config) a channel ticket becomes a narrower model:
``slim.py`` (config) and ``slim.pth`` (checkpoint), which ``tools/test.py slim.py slim.pth``
evaluates. Existing outputs are never overwritten.
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description='ticket -> checkpoint or slim model')
    parser.add_argument('ticket')
    parser.add_argument('out', help='checkpoint path; with --slim: the path stem of .py/.pth')
    parser.add_argument('--slim', metavar='CONFIG',
                        help='config of the search: write a physically narrower model')
    parser.add_argument('--debug', action='store_true', help='tracebacks for known errors too')
    args = parser.parse_args(argv)
    from colt_det.cli import guarded

    def export() -> int:
        if args.slim:
            return _export_slim(args.ticket, args.slim, args.out)
        from colt_det.engine.state import checkpoint_from_ticket
        checkpoint_from_ticket(args.ticket, args.out)
        print(f'{args.ticket} -> {args.out}')
        return 0
    return guarded(export, args.debug)


def _export_slim(ticket: str, config: str, out: str) -> int:
    from mmengine.config import Config

    from colt_det.engine.prunable import channel_groups
    from colt_det.engine.tasks import get_task
    from colt_det.slim import export_slim
    if not osp.isfile(config):
        raise FileNotFoundError(f'config {config} not found: pass the config of the search')
    cfg = Config.fromfile(config)
    stem = out[:-4] if out.endswith(('.pth', '.py')) else out
    for path in (f'{stem}.py', f'{stem}.pth'):
        if osp.exists(path):
            raise FileExistsError(f'{path} exists and is not overwritten: choose another OUT')
    model = get_task(cfg.get('colt', {}).get('task', 'det')).build_model(cfg)
    config_path, ckpt = export_slim(cfg, ticket, stem, channel_groups(model))
    print(f'{ticket} -> {config_path} + {ckpt}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
