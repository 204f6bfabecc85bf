"""Distillation from the dense parent in the final training (``colt.distill``): the PKD loss,
the teacher kept out of every saved file, resume, and one-line errors for a bad teacher."""
import glob
import os.path as osp

import pytest
import torch

from colt_det.core import load_ticket
from colt_det.hooks.distill_hook import logit_kl, pkd_loss

from conftest import det_config, dumped, killed_and_resumed, load_tool, one_line_error


def test_pkd_is_one_minus_the_pearson_correlation_per_channel():
    g = torch.Generator().manual_seed(0)
    s = torch.randn(2, 3, 4, 5, generator=g)
    t = torch.randn(2, 3, 4, 5, generator=g)
    # a per-channel affine change of either map changes nothing
    assert pkd_loss(s, 3 * s + 1) == pytest.approx(0.0, abs=1e-5)
    a, b = (x.transpose(0, 1).reshape(3, -1) for x in (s, t))
    r = torch.stack([torch.corrcoef(torch.stack([a[c], b[c]]))[0, 1] for c in range(3)])
    n = a.shape[1]  # the unbiased std in the normalisation: (n - 1) / n of 1 - r
    assert pkd_loss(s, t) == pytest.approx(float((1 - r).mean() * (n - 1) / n), rel=1e-4)


def test_logit_kl_is_the_tempered_kl_divergence_per_roi():
    g = torch.Generator().manual_seed(0)
    s, t = torch.randn(5, 4, generator=g), torch.randn(5, 4, generator=g)
    assert logit_kl(s, s) == pytest.approx(0.0, abs=1e-7)
    assert logit_kl(s, s + 3.0) == pytest.approx(0.0, abs=1e-6)  # a shift of the logits
    for temp in (1.0, 4.0):
        p, q = torch.softmax(t / temp, 1), torch.softmax(s / temp, 1)
        by_hand = (p * (p.log() - q.log())).sum(1).mean() * temp ** 2
        assert logit_kl(s, t, temp) == pytest.approx(float(by_hand), rel=1e-5)


def test_the_logit_loss_reads_the_teachers_box_head_at_the_students_rois(voc_data, tmp_path,
                                                                          teacher):
    """A teacher equal to the student gives a zero KL loss (so both box heads saw the same
    RoIs and features); another teacher a positive one; a validation pass captures nothing."""
    import types

    from mmengine.runner import Runner

    from colt_det.hooks.distill_hook import DistillHook
    from colt_det.runtime.checkpoints import atomic_torch_save
    from colt_det.tasks.base import get_task
    cfg = _cfg(voc_data, str(tmp_path / 'w'), teacher)
    task = get_task('det')
    student = task.build_model(cfg)
    same = str(tmp_path / 'same.pth')
    atomic_torch_save(dict(state_dict=student.state_dict()), same)
    torch.manual_seed(0)
    batch = next(iter(Runner.build_dataloader(cfg.train_dataloader)))

    def losses(path):
        runner = types.SimpleNamespace(model=student, cfg=cfg,
                                       build_model=lambda c: task.build_model(cfg))
        hook = DistillHook(path, fpn_weight=1.0, logit_weight=2.0, temperature=2.0)
        hook.before_train(runner)
        student.train()
        for m in student.modules():  # batch statistics would differ from the teacher's
            if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
                m.eval()
        torch.manual_seed(1)  # the same RoI sampling for both calls
        data = student.data_preprocessor(batch, True)
        with torch.no_grad():
            out = student.loss(data['inputs'], data['data_samples'])
        hook.after_train(runner)
        assert 'loss' not in student.__dict__ and '_bbox_forward' not in \
            student.roi_head.__dict__  # released: the classes' methods again
        return out
    mine = losses(same)
    assert float(mine['loss_distill_logits']) == pytest.approx(0.0, abs=1e-6)
    assert float(mine['loss_distill']) == pytest.approx(0.0, abs=1e-4)
    other = losses(teacher)
    assert float(other['loss_distill_logits']) > 1e-4


@pytest.fixture(scope='module')
def teacher(voc_data, tmp_path_factory):
    """A dense detector trained briefly: the teacher of the tests below."""
    from colt_det.search import ColtSearch
    work = str(tmp_path_factory.mktemp('teacher'))
    ColtSearch(det_config(voc_data, work, method='dense', progress_interval=0)).run()
    return osp.join(work, 'final_masked.pth')


def _cfg(voc_data, work, teacher, epochs=1, **colt):
    cfg = det_config(voc_data, work, method='oneshot', granularity='channel',
                     channel_groups='deep', channel_divisor=8, prune_scope='layer',
                     target_sparsity=0.5, progress_interval=0,
                     distill=dict(teacher=teacher, fpn_weight=6.0), **colt)
    cfg.train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=epochs, val_interval=epochs)
    return cfg


def test_a_distilled_final_training_keeps_the_teacher_out_of_every_file(voc_data, tmp_path,
                                                                         teacher):
    from colt_det.search import ColtSearch
    from colt_det.tasks.base import get_task
    work = str(tmp_path / 'w')
    cfg = _cfg(voc_data, work, teacher, keep_stage_checkpoints=True)
    cfg.colt.distill.logit_weight = 1.0
    ColtSearch(cfg).run()
    logs = ''.join(open(f).read() for f in glob.glob(osp.join(work, 'final', '**', '*.json'),
                                                      recursive=True))
    # the losses were part of the training
    assert '"loss_distill"' in logs and '"loss_distill_logits"' in logs
    student = set(get_task('det').build_model(cfg).state_dict())
    for path in glob.glob(osp.join(work, '**', '*.pth'), recursive=True):
        state = torch.load(path, map_location='cpu', weights_only=False)
        assert set(state['state_dict']) == student, path  # the student's names, nothing more
    ticket = load_ticket(osp.join(work, 'tickets', 'final.safetensors'))
    assert set(ticket.trained) <= student and set(ticket.masks) <= student
    # distillation changed what was learned: the same run without it ends elsewhere
    plain = str(tmp_path / 'plain')
    c = _cfg(voc_data, plain, teacher)
    c.colt.pop('distill')
    ColtSearch(c).run()
    other = load_ticket(osp.join(plain, 'tickets', 'final.safetensors'))
    assert any(not torch.equal(ticket.trained[k], other.trained[k]) for k in ticket.masks)


def test_a_distilled_final_stage_killed_mid_training_resumes_to_the_same_ticket(
        voc_data, tmp_path, teacher, monkeypatch):
    def config(work):  # two epochs: the kill comes after the first
        return dumped(_cfg(voc_data, work, teacher, epochs=2), tmp_path, work)
    ref, work = killed_and_resumed(config, tmp_path, monkeypatch)
    a = load_ticket(osp.join(ref, 'tickets', 'final.safetensors')).trained
    b = load_ticket(osp.join(work, 'tickets', 'final.safetensors')).trained
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_a_bad_teacher_is_one_line_before_anything_is_written(voc_data, cls_data, tmp_path,
                                                             capsys, teacher):
    from conftest import cls_config
    train = load_tool('train').main
    for name, path, message in (
            ('missing', str(tmp_path / 'none.pth'), 'none.pth does not exist'),
            ('other', None, "must be a checkpoint of the student's architecture")):
        if path is None:  # a classifier's checkpoint as a detector's teacher
            from colt_det.search import ColtSearch
            cw = str(tmp_path / 'cls')
            ColtSearch(cls_config(cls_data, cw, method='dense', progress_interval=0)).run()
            path = osp.join(cw, 'final_masked.pth')
        work = tmp_path / name
        config = str(tmp_path / f'{name}.py')
        _cfg(voc_data, str(work), path).dump(config)
        one_line_error(capsys, train([config, '--work-dir', str(work)]), message)
        assert not work.exists()
