"""tools/distill_chain.py: a born-again chain on the tiny demo data (stop, continue, the teacher
handed on), the chain config's checks, and which steps a generation repeats."""
import json
import os
import os.path as osp

import pytest
import torch
from mmengine.config import Config

from tests.helpers import STUDENT_CFG, data_options, write_config
from tools import distill_chain
from tools.distill_chain import ROOT, handed_checkpoint, load_chain

BAN_CFG = osp.join(ROOT, 'configs', 'born_again',
                   'ban-hint-poskd_retinanet-r18-narrow_retinanet-r18-narrow_12e_mmkd-demo.py')
CHAINS = [osp.join(ROOT, 'configs', 'born_again', 'ban_retinanet-r18-narrow_chain_mmkd-demo.py'),
          osp.join(ROOT, 'configs', 'takd', 'takd_retinanet-r18_retinanet-r18-half_'
                   'retinanet-r18-narrow_chain_mmkd-demo.py')]

# Saves the teacher the distiller loaded, as the run sees it, before the first step.
PROBE = '''
import torch
from mmengine.hooks import Hook
from mmengine.registry import HOOKS


@HOOKS.register_module()
class TeacherProbeHook(Hook):
    def __init__(self, out):
        self.out = out

    def before_train(self, runner):
        torch.save(runner.model.teacher.state_dict(), self.out)
'''


def write_chain(path, generations, **extra):
    lines = [f'generations = {generations!r}'] + [f'{k} = {v!r}' for k, v in extra.items()]
    path.write_text('\n'.join(lines) + '\n')
    return str(path)


def mtimes(paths):
    return {p: os.stat(p).st_mtime_ns for p in paths}


def test_born_again_chain_stops_continues_and_hands_on_the_student(demo_data, tmp_path,
                                                                   monkeypatch, capsys):
    """Two generations of 2 iterations each: with --stop-after 1 only gen0 is trained, evaluated
    and exported; the second call leaves gen0 alone and distils gen1 from gen0's export."""
    (tmp_path / 'chain_probe.py').write_text(PROBE)
    monkeypatch.syspath_prepend(str(tmp_path))  # the chain reads the generation configs too
    monkeypatch.setenv('PYTHONPATH', os.pathsep.join(
        p for p in (str(tmp_path), os.environ.get('PYTHONPATH')) if p))
    probe_out = str(tmp_path / 'teacher_loaded.pth')
    opts = data_options(demo_data, epochs=1, batch_size=8)
    # no validation during training: tools/test.py evaluates
    opts.update(val_cfg=None, val_dataloader=None, val_evaluator=None)
    write_config(tmp_path / 'gen0.py', STUDENT_CFG, opts)
    write_config(tmp_path / 'gen1.py', BAN_CFG, dict(
        opts, custom_imports=dict(imports=['chain_probe'], allow_failed_imports=False),
        custom_hooks=[dict(type='mmkd.KDWeightScheduleHook', schedules=dict(hint=dict(warmup=50))),
                      dict(type='TeacherProbeHook', out=probe_out)]))
    chain = write_chain(tmp_path / 'chain.py', [
        dict(name='gen0', config='{{ fileDirname }}/gen0.py'),
        dict(name='gen1', config='{{ fileDirname }}/gen1.py')])
    work_dir = tmp_path / 'wd'
    gen0, gen1 = str(work_dir / 'gen0'), str(work_dir / 'gen1')

    rows = distill_chain.main([chain, '--work-dir', str(work_dir), '--stop-after', '1'])
    assert [r['name'] for r in rows] == ['gen0']
    assert not osp.exists(gen1)
    exported_cfg, exported_ckpt = distill_chain.exported(gen0)
    done = [osp.join(gen0, 'epoch_1.pth'), osp.join(gen0, 'test_metrics.json'), exported_cfg,
            exported_ckpt, osp.join(gen0, 'chain_train.log')]
    assert all(osp.isfile(p) for p in done)
    # a plain generation exports its own weights as a plain checkpoint
    gen0_state = torch.load(exported_ckpt, weights_only=True)['state_dict']
    trained = torch.load(osp.join(gen0, 'epoch_1.pth'), weights_only=True)['state_dict']
    assert gen0_state.keys() == trained.keys()
    assert all(torch.equal(gen0_state[k], trained[k]) for k in trained)
    assert 'stopped after 1 of 2 generations' in capsys.readouterr().out
    before = mtimes(done)

    rows = distill_chain.main([chain, '--work-dir', str(work_dir)])
    assert 'gen0 (1/2): coco/bbox_mAP' in capsys.readouterr().out.split('measured before')[0]
    assert mtimes(done) == before
    assert not osp.exists(osp.join(gen0, 'chain_train_resumed.log'))

    dumped = Config.fromfile(osp.join(gen1, 'gen1.py'))
    assert dumped.model.teacher.checkpoint == exported_ckpt
    assert dumped.model.teacher.config == exported_cfg
    assert dumped.randomness.seed == 0
    loaded = torch.load(probe_out, weights_only=True)
    assert loaded.keys() == gen0_state.keys()
    assert all(torch.equal(loaded[k], gen0_state[k]) for k in loaded)
    assert all(osp.isfile(p) for p in distill_chain.exported(gen1))

    report = json.load(open(work_dir / 'chain.json'))
    assert [g['name'] for g in report['generations']] == ['gen0', 'gen1']
    assert report['metric'] == 'coco/bbox_mAP' and report['seed'] == 0
    for gen, row in zip(report['generations'], rows):
        measured = json.load(open(osp.join(work_dir, gen['name'], 'test_metrics.json')))
        assert gen['metrics'] == measured
        assert gen['metric'] == row['metric'] == measured['coco/bbox_mAP']
    assert report['generations'][1]['teacher'] == 'gen0'
    assert report['generations'][1]['teacher_checkpoint'] == exported_ckpt
    assert report['generations'][1]['vs_first'] == pytest.approx(
        report['generations'][1]['metric'] - report['generations'][0]['metric'])
    table = (work_dir / 'chain.md').read_text().splitlines()
    assert len(table) == 4 and table[3].startswith('| gen1 | gen1 | gen0 |')


@pytest.fixture
def fake_runs(monkeypatch):
    """Replaces the subprocesses by a recorder that writes what each tool would write."""
    calls = []

    def run(cmd, log_path, show=None):
        tool = osp.basename(cmd[1])
        calls.append((tool, cmd))
        if tool == 'test.py':
            with open(cmd[cmd.index('--metrics-json') + 1], 'w') as f:
                json.dump({'coco/bbox_mAP': 0.5}, f)
        elif tool == 'export_student.py':
            os.makedirs(cmd[-1], exist_ok=True)
            for path in distill_chain.exported(osp.dirname(cmd[-1])):
                open(path, 'w').close()

    monkeypatch.setattr(distill_chain, 'run', run)
    return calls


def test_an_interrupted_generation_resumes_and_a_finished_one_only_exports(tmp_path, fake_runs):
    gen = distill_chain.Generation('gen0', STUDENT_CFG, None, False, None, None)
    gen_dir = str(tmp_path)
    torch.save({}, osp.join(gen_dir, 'epoch_1.pth'))
    (tmp_path / 'last_checkpoint').write_text(osp.join(gen_dir, 'epoch_1.pth'))
    metrics, ckpt = distill_chain.run_generation('[chain] gen0 (1/1)', gen, gen_dir,
                                                 ['randomness.seed=3'])
    assert [tool for tool, _ in fake_runs] == ['train.py', 'test.py', 'export_student.py']
    train_cmd = fake_runs[0][1]
    assert '--resume' in train_cmd and train_cmd[-1] == 'randomness.seed=3'
    assert fake_runs[1][1][3] == ckpt == osp.join(gen_dir, 'epoch_1.pth')
    assert metrics == {'coco/bbox_mAP': 0.5}

    fake_runs.clear()
    os.remove(distill_chain.exported(gen_dir)[1])
    distill_chain.run_generation('[chain] gen0 (1/1)', gen, gen_dir, [])
    assert [tool for tool, _ in fake_runs] == ['export_student.py']


def test_handed_checkpoint_prefers_best_then_last_checkpoint_then_highest(tmp_path):
    with pytest.raises(FileNotFoundError, match='holds no checkpoint'):
        handed_checkpoint(str(tmp_path))
    for name in ('epoch_2.pth', 'epoch_10.pth'):
        (tmp_path / name).touch()
    assert handed_checkpoint(str(tmp_path)) == str(tmp_path / 'epoch_10.pth')  # not lexical
    (tmp_path / 'last_checkpoint').write_text(str(tmp_path / 'epoch_2.pth'))
    assert handed_checkpoint(str(tmp_path)) == str(tmp_path / 'epoch_2.pth')
    (tmp_path / 'best_coco_bbox_mAP_epoch_1.pth').touch()
    assert handed_checkpoint(str(tmp_path)) == str(tmp_path / 'best_coco_bbox_mAP_epoch_1.pth')


def test_a_second_seed_does_not_reuse_the_first_seeds_generation(tmp_path):
    distill_chain.check_record('[chain] gen0 (1/2)', str(tmp_path),
                               dict(config='a.py', seed=0, teacher=None))
    distill_chain.check_record('[chain] gen0 (1/2)', str(tmp_path),
                               dict(config='a.py', seed=0, teacher=None))
    with pytest.raises(SystemExit, match=r'holds another run \(seed 0 there, 1 here\); pass '
                                         'another --work-dir'):
        distill_chain.check_record('[chain] gen0 (1/2)', str(tmp_path),
                                   dict(config='a.py', seed=1, teacher=None))


@pytest.mark.parametrize('path', CHAINS, ids=osp.basename)
def test_repo_chain_configs_are_valid(path):
    gens, work_dir = load_chain(path)
    assert len(gens) == 2 and work_dir is None
    assert gens[1].source == 0 and gens[1].distill
    assert all(osp.isfile(g.config) for g in gens)


def test_takd_chain_starts_from_the_demo_teacher():
    first, second = load_chain(CHAINS[1])[0]
    assert (first.name, first.source, second.name) == ('assistant', None, 'student')
    assert first.own_checkpoint == 'work_dirs/demo/teacher/epoch_12.pth'
    assert osp.basename(first.own_teacher) == 'retinanet_r18_fpn_12e_mmkd-demo.py'


@pytest.mark.parametrize('generations, error', [
    (None, r"has no `generations`: add generations = \[dict\(name='gen0'"),
    ([], '`generations` of .* must be a non-empty list'),
    ([dict(name='gen0')], r"generations\[0\] \('gen0'\) has no `config`: set config="),
    ([dict(config='configs/demo/nope.py')],
     r"generations\[0\] \('gen0'\).config: 'configs/demo/nope.py' does not exist .*relative "
     'to the repo root'),
    ([dict(name='a', config=STUDENT_CFG), dict(name='a', config=BAN_CFG)],
     r"generations\[1\] \('a'\): generations\[0\] has the same name"),
    ([dict(config=STUDENT_CFG), dict(config=STUDENT_CFG)],
     r"generations\[1\] \('gen1'\): teacher='previous' needs a distill config .* builds "
     "'RetinaNet'; use a distill config, or teacher=None"),
    ([dict(config=BAN_CFG, teacher='previous')],
     "the first generation has no previous one"),
    ([dict(config=STUDENT_CFG), dict(config=BAN_CFG, teacher='gen5')],
     r"generations\[1\] \('gen1'\).teacher must be 'previous', the name of an earlier "
     r"generation \(\['gen0'\]\) or None, got 'gen5'"),
    ([dict(config=STUDENT_CFG, teachr=None)], r"unknown keys \['teachr'\]"),
    ([dict(config=BAN_CFG)],
     r"teacher=None keeps the config's own teacher, but model.teacher.checkpoint of .* is not "
     'set'),
])
def test_chain_config_errors_name_the_key_and_the_fix(tmp_path, generations, error):
    path = tmp_path / 'chain.py'
    if generations is None:
        path.write_text("work_dir = 'x'\n")
    else:
        write_chain(path, generations)
    with pytest.raises(ValueError, match=error):
        load_chain(str(path))


def test_cli_reports_a_bad_chain_config_as_a_usage_error(tmp_path, capsys):
    path = write_chain(tmp_path / 'chain.py', [dict(name='gen0')])
    with pytest.raises(SystemExit) as exit_info:
        distill_chain.main([path])
    assert exit_info.value.code == 2
    assert "generations[0] ('gen0') has no `config`" in capsys.readouterr().err


def test_stop_after_needs_a_positive_count():
    with pytest.raises(SystemExit):
        distill_chain.main([CHAINS[0], '--stop-after', '0'])


def test_a_missing_teacher_checkpoint_stops_before_training(tmp_path, fake_runs):
    config = write_config(tmp_path / 'takd.py', BAN_CFG,
                          {'model.teacher.checkpoint': str(tmp_path / 'missing.pth')})
    chain = write_chain(tmp_path / 'chain.py', [dict(config=config, teacher=None)])
    with pytest.raises(SystemExit, match=r"model.teacher.checkpoint '.*missing.pth' of .* does "
                                         'not exist; train that teacher first'):
        distill_chain.main([chain, '--work-dir', str(tmp_path / 'wd')])
    assert fake_runs == []
