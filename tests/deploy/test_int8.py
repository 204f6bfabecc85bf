"""INT8 of the ONNX part (issue 34, item 9): exported, quantized, evaluated through onnxruntime.

The detector is trained briefly (dense, the demo data) so its predictions are not noise; the
fp32 part run by onnxruntime must score what PyTorch scores (the parity the INT8 number rests
on), and the INT8 part must be really quantized (QDQ nodes, per-channel weight scales) and
evaluated by the same test pass.
"""
import json
import os.path as osp

import pytest
import torch

from conftest import det_config, load_tool, one_line_error


@pytest.fixture(scope='module')
def trained(voc_data, tmp_path_factory):
    from colt_det.search import ColtSearch
    work = str(tmp_path_factory.mktemp('dense'))
    cfg = det_config(voc_data, work, method='dense', progress_interval=0)
    cfg.train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=2, val_interval=2)
    ColtSearch(cfg).run()
    config = osp.join(work, 'dense.py')
    cfg.dump(config)
    return config, osp.join(work, 'final_masked.pth')


def _metrics(config, ckpt, out, *extra):
    assert load_tool('test').main([config, ckpt, '--out', str(out), *extra]) == 0
    return json.load(open(out))


def test_the_onnx_part_in_the_test_pass_scores_what_pytorch_scores(trained, tmp_path,
                                                                   monkeypatch):
    import colt_det.deploy.int8 as int8
    config, ckpt = trained
    runs = []

    def counting_session(path, threads=None):  # the test pass must really run the part
        session = real_session(path, threads)
        run = session.run
        session_proxy = type('S', (), dict(
            run=lambda self, *a, **k: runs.append(path) or run(*a, **k),
            get_outputs=lambda self: session.get_outputs(),
            get_inputs=lambda self: session.get_inputs()))()
        return session_proxy
    real_session = int8.onnx_session
    monkeypatch.setattr(int8, 'onnx_session', counting_session)
    export = load_tool('export_ticket').main
    stem = str(tmp_path / 'part')
    assert export([ckpt, stem, '--config', config, '--onnx', '--dynamic-size', '--int8',
                   '--calib-images', '8']) == 0
    torch_m = _metrics(config, ckpt, tmp_path / 'torch.json')
    fp32_m = _metrics(config, ckpt, tmp_path / 'fp32.json', '--onnx', stem + '.onnx')
    assert runs and set(runs) == {stem + '.onnx'}  # every test batch went through it
    assert torch_m['voc07/mAP'] > 0.0  # trained: the parity below is not that of two zeros
    for key in ('voc07/mAP', 'voc_area/mAP', 'coco/bbox_mAP'):
        assert fp32_m[key] == pytest.approx(torch_m[key], abs=2e-3), key
    int8_m = _metrics(config, ckpt, tmp_path / 'int8.json', '--onnx', stem + '.int8.onnx')
    assert 0.0 <= int8_m['voc07/mAP'] <= 1.0


def test_the_int8_part_is_quantized_per_channel_and_close_to_fp32(trained, tmp_path):
    import onnx

    from colt_det.deploy.int8 import onnx_features
    from colt_det.deploy.onnx import load_detector
    config, ckpt = trained
    stem = str(tmp_path / 'p')
    assert load_tool('export_ticket').main([ckpt, stem, '--config', config, '--onnx',
                                            '--int8', '--calib-images', '8']) == 0
    graph = onnx.load(stem + '.int8.onnx').graph
    ops = {n.op_type for n in graph.node}
    assert {'QuantizeLinear', 'DequantizeLinear'} <= ops
    inits = {i.name: i for i in graph.initializer}
    per_channel = [n for n in graph.node if n.op_type == 'DequantizeLinear'
                   and n.input[1] in inits and len(inits[n.input[1]].dims) == 1
                   and inits[n.input[1]].dims[0] > 1]
    assert per_channel  # weight scales, one per output channel
    model, cfg = load_detector(config, ckpt)
    x = torch.randn(1, 3, 96, 96)
    with torch.no_grad():
        want = model.extract_feat(x)
        for path, tol in ((stem + '.onnx', 1e-3), (stem + '.int8.onnx', 0.25)):
            onnx_features(path)(model)
            got = model.extract_feat(x)
            del model.extract_feat  # back to the class's method
            for g, w in zip(got, want):
                assert float((g - w).abs().max() / w.abs().max()) < tol, path


def test_int8_options_are_checked_and_nothing_is_overwritten(trained, tmp_path, capsys):
    config, ckpt = trained
    export = load_tool('export_ticket').main
    one_line_error(capsys, export([ckpt, str(tmp_path / 'a'), '--int8']), 'add --onnx')
    one_line_error(capsys, export([ckpt, str(tmp_path / 'a'), '--onnx']),
                   '--onnx exports a detector')
    one_line_error(capsys, load_tool('test').main([config, ckpt, '--onnx',
                                                   str(tmp_path / 'none.onnx')]),
                   'none.onnx not found')
    stem = str(tmp_path / 'b')
    (tmp_path / 'b.int8.onnx').write_bytes(b'keep')
    one_line_error(capsys, export([ckpt, stem, '--config', config, '--onnx', '--int8']),
                   'b.int8.onnx')
    assert (tmp_path / 'b.int8.onnx').read_bytes() == b'keep'
    assert not (tmp_path / 'b.onnx').exists()  # refused before anything was written
    one_line_error(capsys, export([ckpt, str(tmp_path / 'c'), '--config', config, '--onnx',
                                   '--int8', '--calib-images', '0']), '--calib-images')


def test_a_batch_one_part_runs_test_batches_of_any_size(trained):
    """A part exported without --dynamic-size takes one image: a test batch of several (the
    det-hard configs test 8 at a time) is run image by image, not an onnxruntime traceback."""
    import tempfile

    from colt_det.deploy.int8 import onnx_features
    from colt_det.deploy.onnx import export_onnx, load_detector
    config, ckpt = trained
    with tempfile.TemporaryDirectory() as tmp:
        path = export_onnx(config, ckpt, osp.join(tmp, 'p.onnx'), (96, 96))
        model, _ = load_detector(config, ckpt)
        x = torch.randn(3, 3, 96, 96)
        with torch.no_grad():
            want = model.extract_feat(x)
            onnx_features(path)(model)
            got = model.extract_feat(x)
        for g, w in zip(got, want):
            assert g.shape == w.shape
            assert float((g - w).abs().max() / w.abs().max()) < 1e-3
