"""The benchmark pages' tables and verdicts, generated from the recorded JSON.

A page marks a generated region with a comment naming the generator, the JSON (under
``benchmarks/results/``) and the generator's arguments, and its end::

    <!-- generated: search_cost.table search_cost_det-hard_pre32_high.json -->
    ...
    <!-- end generated -->

``python benchmarks/docs.py`` rewrites every region of ``docs/**/*.md`` and ``README.md`` from
the JSON; ``--check`` only says which are stale (exit 1). ``tests/test_docs.py`` runs the check
and also holds the prose to the JSON: every measured number of a section must be bound, to a
number its generated regions print or to a field it names (``<!-- fields: FILE:PATH -->``, see
:func:`unchecked_numbers`).
"""
import argparse
import functools
import glob
import json
import os.path as osp
import re
import sys
from typing import Callable, Dict, Iterator, List, Set, Tuple

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
RESULTS = osp.join(ROOT, 'benchmarks', 'results')
sys.path.insert(0, ROOT)
sys.path.insert(0, osp.join(ROOT, 'benchmarks'))

REGION = re.compile(r'(<!-- generated: (?P<spec>[^>]*?) -->\n)(?P<body>.*?)'
                    r'(<!-- end generated -->)', re.S)


def load(name: str):
    with open(osp.join(RESULTS, name)) as f:
        return json.load(f)


def _code(lines: str) -> str:
    return f'```text\n{lines}\n```'


def _search_cost():
    import search_cost
    return search_cost


def gen_search_cost_table(name: str) -> str:
    return _search_cost().table(load(name))


def gen_search_cost_verdict(name: str) -> str:
    return _code(_search_cost().verdict(load(name)))


def gen_search_cost_verdicts(name: str, *targets: str) -> str:
    lines = _search_cost().verdicts(load(name))
    if targets:
        lines = [ln for ln in lines if ln.split(':')[0] in targets]
    return _code('\n'.join(lines))


def gen_search_cost_gaps(name: str, ref: str = 'imp') -> str:
    return _code('\n'.join(_search_cost().gaps(load(name), ref)))


def gen_channel_table(name: str) -> str:
    import channel_tickets
    return channel_tickets.table(load(name))


def gen_channel_verdicts(name: str) -> str:
    import channel_tickets
    return _code('\n'.join(channel_tickets.verdicts(load(name))))


def gen_channel_slim_verdicts(name: str) -> str:
    import channel_tickets
    return _code('\n'.join(channel_tickets.slim_verdicts(load(name))))


def gen_deploy_table(name: str, detector: str) -> str:
    import deploy
    detectors = load(name)['detectors']
    if detector not in detectors:
        return f'_Not recorded yet: the {detector} rows of `benchmarks/results/{name}`._'
    return deploy.table(detectors[detector], detector)


def gen_deploy_int8_table(name: str, detector: str) -> str:
    import deploy
    return deploy.int8_table(load(name)['detectors'][detector], detector)


def gen_deploy_verdict(latency: str, channels: str, seeds: str = '') -> str:
    import deploy
    return _code('\n'.join(deploy.verdict(load(latency), load(channels),
                                           load(seeds) if seeds else None)))


def gen_deploy_found_table(latency: str) -> str:
    import deploy
    return deploy.found_table(load(latency)['detectors']['found'])


def gen_deploy_whole_verdict(latency: str, channels: str) -> str:
    import deploy
    return _code('\n'.join(deploy.whole_verdict(load(latency)['detectors']['found'],
                                                 load(channels))))


def gen_calibration(name: str) -> str:
    sys.path.insert(0, osp.join(ROOT, 'benchmarks', 'calibration'))
    import record
    return '\n'.join(['| run | sparsity | final training | test mAP@0.5 |', '|---|---|---|---|']
                     + record.rows(load(name)))


def gen_fields(name: str, *fields: str) -> str:
    """A two-column table of chosen fields (dotted paths) of a JSON object."""
    data = load(name)
    rows = ['| field | value |', '|---|---|']
    for field in fields:
        value = data
        for part in field.split('.'):
            value = value[int(part)] if isinstance(value, list) else value[part]
        rows.append(f'| `{field}` | {_fmt(value)} |')
    return '\n'.join(rows)


def gen_early_stop(name: str) -> str:
    """The distance of consecutive checks of the early-stop calibration round."""
    data = load(name)
    rows = ['| iteration | mask distance to the previous check |', '|---|---|']
    rows += [f'| {i} | {d:.4f} |' for i, d in data['distances']]
    return '\n'.join(rows)


def gen_ticket_size(name: str) -> str:
    import ticket_size
    return ticket_size.table(load(name))


def gen_summary(name: str) -> str:
    from colt_det.report.summary import format_summary
    return _code(format_summary(load(name)))


def gen_latency_model(name: str) -> str:
    import latency_model
    return latency_model.table(load(name))


def _fmt(v) -> str:
    if isinstance(v, float):
        return f'{v:.4g}'
    return str(v)


GENERATORS: Dict[str, Callable[..., str]] = {
    'search_cost.table': gen_search_cost_table,
    'search_cost.verdict': gen_search_cost_verdict,
    'search_cost.verdicts': gen_search_cost_verdicts,
    'search_cost.gaps': gen_search_cost_gaps,
    'channel_tickets.table': gen_channel_table,
    'channel_tickets.verdicts': gen_channel_verdicts,
    'channel_tickets.slim_verdicts': gen_channel_slim_verdicts,
    'deploy.table': gen_deploy_table,
    'deploy.verdict': gen_deploy_verdict,
    'deploy.int8_table': gen_deploy_int8_table,
    'deploy.found_table': gen_deploy_found_table,
    'deploy.whole_verdict': gen_deploy_whole_verdict,
    'calibration.rows': gen_calibration,
    'fields': gen_fields,
    'early_stop.distances': gen_early_stop,
    'ticket_size.table': gen_ticket_size,
    'summary': gen_summary,
    'latency_model.table': gen_latency_model,
}


def pages() -> List[str]:
    return sorted(glob.glob(osp.join(ROOT, 'docs', '**', '*.md'), recursive=True)) + [
        osp.join(ROOT, 'README.md')]


def regions(text: str) -> Iterator[Tuple[str, List[str], str]]:
    """(generator, its arguments, the region's current body) of every generated region."""
    for m in REGION.finditer(text):
        gen, *args = m.group('spec').split()
        yield gen, args, m.group('body')


def render(gen: str, args: List[str]) -> str:
    if gen not in GENERATORS:
        raise ValueError(f'unknown generator {gen!r}: one of {sorted(GENERATORS)}')
    missing = [a for a in args if a.endswith('.json') and not osp.exists(osp.join(RESULTS, a))]
    if missing:
        return (f'_Not recorded yet: `benchmarks/results/{missing[0]}` '
                f'(the command above makes it)._\n')
    return GENERATORS[gen](*args).rstrip('\n') + '\n'


def regenerate(text: str) -> str:
    def sub(m):
        gen, *args = m.group('spec').split()
        return m.group(1) + render(gen, args) + m.group(4)
    return REGION.sub(sub, text)


# --------------------------------------------------------------------------- the prose check
# a number not inside a word, a version (2.14.1), a path, an issue (#13) or a section (§8)
NUMBER = re.compile(r'(?<![\w.#§/@-])(\d+(?:,\d{3})*(?:\.\d+)?)(?![\d.]*\.\d)'
                    r'(?:(\s?%|x\b|×)|(?![\w/]))')
# an integer that counts something ("3 seeds", "8 rounds"): measured or set, it is bound too
COUNT = re.compile(r'(?<![\w.#§/@=-])(?<!within )(\d+) (?=((?:seeds?|rounds?|epochs?|'
                   r'images?|layers?|partitions?|points?|tests?|minutes?|iterations?|classes|comparisons|'
                   r'trainings?|stages?|passed|skipped|levels?|methods?|runs?|channels?|'
                   r'groups?|proposals?|threads?|cores?|GPUs?|nodes?|hours?|repeats|'
                   r'calibration|boxes|objects|px|ms))\b)')
FIELD = re.compile(r'([^.\[\]]+)(?:\[([^\]]*)\])?')


def _prose(text: str) -> str:
    """``text`` without what is not prose: generated regions, code, link targets, comments."""
    text = REGION.sub('', text)
    text = re.sub(r'```.*?```', '', text, flags=re.S)
    text = re.sub(r'`[^`]*`', '', text)
    text = re.sub(r'\]\([^)]*\)', ']', text)  # link targets
    return re.sub(r'<!--.*?-->', '', text, flags=re.S)


def measured_numbers(text: str) -> List[str]:
    """The numbers of prose that read as measurements or settings: with a decimal point, a %
    or an x/×, integers from 100 up (counts of seconds, images, ...), and integers that count
    something (``3 seeds``, ``8 rounds``: :data:`COUNT`). Years of citations (19xx, 20xx
    after a name), code, links and generated regions are not prose."""
    text = _prose(text)
    out = []
    for m in NUMBER.finditer(text):
        num, unit = m.group(1), m.group(2) or ''
        plain = num.replace(',', '')
        if re.fullmatch(r'(19|20)\d\d', plain) and not unit:
            continue  # a year
        if '.' in plain or unit or float(plain) >= 100:
            sign = '±' if text[max(m.start() - 1, 0):m.start()] == '±' else ''
            out.append(sign + num + unit.strip())
    return out


def counted_numbers(text: str) -> List[Tuple[str, str]]:
    """``(integer, word)`` of every integer of prose that counts something (:data:`COUNT`:
    ``3 seeds``, ``8 rounds``) below 100 (from 100 up they are measured numbers)."""
    return [(m.group(1), m.group(2)) for m in COUNT.finditer(_prose(text))
            if int(m.group(1)) < 100]


def _forms(v: float, key: str = '', percent: bool = False) -> Set[str]:
    """The ways prose may write ``v`` (a leaf named ``key``): rounded to 0-4 decimals, in
    minutes where ``key`` holds seconds and in millions where it holds MACs or parameters (or,
    with ``percent``, x 100: a percentage or points). A rounding that keeps fewer than two
    significant digits and is not exact is no form of it (0.3685 is not "0" or "0.4"; 0.02 is
    "0.02")."""
    scaled = [100 * v] if percent else [v]
    if not percent and ('second' in key or key.endswith('_s')):
        scaled.append(v / 60)
    if not percent and ('macs' in key or 'params' in key):
        scaled.append(v / 1e6)
    forms = set()
    for x in scaled:
        for d in range(0, 5):
            text = f'{x:.{d}f}'
            digits = text.replace('.', '').replace('-', '').lstrip('0')
            if len(digits) < 2 and abs(x - round(x, d)) > 1e-9:  # not exact: too rough
                continue
            forms.add(text)
            forms.add(f'{x:,.{d}f}')
    return forms


# the per-layer and per-round detail of a row: bound only when a field names it itself
DETAIL = ('per_layer_sparsity', 'per_layer_jaccard', 'curves', 'runs')


def _numbers(x, key: str = '', item: bool = False) -> Iterator[Tuple[str, float, bool]]:
    """``(key, value, item)`` of every numeric leaf of a JSON value (``item``: an element of a
    list, e.g. a seed's id; a list also gives its length, which is a count), without the
    :data:`DETAIL` of a bound object (name such a field to bind it)."""
    if isinstance(x, bool):
        return
    if isinstance(x, (int, float)):
        yield key, float(x), item
    elif isinstance(x, dict):
        for k, v in x.items():
            if k not in DETAIL:
                yield from _numbers(v, str(k))
    elif isinstance(x, (list, tuple)):
        yield '', float(len(x)), False
        for v in x:
            yield from _numbers(v, key, True)


@functools.lru_cache(maxsize=None)
def field(spec: str):
    """The value a binding names: ``FILE.json:PATH`` (a recorded JSON under
    ``benchmarks/results/``), ``configs/NAME.py:PATH`` (a config's setting) or
    ``py:MODULE.NAME`` (a constant of the code, or a function's default arguments). ``PATH`` is
    dotted; a list is indexed by position (``rows.3``) or by its items' fields
    (``rows[method=imp-full,target=0.95]``; ``+`` stands for a space). Raises ``KeyError``
    naming what is missing."""
    if spec.startswith('py:'):  # a setting in the code: a constant, or a function's defaults
        import importlib
        import inspect
        module, _, attr = spec[3:].rpartition('.')
        value = getattr(importlib.import_module(module), attr)
        if callable(value):  # its settings, by name (scalars: counts, not list items)
            value = {n: p.default for n, p in inspect.signature(value).parameters.items()
                     if p.default is not inspect.Parameter.empty}
        return value
    name, _, path = spec.partition(':')
    if name.endswith('.py'):
        from mmengine.config import Config
        value = Config.fromfile(osp.join(ROOT, name)).to_dict()
    elif osp.exists(osp.join(RESULTS, name)):
        value = load(name)
    else:
        raise KeyError(f'{spec}: no file {name}')
    for m in FIELD.finditer(path) if path else ():
        key, where = m.group(1), m.group(2)
        if isinstance(value, list):
            if not key.isdigit() or int(key) >= len(value):
                raise KeyError(f'{spec}: {key!r} is not an index of a list of {len(value)}')
            value = value[int(key)]
        elif isinstance(value, dict) and key in value:
            value = value[key]
        else:
            raise KeyError(f'{spec}: no {key!r}')
        if where:
            conds = {k: c.replace('+', ' ') for k, c in (x.split('=', 1)
                                                          for x in where.split(','))}
            hits = [v for v in value if isinstance(v, dict) and all(
                str(v.get(k)) == c or _same(v.get(k), c) for k, c in conds.items())]
            if len(hits) != 1:
                raise KeyError(f'{spec}: [{where}] matches {len(hits)} items, not one')
            value = hits[0]
    return value


def _same(value, text: str) -> bool:
    try:
        return isinstance(value, (int, float)) and float(text) == float(value)
    except ValueError:
        return False


def _gen(spec: str) -> Tuple[str, List[str]]:
    gen, _, args = spec[4:].partition(':')
    return gen, args.split(',') if args else []


TOKEN = re.compile(r'-?(\d+(?:,\d{3})*(?:\.\d+)?)(\s?%|x\b|×)?')


def bindings(fields: List[str], generated: str = '') -> Dict[str, Set[str]]:
    """What a section's numbers may be, by kind: ``plain`` and ``percent`` (the forms of the
    ``fields``' leaves, :func:`_forms`), and the numbers the section's generated regions
    (``generated``) and its ``gen:GENERATOR:ARG,ARG`` fields (a line restated from another
    section) print, by the unit they print: ``gen%``, ``genx`` and ``gen`` (any)."""
    out: Dict[str, Set[str]] = {k: set() for k in ('plain', 'percent', 'gen', 'gen%', 'genx',
                                                    'gen±', 'count', 'counted')}
    for spec in fields:
        if spec.startswith('gen:'):
            generated += render(*_gen(spec))
            continue
        for key, v, item in _numbers(field(spec), spec.rpartition('.')[2]):
            out['plain'] |= _forms(v, key)
            out['percent'] |= _forms(v, key, percent=True)
            if not item and v == int(v):  # a count: a length or a whole setting, not an id
                out['counted'].add(str(int(v)))
    for m in TOKEN.finditer(generated):
        unit = (m.group(2) or '').strip().replace('×', 'x')
        out['gen'].add(m.group(1))
        if unit:
            out['gen' + unit].add(m.group(1))
        if generated[max(m.start() - 1, 0):m.start()] == '±':
            out['gen±'].add(m.group(1))
    # "15.0 points" in a generated line binds "15 points" in prose
    out['count'] = {f'{n} {w}' for n, w in re.findall(
        COUNT.pattern.replace(r'(\d+) ', r'(\d+)(?:\.0+)? ').replace('@=-]', '@=]'), generated)}
    return out


def _is_bound(num: str, b: Dict[str, Set[str]], constants: Set[str]) -> bool:
    """A measured prose number is bound: a field's form with its unit's scaling (a % is x 100,
    an x is not), or a number a generated line prints with the same unit (a ``±`` half-width
    with its ``±``), or a constant."""
    spread, num = num.startswith('±'), num.lstrip('±')
    forms = {num.rstrip('%x×'), num.rstrip('%x×').replace(',', '')}

    def some(*kinds):
        return any(forms & b[k] for k in kinds)
    if num in constants or forms & constants:
        return True
    if spread:  # "±1.5" restates an interval (or a std) another line prints with its ±
        return some('plain', 'percent', 'gen±')
    if num.endswith('%'):
        return some('percent', 'gen%')
    if num.endswith(('x', '×')):
        return some('plain', 'genx')
    return some('plain', 'percent', 'gen')


def sections(text: str) -> Iterator[Tuple[str, str]]:
    """(heading, body) of every ``##``/``###`` section (the text before the first too)."""
    parts = re.split(r'^(#{1,4} .*)$', text, flags=re.M)
    yield '(top)', parts[0]
    for i in range(1, len(parts), 2):
        yield parts[i], parts[i + 1]


def declared(text: str, key: str) -> List[str]:
    """The names a ``<!-- key: a b c -->`` comment of ``text`` lists."""
    return [w for m in re.finditer(rf'<!-- {key}: (.*?) -->', text, re.S)
            for w in m.group(1).split()]


def unchecked_numbers(path: str) -> List[str]:
    """``file: section: number`` for every measured prose number of a page that is bound to
    nothing: not printed by the section's generated regions, not a value of a field the
    section (or the page's top) binds with ``<!-- fields: FILE:PATH ... -->``, not one of its
    ``<!-- constants: ... -->`` (numbers from outside the project: papers, settings of other
    tools). A field that does not resolve is reported too."""
    with open(path) as f:
        text = f.read()
    top = text.split('\n## ')[0]
    bad = []
    for heading, body in sections(text):
        where = f'{osp.relpath(path, ROOT)}: {heading.strip()}'
        fields = declared(top, 'fields') + [f for f in declared(body, 'fields')
                                             if heading == '(top)' or f not in top]
        constants = set(declared(body, 'constants')) | set(declared(top, 'constants'))
        generated = ''.join(m.group('body') for m in REGION.finditer(body))
        try:
            bound = bindings(fields, generated)
        except KeyError as e:
            bad.append(f'{where}: unresolved field {e.args[0]}')
            continue
        bad += [f'{where}: {num}' for num in measured_numbers(body)
                if not _is_bound(num, bound, constants)]
        # a count restates a generated line only with its word ("3 seeds"), else a field
        bad += [f'{where}: {num}' for num, word in counted_numbers(body)
                if num not in bound['counted'] and f'{num} {word}' not in bound['count']
                and num not in constants]
    return bad


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--check', action='store_true', help='only report stale regions')
    args = parser.parse_args()
    stale = []
    for path in pages():
        with open(path) as f:
            text = f.read()
        new = regenerate(text)
        if new != text:
            stale.append(osp.relpath(path, ROOT))
            if not args.check:
                from colt_det.core import atomic_write_bytes
                atomic_write_bytes(path, new.encode(), overwrite=True)
    print(('stale: ' if args.check else 'rewrote: ') + (', '.join(stale) or 'nothing'))
    return 1 if args.check and stale else 0


if __name__ == '__main__':
    sys.exit(main())
