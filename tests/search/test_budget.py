"""Equal budgets: a partition epoch draws 1/N of the full training set (colt.partition_budget)."""
import pytest

from conftest import cls_config


class _Partition:
    """A partition of 70 images out of a full set of 100 (as detection partitions overlap)."""

    def __init__(self):
        self.dataset = list(range(100))

    def __len__(self):
        return 70


def _epochs(sampler, n=3):
    out = []
    for e in range(n):
        sampler.set_epoch(e)
        out.append(list(sampler))
    return out


def test_budget_sampler_draws_a_share_of_the_full_set_per_epoch():
    from colt_det.runtime.samplers import BudgetSampler
    sampler = BudgetSampler(_Partition(), share=0.5, seed=3)
    epochs = _epochs(sampler)
    assert len(sampler) == 50 and all(len(e) == len(set(e)) == 50 for e in epochs)
    assert all(0 <= i < 70 for e in epochs for i in e)
    assert epochs[0] != epochs[1]  # a fresh subset every epoch ...
    assert epochs == _epochs(BudgetSampler(_Partition(), share=0.5, seed=3))  # ... seeded
    assert len(BudgetSampler(_Partition(), share=0.9, seed=0)) == 70  # at most the partition
    with pytest.raises(ValueError, match='share'):
        BudgetSampler(_Partition(), share=0.0)


def test_budget_sampler_splits_an_epoch_between_ranks(monkeypatch):
    import mmengine.dataset.sampler as base

    from colt_det.runtime.samplers import BudgetSampler
    ranks = []
    for rank in (0, 1):
        monkeypatch.setattr(base, 'get_dist_info', lambda r=rank: (r, 2))
        monkeypatch.setattr(base, 'sync_random_seed', lambda: 7)
        ranks.append(list(BudgetSampler(_Partition(), share=0.25, seed=7)))
    assert len(ranks[0]) == len(ranks[1]) == 13  # 25 images, padded to 26 over 2 ranks
    assert len(set(ranks[0]) | set(ranks[1])) == 25


def test_equal_budget_stage_config(cls_data, tmp_path):
    from colt_det.search.settings import ColtSettings
    from colt_det.search.stage import Stage, stage_cfg
    from colt_det.search.workdir import WorkDir
    from colt_det.tasks.base import get_task
    classes = [f'c{i}' for i in range(10)]
    for budget, sampler in (('full', 'DefaultSampler'), ('equal', 'colt_det.BudgetSampler')):
        cfg = cls_config(cls_data, str(tmp_path), partition_budget=budget)
        s, work = ColtSettings.from_cfg(cfg.colt), WorkDir(cfg.work_dir)
        part = stage_cfg(cfg, s, work, get_task('cls'), classes,
                         Stage(work.stage(1, 0), group=classes[:5], prune=True))
        final = stage_cfg(cfg, s, work, get_task('cls'), classes,
                          Stage(work.final_stage, kind='final'))
        assert part.train_dataloader.sampler.type == sampler
        assert final.train_dataloader.sampler.type == 'DefaultSampler'  # the final: all data
    assert part.train_dataloader.sampler.share == 0.5


def test_equal_budget_search_reports_the_images_it_trained_on(cls_data, tmp_path):
    """Classification partitions are disjoint: 'equal' spends what 'full' spends (2 x 5 x 16)."""
    from colt_det.search import ColtSearch
    cfg = cls_config(cls_data, str(tmp_path), partition_budget='equal', max_rounds=1,
                     final_train=False, progress_interval=0)
    summary = ColtSearch(cfg).run()
    assert [p['train_samples'] for p in summary['rounds'][0]['partitions']] == [160, 160]


def test_equal_budget_detection_round_processes_one_imp_round_of_images(voc_data, tmp_path):
    """Detection partitions overlap (an image holds objects of both): with 'full' a COLT round
    trains on more images than an IMP round, with 'equal' (BudgetSampler) on as many."""
    from colt_det.search import ColtSearch

    from conftest import det_config
    seen = {}
    for budget in ('full', 'equal'):
        cfg = det_config(voc_data, str(tmp_path / budget), partition_budget=budget,
                         max_rounds=1, final_train=False, progress_interval=0)
        summary = ColtSearch(cfg).run()
        seen[budget] = sum(p['train_samples'] for p in summary['rounds'][0]['partitions'])
    imp_round = 48  # one epoch of the 48 training images
    assert seen['full'] > imp_round
    assert abs(seen['equal'] - imp_round) <= 2  # 2 x round(48 / 2), batches rounded up
