"""A channel stage traces its model's dependency graph once, not once per hook."""
from colt_det.core import prunable


def test_channel_groups_are_traced_once_per_model_and_depth(monkeypatch):
    """The mask, prune and record hooks of a stage all ask for the groups of one model: one
    trace (it was three); another model or depth traces anew, and a caller editing its groups
    does not change the next caller's. Fails if the cache goes (3 traces)."""
    from colt_det.tasks.cls.models import ImageClassifier
    calls = []
    real = prunable.find_channel_groups

    def counted(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)
    monkeypatch.setattr(prunable, 'find_channel_groups', counted)
    model = ImageClassifier(backbone=dict(type='SmallConvNet', widths=(8, 16, 16, 16)),
                            num_classes=10)
    first = prunable.channel_groups(model, 'inner')
    first[0].producers.append('edited')
    again = [prunable.channel_groups(model, 'inner') for _ in range(2)]
    assert len(calls) == 1 and 'edited' not in again[0][0].producers
    assert [g.producers for g in again[0]] == [g.producers for g in again[1]]
    other = ImageClassifier(backbone=dict(type='SmallConvNet', widths=(8, 16, 16, 16)),
                            num_classes=10)
    prunable.channel_groups(other, 'inner')
    assert len(calls) == 2
