"""Export a final ticket as a mask-applied MMEngine checkpoint (what mmdet's tools load).

Usage:
    python tools/export_ticket.py work_dir/tickets/final.safetensors out.pth
The compact ticket itself is the .safetensors file; this writes the dense-layout checkpoint with
zeros at pruned weights. An existing OUT is never overwritten.
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description='ticket -> mask-applied checkpoint')
    parser.add_argument('ticket')
    parser.add_argument('out')
    parser.add_argument('--debug', action='store_true', help='tracebacks for known errors too')
    args = parser.parse_args(argv)
    from colt_det.cli import guarded
    from colt_det.engine.state import checkpoint_from_ticket

    def export() -> int:
        checkpoint_from_ticket(args.ticket, args.out)
        print(f'{args.ticket} -> {args.out}')
        return 0
    return guarded(export, args.debug)


if __name__ == '__main__':
    sys.exit(main())
