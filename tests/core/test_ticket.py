"""Ticket files: round trip, size, refusal of pickles/corrupt files, mismatch errors."""
import os
import pickle

import pytest
import torch

from colt_det.core import (
    PrunableSpec,
    TicketError,
    load_ticket,
    magnitude_prune,
    ones_mask,
    save_ticket,
    state_of,
)
from colt_det.core.ticket import pack_bits, unpack_bits
from colt_det.tasks.cls.models import TVResNet


def _pruned(model, ratio):
    mask = ones_mask(model, PrunableSpec().select(model))
    params = dict(model.named_parameters())
    return magnitude_prune({k: params[k] for k in mask}, mask, ratio)


@pytest.mark.parametrize('n', [1, 7, 8, 9, 100])
def test_pack_unpack_bits(n):
    m = torch.rand(n) > 0.5
    assert torch.equal(unpack_bits(pack_bits(m), (n, )), m)


def test_round_trip_exact(tmp_path):
    torch.manual_seed(0)
    model = TVResNet(18)
    mask = _pruned(model, 0.5)
    theta0 = state_of(model)
    trained = {k: v + 1 for k, v in theta0.items()}
    path = str(tmp_path / 't.safetensors')
    save_ticket(path, mask, theta0, trained=trained, dense={'bn1.running_mean': theta0[
        'bn1.running_mean']}, meta=dict(arch='TVResNet18', round=3, classes=['a', 'b']))
    t = load_ticket(path)
    assert set(t.masks) == set(mask)
    for k in mask:
        assert torch.equal(t.masks[k], mask[k])
        assert torch.equal(t.theta0[k], theta0[k] * mask[k])
        assert torch.equal(t.trained[k], trained[k] * mask[k])
    assert torch.equal(t.dense['bn1.running_mean'], theta0['bn1.running_mean'])
    assert t.meta['arch'] == 'TVResNet18' and t.meta['round'] == 3
    assert t.meta['sparsity'] == pytest.approx(0.5, abs=1e-3)
    assert t.meta['version']


def test_ticket_size_at_89_percent_is_under_20_percent_of_dense(tmp_path):
    torch.manual_seed(0)
    model = TVResNet(18)
    mask = ones_mask(model, PrunableSpec().select(model))
    params = dict(model.named_parameters())
    while sum(int(m.sum()) for m in mask.values()) / sum(m.numel() for m in mask.values()) > 0.11:
        mask = magnitude_prune({k: params[k] for k in mask}, mask, 0.2)
    theta0 = state_of(model)
    masked = set(mask)
    # the ticket also carries every unmasked tensor (BN, stats) whole
    dense = {k: v for k, v in theta0.items() if k not in masked}
    path = tmp_path / 't.safetensors'
    save_ticket(str(path), mask, theta0, dense=dense)
    dense_path = tmp_path / 'dense.pt'
    torch.save(theta0, dense_path)
    ratio = os.path.getsize(path) / os.path.getsize(dense_path)
    assert ratio <= 0.20, ratio


def test_never_overwrites(tmp_path):
    path = str(tmp_path / 't.safetensors')
    m = {'w': torch.ones(3, dtype=torch.bool)}
    save_ticket(path, m, {'w': torch.ones(3)})
    before = open(path, 'rb').read()
    with pytest.raises(FileExistsError, match='never overwritten'):
        save_ticket(path, {'w': torch.zeros(3, dtype=torch.bool)}, {'w': torch.ones(3)})
    assert open(path, 'rb').read() == before
    assert [f for f in os.listdir(tmp_path) if f.startswith('.tmp')] == []


class _Boom:

    def __reduce__(self):
        return (os.system, ('touch PWNED',))


def test_pickle_ticket_refused_without_running_code(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    evil = tmp_path / 'evil.safetensors'
    evil.write_bytes(pickle.dumps(_Boom()))
    with pytest.raises(TicketError, match='pickle'):
        load_ticket(str(evil))
    torch.save({'x': torch.ones(1)}, tmp_path / 'ckpt.pth')
    with pytest.raises(TicketError, match='not a safetensors ticket'):
        load_ticket(str(tmp_path / 'ckpt.pth'))
    assert not (tmp_path / 'PWNED').exists()


def test_truncated_and_foreign_files(tmp_path):
    path = tmp_path / 't.safetensors'
    save_ticket(str(path), {'w': torch.ones(64, dtype=torch.bool)}, {'w': torch.ones(64)})
    data = path.read_bytes()
    (tmp_path / 'trunc.safetensors').write_bytes(data[:len(data) // 2])
    with pytest.raises(TicketError, match='corrupt or truncated|truncated header'):
        load_ticket(str(tmp_path / 'trunc.safetensors'))
    (tmp_path / 'empty.safetensors').write_bytes(b'')
    with pytest.raises(TicketError, match='empty or truncated'):
        load_ticket(str(tmp_path / 'empty.safetensors'))
    from safetensors.torch import save_file
    save_file({'a': torch.ones(2)}, str(tmp_path / 'plain.safetensors'))
    with pytest.raises(TicketError, match='not a colt_det ticket'):
        load_ticket(str(tmp_path / 'plain.safetensors'))
    with pytest.raises(TicketError, match='does not exist'):
        load_ticket(str(tmp_path / 'missing.safetensors'))
