"""Every promise of docs/guarantees.md under hostile input: kill windows, moved work dirs,
settings and files checked before the first write, one-line errors, nothing overwritten.

The tools run in-process (``main(argv)``); a simulated kill (``COLT_DET_CRASH_AT``) stops a
search exactly at a write boundary, as SIGKILL would (tests/search/test_crash_resume.py keeps
the real signal).
"""
import json
import os
import os.path as osp
import shutil

import pytest
import torch

from colt_det.core import load_ticket, save_ticket

from conftest import ROOT, checksums, crash, load_tool, one_line_error, write_tiny_cls_cfg

train, eval_tool, compare_runs, export_ticket = (load_tool(n).main for n in (
    'train', 'test', 'compare_runs', 'export_ticket'))



def final_mask(work):
    return load_ticket(osp.join(work, 'tickets', 'final.safetensors')).masks


def no_stage_checkpoints(work):
    left = [osp.join(d, f) for d, _, files in os.walk(work) for f in files
            if f.endswith('.pth') and f != 'final_masked.pth' or f == 'last_checkpoint']
    assert left == []


@pytest.fixture
def reference(tiny_run):
    return tiny_run



# ------------------------------------------------------------------------------ kill windows
@pytest.mark.parametrize('point', ['settings', 'theta_init', 'theta0', 'stage_epoch',
                                   'round_ticket', 'final_masked', 'final_ticket'])
def test_killed_at_each_write_boundary_resumes_to_the_same_ticket(
        tiny_cfg, reference, tmp_path, monkeypatch, capsys, point):
    work = str(tmp_path / 'w')
    crash(tiny_cfg, work, point, monkeypatch)
    before = checksums(work)
    # a fresh start refuses and changes nothing; a resume with other settings is refused
    one_line_error(capsys, train([tiny_cfg, '--work-dir', work]), '--resume')
    one_line_error(capsys, train([tiny_cfg, '--work-dir', work, '--resume', '--cfg-options',
                                  'colt.seed=5']), 'changed colt settings', 'seed')
    assert checksums(work) == before
    assert train([tiny_cfg, '--work-dir', work, '--resume']) == 0
    ref, got = final_mask(reference), final_mask(work)
    assert all(torch.equal(ref[k], got[k]) for k in ref)
    assert osp.isfile(osp.join(work, 'final_masked.pth'))
    no_stage_checkpoints(work)


def test_search_continued_to_a_higher_target_keeps_its_rounds(tiny_cfg, reference, tmp_path,
                                                              capsys):
    work, no_final = str(tmp_path / 'w'), ['--cfg-options', 'colt.final_train=False']
    assert train([tiny_cfg, '--work-dir', work, *no_final, 'colt.target_sparsity=0.4']) == 0
    first = checksums(work)['tickets/round_01.safetensors']
    assert not osp.exists(osp.join(work, 'tickets', 'round_02.safetensors'))
    # a lower target is refused (its round ticket already exists), a higher one adds rounds
    one_line_error(capsys, train([tiny_cfg, '--work-dir', work, '--resume', *no_final,
                                  'colt.target_sparsity=0.3']), 'changed colt settings')
    assert train([tiny_cfg, '--work-dir', work, '--resume', *no_final,
                  'colt.target_sparsity=0.7']) == 0
    assert checksums(work)['tickets/round_01.safetensors'] == first
    ref = load_ticket(osp.join(reference, 'tickets', 'round_02.safetensors')).masks
    got = load_ticket(osp.join(work, 'tickets', 'round_02.safetensors')).masks
    assert all(torch.equal(ref[k], got[k]) for k in ref)
    assert json.load(open(osp.join(work, 'colt_settings.json')))['target_sparsity'] == 0.7
    # a final ticket is trained for its target: that search cannot be continued
    before = checksums(reference)
    one_line_error(capsys, train([tiny_cfg, '--work-dir', reference, '--resume',
                                  '--cfg-options', 'colt.target_sparsity=0.9']),
                   'changed colt settings', 'target_sparsity')
    assert checksums(reference) == before


def test_killed_after_init_ticket_resumes(tiny_cfg, reference, tmp_path, monkeypatch):
    work = str(tmp_path / 'w')
    ticket = osp.join(reference, 'tickets', 'final.safetensors')
    opts = ['--cfg-options', 'colt.method=ticket', 'colt.num_partitions=1',
            f'colt.init_ticket.path={ticket}', 'colt.init_ticket.mode=trained']
    crash(tiny_cfg, work, 'init_ticket', monkeypatch, *opts)
    assert osp.isfile(osp.join(work, 'tickets', 'init.safetensors'))
    assert train([tiny_cfg, '--work-dir', work, '--resume', *opts]) == 0
    ref, got = final_mask(reference), final_mask(work)
    assert all(torch.equal(ref[k], got[k]) for k in ref)  # method='ticket' keeps the mask


# ------------------------------------------------------------------------------ moved work dirs
def test_moved_and_copied_work_dirs_resume_from_their_own_checkpoints(
        tiny_cfg, reference, tmp_path, monkeypatch):
    original = str(tmp_path / 'orig')
    crash(tiny_cfg, original, 'stage_epoch', monkeypatch)  # mid-stage: epoch_1.pth exists
    ckpts = [osp.join(d, f) for d, _, files in os.walk(original) for f in files
             if f.startswith('epoch_')]
    assert ckpts, 'the kill came before any stage checkpoint'
    copy, moved = str(tmp_path / 'copy'), str(tmp_path / 'moved')
    shutil.copytree(original, copy)
    shutil.copytree(original, str(tmp_path / 'to_move'))
    shutil.move(str(tmp_path / 'to_move'), moved)
    for c in ckpts:  # a copy that loaded the original's checkpoint would fail on this
        with open(c, 'wb') as f:
            f.write(b'not a checkpoint')
    ref = load_ticket(osp.join(reference, 'tickets', 'round_01.safetensors')).masks
    for work in (copy, moved):  # resumed up to the first round ticket: the same mask
        crash(tiny_cfg, work, 'round_ticket', monkeypatch, '--resume')
        got = load_ticket(osp.join(work, 'tickets', 'round_01.safetensors')).masks
        assert all(torch.equal(ref[k], got[k]) for k in ref)


def test_checkpoint_outside_the_stage_is_never_loaded(tiny_cfg, tmp_path, monkeypatch, capsys):
    work = str(tmp_path / 'w')
    crash(tiny_cfg, work, 'stage_epoch', monkeypatch)
    marker = [osp.join(d, 'last_checkpoint') for d, _, files in os.walk(work)
              if 'last_checkpoint' in files][0]
    outside = tmp_path / 'elsewhere.pth'
    outside.write_bytes(b'x')
    with open(marker, 'w') as f:
        f.write(str(outside))
    one_line_error(capsys, train([tiny_cfg, '--work-dir', work, '--resume']),
                   'elsewhere.pth', 'last_checkpoint')


# ------------------------------------------------------------------------------ checked first
@pytest.fixture(scope='module')
def not_a_ticket(tmp_path_factory):
    path = tmp_path_factory.mktemp('bad') / 'x.safetensors'
    path.write_text('this is not a ticket, just text')
    return str(path)


@pytest.mark.parametrize('options,message', [
    (['colt.prune_scope=foo'], "colt.prune_scope must be one of ['global', 'layer']"),
    (['colt.min_keep=3'], 'colt.min_keep must be an integer in 1..2'),
    (["colt.prunable.include=['backbone.*','neck.*']"], "pattern(s) ['neck.*'] match no"),
    (['colt.prunable.include=[nothing.*]'], 'no prunable parameters match'),
    (['colt.method=random', 'colt.random_from=NOT_A_TICKET'], 'not a valid safetensors'),
    (['colt.max_rounds=x'], "colt.max_rounds must be an integer >= 1, got 'x'"),
    (['colt.partition_scheme=explicit', 'colt.partition_groups=[[0,1],[2,99]]'],
     'index(es) [99] outside 0..9'),
    (['model.num_classes=9'], 'model.num_classes=9 but the training data has 10 classes'),
])
def test_bad_settings_refused_before_any_write(tiny_cfg, not_a_ticket, tmp_path, capsys,
                                                options, message):
    options = [o.replace('NOT_A_TICKET', not_a_ticket) for o in options]
    work = tmp_path / 'w'
    one_line_error(capsys, train([tiny_cfg, '--work-dir', str(work), '--cfg-options',
                                  *options]), message)
    assert not work.exists()


def test_unusable_work_dirs_refused(tiny_cfg, tmp_path, capsys):
    a_file = tmp_path / 'file'
    a_file.write_text('')
    one_line_error(capsys, train([tiny_cfg, '--work-dir', str(a_file / 'w')]), 'is a file')
    one_line_error(capsys, train([tiny_cfg, '--work-dir', str(tmp_path / ('x' * 300))]),
                   'longer than the file system allows')
    assert sorted(os.listdir(tmp_path)) == ['file']


def _backbone_ticket(path, backbone: dict, arch: str):
    """A ticket (nothing pruned, values = the random init) of an ImageClassifier backbone."""
    from colt_det.core import PrunableSpec, ones_mask
    from colt_det.tasks.cls.models import ImageClassifier
    model = ImageClassifier(backbone=backbone, num_classes=10)
    names = PrunableSpec(include=['backbone.*']).select(model)
    state = model.state_dict()
    save_ticket(str(path), ones_mask(model, names), state, trained=state, meta=dict(arch=arch))
    return str(path)


@pytest.mark.parametrize('source,target', [
    # 3 convs into a 4-conv net (38.7% coverage in the red team's report)
    (dict(type='SmallConvNet', widths=(8, 16, 16)), None),
    # ResNet-18 into ResNet-34 (52.5%): every mapped tensor fits, only coverage and depth differ
    (dict(type='TVResNet', depth=18), dict(_delete_=True, type='TVResNet', depth=34)),
])
def test_ticket_of_another_depth_refused_unless_allow_partial(cls_data, tmp_path, capsys,
                                                               source, target):
    from mmengine.config import Config

    from colt_det.tasks.cls.task import ClsTask
    arch = f"{source['type']}{source.get('depth', '')}"
    ticket = _backbone_ticket(tmp_path / 't.safetensors', source, arch)
    cfg = write_tiny_cls_cfg(tmp_path, cls_data, '' if target is None else
                     f'model = dict(backbone={target!r})\n')
    assert ClsTask().arch_name(Config.fromfile(cfg)) != arch or target is None
    opts = ['--cfg-options', 'colt.method=ticket', 'colt.num_partitions=1',
            f'colt.init_ticket.path={ticket}', 'colt.final_train=False']
    work = tmp_path / 'w'
    one_line_error(capsys, train([cfg, '--work-dir', str(work), *opts]),
                   'covers', 'allow_partial=True')
    assert not work.exists()
    assert train([cfg, '--work-dir', str(work), *opts,
                  'colt.init_ticket.allow_partial=True']) == 0
    report = json.loads((work / 'transfer_report.json').read_text())
    assert 0.0 < report['prunable_coverage'] < 1.0
    assert 'of the prunable weights' in capsys.readouterr().out  # the coverage is printed


def test_dense_ticket_layers_left_out_of_prunable_keep_their_values(cls_data, tmp_path,
                                                                       capsys):
    # a pretrained (dense) backbone ticket with its first conv excluded from pruning, as the
    # movement score needs for mmdet's frozen stages; a pruned excluded layer stays refused
    from mmengine.config import Config

    from colt_det.runtime.checkpoints import load_state
    from colt_det.search import ColtSearch, SearchError
    net = dict(type='SmallConvNet', widths=(8, 16, 16, 16))
    ticket = _backbone_ticket(tmp_path / 't.safetensors', net, 'SmallConvNet')
    cfg = Config.fromfile(write_tiny_cls_cfg(tmp_path, cls_data))
    cfg.work_dir = str(tmp_path / 'w')
    cfg.colt.update(init_ticket=dict(path=ticket, mode='trained'), prunable=dict(
        include=['backbone.*'], exclude=['backbone.features.0.*']))
    search = ColtSearch(cfg)
    search.prepare()
    init = load_ticket(osp.join(cfg.work_dir, 'tickets', 'init.safetensors'))
    assert 'backbone.features.0.weight' not in init.masks and len(init.masks) == 3
    source, theta0 = load_ticket(ticket), load_state(osp.join(cfg.work_dir, 'theta0.safetensors'))
    for name in ('backbone.features.0.weight', 'backbone.features.4.weight'):
        assert torch.equal(theta0[name], source.trained[name])
    pruned = load_ticket(ticket)
    pruned.masks['backbone.features.0.weight'][0] = False
    save_ticket(str(tmp_path / 'p.safetensors'), pruned.masks, pruned.theta0,
                trained=pruned.trained, meta=dict(arch='SmallConvNet'))
    cfg.colt.init_ticket.path = str(tmp_path / 'p.safetensors')
    cfg.work_dir = str(tmp_path / 'w2')
    with pytest.raises(SearchError, match=r"init_ticket prunes layers this config does not "
                                          r"prune, e.g. \['backbone.features.0.weight'\]"):
        ColtSearch(cfg).prepare()
    assert not osp.exists(cfg.work_dir)


def test_missing_pretrained_theta0_names_its_pretraining(cls_data, tmp_path, capsys):
    # configs/colt_faster_rcnn_hard_pretrained32.py on a fresh machine, before its pretraining
    cfg = write_tiny_cls_cfg(tmp_path, cls_data,
                             "pretrain_config = 'configs/pretrain_tvresnet18_hard_cls_32ep.py'\n")
    missing = tmp_path / 'pretrain' / 'tickets' / 'final.safetensors'
    work = tmp_path / 'w'
    one_line_error(capsys, train([cfg, '--work-dir', str(work), '--cfg-options',
                                  f'colt.init_ticket.path={missing}',
                                  'colt.init_ticket.mode=trained']),
                   f'init_ticket {missing} does not exist',
                   'python tools/train.py configs/pretrain_tvresnet18_hard_cls_32ep.py')
    assert not work.exists()


def test_empty_class_folder_refused_up_front(cls_data, tmp_path, capsys):
    data = tmp_path / 'data'
    shutil.copytree(cls_data, data)
    os.makedirs(data / 'train' / 'zz_empty')
    cfg = write_tiny_cls_cfg(tmp_path, str(data))
    work = tmp_path / 'w'
    one_line_error(capsys, train([cfg, '--work-dir', str(work)]), 'zz_empty', 'has no images')
    assert not work.exists()


# ------------------------------------------------------------------------------ overwrites
def test_outputs_are_not_overwritten_without_force(tiny_cfg, reference, tmp_path, capsys):
    md = tmp_path / 'table.md'
    md.write_text('mine')
    one_line_error(capsys, compare_runs([reference, '--md', str(md)]), 'table.md', '--force')
    assert md.read_text() == 'mine'
    assert compare_runs([reference, '--md', str(md), '--force']) == 0
    assert '| run |' in md.read_text()
    out = tmp_path / 'metrics.json'
    out.write_text('mine')
    one_line_error(capsys, eval_tool([tiny_cfg, 'x.pth', '--out', str(out)]), '--force')
    assert out.read_text() == 'mine'


def test_bad_summaries_are_one_line_errors(tmp_path, capsys):
    for name, text in (('corrupt', '{"method": '), ('keyless', '{}'), ('list', '[1]')):
        (tmp_path / name).mkdir()
        (tmp_path / name / 'colt_summary.json').write_text(text)
        one_line_error(capsys, compare_runs([str(tmp_path / name)]), 'colt_summary.json')


# ------------------------------------------------------------------------------ crafted tickets
def _craft(path, tensors, metadata):
    from safetensors.torch import save
    path.write_bytes(save(tensors, metadata=metadata))
    return str(path)


@pytest.mark.parametrize('case,message', [
    ('no_shapes', 'no valid "shapes"'),
    ('meta_list', 'no valid "shapes"'),
    ('missing_mask', "lacks the tensor 'mask/w'"),
    ('float_mask', 'not a packed torch.uint8 mask'),
    ('not_json', 'metadata is not JSON'),
])
def test_crafted_ticket_metadata_is_a_clear_error(tmp_path, capsys, case, message):
    from colt_det.core import TicketError
    from colt_det.core.ticket import pack_bits
    mask = pack_bits(torch.ones(2, 2, dtype=torch.bool))
    meta = dict(shapes={'w': [2, 2]}, has_theta0=False)
    tensors = {'mask/w': mask}
    if case == 'no_shapes':
        meta.pop('shapes')
    if case == 'missing_mask':
        tensors = {'other': mask}
    if case == 'float_mask':
        tensors = {'mask/w': mask.float()}
    raw = {'meta_list': '[1, 2]', 'not_json': '{shapes:'}.get(case, json.dumps(meta))
    path = _craft(tmp_path / f'{case}.safetensors', tensors, {'colt_det': raw})
    with pytest.raises(TicketError, match=message):
        load_ticket(path)
    one_line_error(capsys, export_ticket([path, str(tmp_path / 'out.pth')]), path, message)
    assert not (tmp_path / 'out.pth').exists()


def test_unwritable_export_target(reference, tmp_path, capsys):
    a_file = tmp_path / 'file'
    a_file.write_text('')
    ticket = osp.join(reference, 'tickets', 'final.safetensors')
    one_line_error(capsys, export_ticket([ticket, str(a_file / 'out.pth')]), 'out.pth')


# ------------------------------------------------------------------------------ bad data
def test_corrupt_images_name_the_file(cls_data, tmp_path, capsys):
    data = tmp_path / 'data'
    shutil.copytree(cls_data, data)
    cls_dir = data / 'train' / sorted(os.listdir(data / 'train'))[0]
    image = cls_dir / sorted(os.listdir(cls_dir))[0]
    image.write_bytes(image.read_bytes()[:20])  # truncated PNG
    cfg = write_tiny_cls_cfg(tmp_path, str(data))
    one_line_error(capsys, train([cfg, '--work-dir', str(tmp_path / 'w')]), str(image),
                   'cannot be read')
    # the same through dataloader worker processes: the worker's message, not "Caught ..."
    one_line_error(capsys, train([cfg, '--work-dir', str(tmp_path / 'w2'), '--cfg-options',
                                  'train_dataloader.num_workers=1']), str(image),
                   'cannot be read')


def _voc_copy(voc_data, tmp_path):
    root = tmp_path / 'voc'
    shutil.copytree(voc_data, root)
    return root


def _voc_dataset(root):
    from mmengine.registry import DATASETS, DefaultScope

    from conftest import det_config
    cfg = det_config(str(root), str(root / 'w'))
    with DefaultScope.overwrite_default_scope('mmdet'):
        return DATASETS.build(cfg.train_dataloader.dataset)


def test_voc_inverted_box_and_corrupt_image(voc_data, tmp_path):
    root = _voc_copy(voc_data, tmp_path)
    ann_dir = root / 'VOC2007' / 'Annotations'
    xml = ann_dir / sorted(os.listdir(ann_dir))[0]
    text = xml.read_text()
    xmin, xmax = text.split('<xmin>')[1].split('<')[0], text.split('<xmax>')[1].split('<')[0]
    xml.write_text(text.replace(f'<xmin>{xmin}<', f'<xmin>{int(xmax) + 5}<', 1))
    with pytest.raises(ValueError, match=f'{xml}: object 0 .* has xmin .* > xmax'):
        _voc_dataset(root)
    xml.write_text(text)
    dataset = _voc_dataset(root)
    img = dataset.get_data_info(0)['img_path']
    with open(img, 'wb') as f:
        f.write(b'')  # empty image file
    with pytest.raises(ValueError, match=f'image {img} cannot be read'):
        dataset[0]


def test_test_tool_refuses_pickles_and_cleans_up(voc_data, tmp_path, capsys, monkeypatch):
    import tempfile

    from mmengine.registry import MODELS, DefaultScope

    from colt_det.core import PrunableSpec, ones_mask

    from conftest import det_config
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(tempfile, 'tempdir', str(tmp_path))
    data_opts = ['--cfg-options'] + [f'{k}.dataset.data_root={voc_data}' for k in (
        'train_dataloader', 'val_dataloader', 'test_dataloader')]
    config = osp.join(ROOT, 'configs', 'colt_faster_rcnn_demo.py')

    class Evil:
        def __reduce__(self):
            return (os.system, ('touch PWNED', ))

    torch.save({'state_dict': {}, 'x': Evil()}, tmp_path / 'evil.pth')
    one_line_error(capsys, eval_tool([config, str(tmp_path / 'evil.pth'), *data_opts]),
                   'evil.pth', 'not plain weights')
    assert not (tmp_path / 'PWNED').exists()
    # a final ticket is evaluated through a temporary checkpoint that is removed afterwards
    with DefaultScope.overwrite_default_scope('mmdet'):
        model = MODELS.build(det_config(voc_data, str(tmp_path)).model)
    names = PrunableSpec(include=['backbone.*']).select(model)
    state = model.state_dict()
    ticket = tmp_path / 'final.safetensors'
    save_ticket(str(ticket), ones_mask(model, names), state, trained=state,
                dense={k: v for k, v in state.items() if k not in names})
    before = set(os.listdir(tmp_path))
    assert eval_tool([config, str(ticket), '--no-coco', *data_opts]) == 0
    assert not [f for f in set(os.listdir(tmp_path)) - before if f.startswith('colt_eval_')]


# ------------------------------------------------------------------------------ mmdet-style flags
def test_amp_and_auto_scale_lr_options(tiny_cfg, tmp_path, capsys, monkeypatch):
    from mmengine.config import Config

    from colt_det.cli.train import apply_cli_options
    module = load_tool('train')
    cfg = Config.fromfile(tiny_cfg)
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: True)
    apply_cli_options(cfg, amp=True, auto_scale_lr=True)
    assert cfg.optim_wrapper.type == 'AmpOptimWrapper'
    assert cfg.optim_wrapper.loss_scale == 'dynamic'
    assert cfg.auto_scale_lr == dict(enable=True, base_batch_size=64)
    cfg.pop('auto_scale_lr')
    with pytest.raises(ValueError, match='base_batch_size'):
        apply_cli_options(cfg, amp=False, auto_scale_lr=True)
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    work = tmp_path / 'w'
    assert module.main([tiny_cfg, '--work-dir', str(work), '--amp']) == 1
    assert '--amp needs a GPU' in capsys.readouterr().err
    assert not work.exists()
