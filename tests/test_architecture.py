"""The architecture's promises: a torch-only core, side-effect-free imports, one-way imports,
a scoped registry, and a pure stage config."""
import ast
import glob
import os
import os.path as osp
import subprocess
import sys
import time

import pytest

from conftest import ROOT, cls_config

# an import hook that makes MMEngine / MMDetection / mmcv look uninstalled
_BLOCK = """
import sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] in ('mmengine', 'mmdet', 'mmcv'):
            raise ModuleNotFoundError(f'blocked {name}')
sys.meta_path.insert(0, Block())
"""


def _python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, '-c', code], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)


def test_core_imports_without_mmengine_or_mmdet():
    res = _python(_BLOCK + """
import torch
import colt_det, colt_det.core
from colt_det.core import magnitude_prune, intersect, save_ticket, load_ticket
m = magnitude_prune({'w': torch.randn(4, 4)}, {'w': torch.ones(4, 4, dtype=torch.bool)}, 0.5)
print('pruned', int((~m['w']).sum()))
try:
    import colt_det.search
except ModuleNotFoundError as e:
    print('search needs', str(e).split()[1].split('.')[0])
""")
    assert res.returncode == 0, res.stderr[-2000:]
    assert 'pruned 8' in res.stdout
    assert 'search needs mmengine' in res.stdout  # the block is real: search does need it


def test_import_colt_det_has_no_side_effects():
    res = _python("""
import sys, torch
before = len(torch.serialization.get_safe_globals())
import colt_det, colt_det.core
from mmengine.registry import HOOKS, MODELS
print(len(torch.serialization.get_safe_globals()) == before,
      'mmdet' in sys.modules, 'mmcv' in sys.modules, 'ColtHook' in HOOKS.module_dict,
      'ImageClassifier' in MODELS.module_dict)
""")
    assert res.returncode == 0, res.stderr[-2000:]
    assert res.stdout.split() == ['True', 'False', 'False', 'False', 'False']


def _module_of(path: str) -> str:
    rel = osp.relpath(path, ROOT)[:-3].replace(os.sep, '.')
    return rel[:-len('.__init__')] if rel.endswith('.__init__') else rel


def import_graph() -> dict:
    """colt_det module -> the colt_det modules it imports, counting every import: top-level,
    inside functions and under ``TYPE_CHECKING`` (an AST scan, nothing is imported)."""
    modules = {_module_of(p): p for p in glob.glob(osp.join(ROOT, 'colt_det', '**', '*.py'),
                                                   recursive=True)}
    graph = {}
    for mod, path in modules.items():
        package = mod if path.endswith('__init__.py') else mod.rpartition('.')[0]
        edges = set()
        for node in ast.walk(ast.parse(open(path).read())):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ''
                if node.level:
                    parts = package.split('.')
                    base = '.'.join(parts[:len(parts) - node.level + 1] + ([base] if base
                                                                           else []))
                names = [base] + [f'{base}.{a.name}' for a in node.names]
            else:
                continue
            edges |= {n for n in names if n in modules and n != mod}
        graph[mod] = edges
    return graph


def find_cycle(graph: dict):
    """One import cycle of ``graph`` as a list of modules, or None."""
    state, stack = {}, []

    def visit(m):
        state[m] = 'open'
        stack.append(m)
        for n in sorted(graph[m]):
            if state.get(n) == 'open':
                return stack[stack.index(n):] + [n]
            if n not in state:
                found = visit(n)
                if found:
                    return found
        state[m] = 'done'
        stack.pop()
        return None
    for m in sorted(graph):
        if m not in state:
            found = visit(m)
            if found:
                return found
    return None


def test_no_import_cycle_counting_lazy_and_type_checking_imports():
    graph = import_graph()
    assert 'colt_det.search.stage' in graph and graph['colt_det.search.driver']
    assert find_cycle(graph) is None, ' -> '.join(find_cycle(graph))
    # the finder finds one: a function-level import back from settings would be a cycle
    assert find_cycle(dict(graph, **{'colt_det.search.settings': graph[
        'colt_det.search.settings'] | {'colt_det.methods.rounds'}})) is not None


# what each layer may import of colt_det (besides itself, version, registry and errors)
LAYERS = {
    'core': (),
    'synthetic': (),
    'report': ('core',),
    'runtime': ('core',),
    'hooks': ('core', 'runtime'),
    'tasks': ('core', 'runtime'),
    'deploy': ('core', 'runtime', 'tasks.base'),
    'search': ('core', 'runtime', 'hooks', 'tasks.base', 'report'),
    'methods': ('core', 'runtime', 'search'),
}


def test_layers_import_only_the_layers_below():
    offenders = []
    for mod, edges in import_graph().items():
        layer = (mod.split('.') + [''])[1]  # colt_det itself has none
        if layer not in LAYERS:
            continue
        allowed = (layer, 'version', 'registry', 'errors') + LAYERS[layer]
        for dep in edges:
            name = dep[len('colt_det.'):]
            if not any(name == a or name.startswith(a + '.') for a in allowed):
                offenders.append(f'{mod} -> {dep}')
    assert not offenders, offenders
    # core imports torch (and safetensors) only: see test_core_imports_without_mmengine_or_mmdet


MAX_FUNCTION_LINES = 60


def long_functions(root: str = osp.join(ROOT, 'colt_det')) -> list:
    """``path:name lines`` of every function of the package longer than
    :data:`MAX_FUNCTION_LINES` (its docstring included)."""
    out = []
    for path in glob.glob(osp.join(root, '**', '*.py'), recursive=True):
        for node in ast.walk(ast.parse(open(path).read())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                lines = node.end_lineno - node.lineno + 1
                if lines > MAX_FUNCTION_LINES:
                    out.append(f'{osp.relpath(path, ROOT)}:{node.name} {lines}')
    return out


def test_no_function_in_the_package_is_over_60_lines(tmp_path):
    assert long_functions() == []
    # the finder finds one
    (tmp_path / 'm.py').write_text('def f():\n' + '    x = 1\n' * MAX_FUNCTION_LINES)
    assert long_functions(str(tmp_path)) == [f'{osp.relpath(tmp_path / "m.py", ROOT)}:f 61']


def test_types_live_in_the_colt_det_scope():
    """A same-named type of another package (mmpretrain's ImageClassifier) does not collide."""
    from mmengine.registry import MODELS as ROOT_MODELS
    from mmengine.registry import Registry

    from colt_det.registry import MODELS
    from colt_det.tasks.cls.models import ImageClassifier
    other = Registry('model', parent=ROOT_MODELS, scope='otherpkg')

    @other.register_module(name='ImageClassifier')
    class OtherClassifier:
        pass

    assert MODELS.get('ImageClassifier') is ImageClassifier
    assert ROOT_MODELS.get('colt_det.ImageClassifier') is ImageClassifier
    assert ROOT_MODELS.get('otherpkg.ImageClassifier') is OtherClassifier
    assert 'ImageClassifier' not in ROOT_MODELS.module_dict


def _stage_inputs(cls_data, tmp_path, **colt):
    from colt_det.search.settings import ColtSettings
    from colt_det.search.workdir import WorkDir
    from colt_det.tasks.base import get_task
    cfg = cls_config(cls_data, str(tmp_path / 'w'), **colt)
    return cfg, ColtSettings.from_cfg(cfg.colt), WorkDir(cfg.work_dir), get_task('cls')


def test_stage_cfg_partition_final_and_rewind(cls_data, tmp_path):
    """stage_cfg builds each kind of stage's Runner config and leaves the search config alone."""
    from colt_det.search.stage import Stage, stage_cfg
    cfg, s, work, task = _stage_inputs(cls_data, tmp_path, rewind_iter=3,
                                       final_train_cfg=dict(max_epochs=5))
    before = cfg.pretty_text
    classes = [f'c{i}' for i in range(10)]
    part = stage_cfg(cfg, s, work, task, classes, Stage(
        work.stage(2, 1), mask=work.round_ticket(1), group=classes[5:], prune=True))
    hooks = {h.type: h for h in part.custom_hooks}
    assert 'colt' not in part and part.work_dir == work.stage(2, 1)
    assert part.model.num_classes == 5
    assert part.train_dataloader.dataset.type == 'colt_det.ClassSubset'
    assert part.train_dataloader.dataset.classes == classes[5:]
    assert list(hooks) == ['colt_det.ColtMaskHook', 'colt_det.FiniteLossHook',
                           'colt_det.EpochSeedHook', 'colt_det.ColtPruneHook',
                           'colt_det.StageRecordHook']  # one job each, in this order
    mask, prune = hooks['colt_det.ColtMaskHook'], hooks['colt_det.ColtPruneHook']
    assert (mask.mask, mask.theta0, prune.prune_ratio) == \
        (work.round_ticket(1), work.theta0, s.prune_ratio)
    assert prune.out_mask == osp.join(work.stage(2, 1), 'mask.safetensors')
    record = hooks['colt_det.StageRecordHook']
    assert record.stage_name == osp.join('rounds', 'round_02', 'part_1')
    assert record.out_result == osp.join(work.stage(2, 1), 'result.json')

    final = stage_cfg(cfg, s, work, task, classes, Stage(work.final_stage, mask='m', kind='final'))
    assert final.train_cfg.max_epochs == 5 and final.model.num_classes == 10
    assert 'colt_det.ColtPruneHook' not in [h.type for h in final.custom_hooks]

    rewind = stage_cfg(cfg, s, work, task, classes, Stage(work.rewind_stage, kind='rewind'))
    assert rewind.train_cfg == dict(type='IterBasedTrainLoop', max_iters=3, val_interval=4)
    hooks = {h.type: h for h in rewind.custom_hooks}
    assert (hooks['colt_det.ColtMaskHook'].theta0,
            hooks['colt_det.StageRecordHook'].out_state) == (work.theta_init, work.theta0)
    assert cfg.pretty_text == before  # the search's config is never changed


def test_unknown_task_and_method_name_the_choices(cls_data, tmp_path):
    from colt_det.search import ColtSearch
    with pytest.raises(ValueError, match=r"colt.task must be one of \['cls', 'det'\]"):
        ColtSearch(cls_config(cls_data, str(tmp_path), task='seg'))
    with pytest.raises(ValueError, match=r"colt.method must be one of \['colt', 'imp'"):
        ColtSearch(cls_config(cls_data, str(tmp_path), method='lth'))


def test_empty_last_checkpoint_resumes_from_the_newest(tmp_path):
    """A kill while MMEngine writes last_checkpoint leaves it empty: the newest checkpoint."""
    from colt_det.runtime.runner import stage_checkpoint
    assert stage_checkpoint(str(tmp_path)) is None
    for i, name in enumerate(['epoch_1.pth', 'epoch_2.pth']):
        (tmp_path / name).write_bytes(b'x')
        os.utime(tmp_path / name, (time.time() - 10 + i, time.time() - 10 + i))
    (tmp_path / 'last_checkpoint').write_text('')
    assert stage_checkpoint(str(tmp_path)) == str(tmp_path / 'epoch_2.pth')
    (tmp_path / 'last_checkpoint').write_text('/elsewhere/epoch_1.pth')
    assert stage_checkpoint(str(tmp_path)) == str(tmp_path / 'epoch_1.pth')
    (tmp_path / 'last_checkpoint').write_text('/elsewhere/epoch_9.pth')
    with pytest.raises(FileNotFoundError, match='epoch_9.pth'):
        stage_checkpoint(str(tmp_path))


def test_options_added_later_resume_with_their_default(cls_data, tmp_path):
    """A work dir whose settings record predates an option resumes if the option is default."""
    import json

    from colt_det.search import ColtSearch, SearchError
    work = str(tmp_path / 'w')
    ColtSearch(cls_config(cls_data, work)).prepare()  # settings record + theta0, no training
    path = osp.join(work, 'colt_settings.json')
    record = json.load(open(path))
    del record['granularity']
    json.dump(record, open(path, 'w'))
    ColtSearch(cls_config(cls_data, work), resume=True).prepare()
    with pytest.raises(SearchError, match=r"changed colt settings \['granularity'\]"):
        ColtSearch(cls_config(cls_data, work, granularity='channel'), resume=True).prepare()
