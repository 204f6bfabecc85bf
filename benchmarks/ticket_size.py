"""Ticket file size vs the dense fp32 state_dict at a given sparsity (ResNet-18 / ResNet-50).

Usage:
    .venv/bin/python benchmarks/ticket_size.py [--sparsity 0.89] [--depth 18] \
        [--out benchmarks/results/ticket_size_r18.json]
"""
import argparse
import os
import os.path as osp
import sys
import tempfile

import torch

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument('--sparsity', type=float, default=0.89)
    parser.add_argument('--depth', type=int, default=18)
    parser.add_argument('--out', help='record the sizes as JSON here')
    args = parser.parse_args()
    from colt_det.core import (
        PrunableSpec,
        magnitude_prune,
        ones_mask,
        save_ticket,
        sparsity,
        state_of,
    )
    from colt_det.tasks.cls.models import ImageClassifier
    torch.manual_seed(0)
    model = ImageClassifier(backbone=dict(type='TVResNet', depth=args.depth), num_classes=1000)
    names = PrunableSpec(include=['backbone.*']).select(model)
    params = dict(model.named_parameters())
    mask = magnitude_prune({n: params[n] for n in names}, ones_mask(model, names),
                           args.sparsity)
    theta0 = state_of(model)
    with tempfile.TemporaryDirectory() as d:
        dense_path = osp.join(d, 'dense.pth')
        torch.save(theta0, dense_path)
        rows = []
        for label, kw in [('mask only', dict(theta0=None)),
                          ('mask + theta0 of survivors', dict(theta0=theta0)),
                          ('mask + theta0 + unmasked tensors (BN, head)',
                           dict(theta0=theta0, dense={k: v for k, v in theta0.items()
                                                      if k not in mask})),
                          ('+ trained values of survivors (final ticket)',
                           dict(theta0=theta0, trained=theta0,
                                dense={k: v for k, v in theta0.items() if k not in mask}))]:
            path = osp.join(d, f'{len(rows)}.safetensors')
            save_ticket(path, mask, **kw)
            rows.append((label, os.path.getsize(path)))
        dense = os.path.getsize(dense_path)
    print(f'ResNet-{args.depth} (ImageNet head), prunable = backbone convs, sparsity '
          f'{sparsity(mask).overall:.2%}; dense fp32 state_dict {dense / 2**20:.1f} MiB')
    print('| ticket content | size MiB | x dense |')
    print('|---|---|---|')
    for label, size in rows:
        print(f'| {label} | {size / 2**20:.2f} | {size / dense:.3f} |')
    if args.out:
        from colt_det.core import atomic_write_json
        atomic_write_json(args.out, dict(depth=args.depth, sparsity=sparsity(mask).overall,
                                         dense_bytes=dense, rows=[
                                             dict(content=label, bytes=size, mib=size / 2 ** 20,
                                                  x_dense=size / dense)
                                             for label, size in rows]))


def table(result: dict) -> str:
    """The recorded sizes as the script prints them."""
    lines = [f"ResNet-{result['depth']} (ImageNet head), prunable = backbone convs, sparsity "
             f"{result['sparsity']:.2%}; dense fp32 state_dict "
             f"{result['dense_bytes'] / 2**20:.1f} MiB", '', '| ticket content | size MiB | '
             'x dense |', '|---|---|---|']
    lines += [f"| {r['content']} | {r['mib']:.2f} | {r['x_dense']:.3f} |" for r in result['rows']]
    return '\n'.join(lines)


if __name__ == '__main__':
    main()
