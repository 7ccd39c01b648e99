"""The benchmark protocol's logic (tools/analysis/kd_benchmark.py) on hand-made run results: the
doubling stop rule, the fitted time and the compute-matched length, mean / std, the scaled
schedules, and resuming. No run is trained here: the runner is a function of the dumped config."""
import copy
import json
import os
import os.path as osp

import pytest
from mmengine.config import Config

from tests.helpers import DISTILL_CFG, STUDENT_CFG
from tools.analysis.kd_benchmark import (Runs, benchmark, converged_index, fit_time,
                                         matched_units, mean_std, parse_step, scale_schedule,
                                         schedule_of, table, top_up_units)

SEG_STUDENT = osp.join(osp.dirname(STUDENT_CFG), 'pspnet_r18-w16-d8_0.8k_mmkd-demo.py')
SKD_HOLISTIC = osp.join(osp.dirname(osp.dirname(STUDENT_CFG)), 'skd',
                        'skd-holistic_pspnet-r18-w16_pspnet-r18-w32_0.8k_mmkd-demo.py')


def test_mean_std():
    mean, std = mean_std([0.4, 0.5, 0.6])
    assert mean == pytest.approx(0.5) and std == pytest.approx(0.1)  # sample std: sqrt(0.02/2)
    assert mean_std([0.3]) == (0.3, 0.0)


def test_doubling_stop_rule():
    # 1x -> 2x gains 0.19 (far beyond the spread); 2x -> 4x gains 0.0033, below the larger std
    # (4x: std of 0.41, 0.43, 0.40 = 0.0153): 2x is the converged schedule.
    ladder = [(1, [0.20, 0.22, 0.24]), (2, [0.40, 0.41, 0.42]), (4, [0.41, 0.43, 0.40])]
    assert converged_index(ladder) == (1, True)
    # a gain of 0.03 against stds of 0.01: still gaining, the last schedule is not converged
    assert converged_index([(1, [0.40, 0.41, 0.42]), (2, [0.43, 0.44, 0.45])]) == (1, False)
    assert converged_index([(1, [0.4, 0.5, 0.6])]) == (0, False)
    # a doubling that loses counts as not gaining
    assert converged_index([(1, [0.5, 0.5, 0.5]), (2, [0.4, 0.4, 0.4])]) == (0, True)


def test_fit_time_and_matched_length():
    points = [(u, 0.5 + 0.25 * u) for u in (12, 12, 24, 48)]
    overhead, per_unit = fit_time(points)
    assert overhead == pytest.approx(0.5) and per_unit == pytest.approx(0.25)
    assert matched_units(6.5, (overhead, per_unit)) == 24  # (6.5 - 0.5) / 0.25
    assert matched_units(6.6, (0.5, 0.25)) == 24 and matched_units(6.7, (0.5, 0.25)) == 25
    assert fit_time([(12, 3.0), (12, 3.6)]) == (0.0, pytest.approx(0.275))  # one length
    # a negative fitted overhead (1 min at 10, 3 min at 20) falls back to a line through zero:
    # (10 * 1 + 20 * 3) / (10^2 + 20^2) = 0.14 min per unit
    assert fit_time([(10, 1.0), (20, 3.0)]) == (0.0, pytest.approx(0.14))
    assert matched_units(0.1, (0.5, 0.25)) == 1
    # rounded up to a step: 24 exactly stays 24 at step 6 and 8; 24.4 becomes 30 at step 6
    assert matched_units(6.5, (0.5, 0.25), step=6) == 24
    assert matched_units(6.5, (0.5, 0.25), step=8) == 24
    assert matched_units(6.6, (0.5, 0.25), step=6) == 30
    assert matched_units(0.1, (0.5, 0.25), step=6) == 6
    assert parse_step('1/8', 48) == 6 and parse_step('1/8', 1600) == 200
    assert parse_step('5', 48) == 5 and parse_step('1/100', 48) == 1
    for bad in ('0', '1/0', 'x', '-2'):
        with pytest.raises(ValueError, match='--match-step'):
            parse_step(bad, 48)


def test_scale_schedule_epochs_and_iterations():
    cfg = scale_schedule(Config.fromfile(STUDENT_CFG), 24)
    assert schedule_of(cfg) == ('epochs', 24) and cfg.train_cfg.val_interval == 24
    assert cfg.default_hooks.checkpoint.interval == 24
    warmup, step = cfg.param_scheduler
    assert (warmup.type, warmup.end) == ('LinearLR', 100)  # iterations of warm-up: kept
    assert (step.end, step.milestones) == (24, [18])  # 9 of 12 -> 18 of 24
    seg = scale_schedule(Config.fromfile(SEG_STUDENT), 1600)
    assert schedule_of(seg) == ('iters', 1600) and seg.default_hooks.checkpoint.interval == 1600
    warmup, poly = seg.param_scheduler
    assert (warmup.begin, warmup.end) == (0, 50) and (poly.begin, poly.end) == (50, 1600)
    # one scheduler list per optimizer (SKD's student and discriminator): the student's scaled
    skd = scale_schedule(Config.fromfile(SKD_HOLISTIC), 1600)
    warmup, poly = skd.param_scheduler.student
    assert (warmup.end, poly.begin, poly.end) == (50, 50, 1600)
    assert skd.param_scheduler.discriminator == []


def fake_runner(calls):
    """Metric and minutes as functions of the dumped config: the student's mAP saturates (0.35 at
    12 epochs, 0.45 at 24, 0.455 at 48, 0.46 beyond), the distilled student's is 0.50; a seed
    moves it by 0.01 * (seed - 1). A student run takes 0.5 + 0.1 * epochs minutes, a distilled
    run twice that."""
    def runner(config, work_dir, seed):
        cfg = Config.fromfile(config)
        epochs = cfg.train_cfg.max_epochs
        distilled = 'teacher' in cfg.model
        calls.append((osp.basename(config), seed))
        base = 0.50 if distilled else {12: 0.35, 24: 0.45, 48: 0.455}.get(epochs, 0.46)
        minutes = (0.5 + 0.1 * epochs) * (2 if distilled else 1)
        return {'coco/bbox_mAP': base + 0.01 * (seed - 1)}, minutes
    return runner


def test_benchmark_rows_stop_rule_and_resume(tmp_path):
    student, distill = Config.fromfile(STUDENT_CFG), Config.fromfile(DISTILL_CFG)
    calls, updates = [], []
    runs = Runs(str(tmp_path), fake_runner(calls), seeds=[0, 1, 2])
    summary = benchmark(student, distill, runs, max_factor=8,
                        on_update=lambda s: updates.append(copy.deepcopy(s)))
    # 12 -> 24 gains 0.10, 24 -> 48 gains 0.005 < std 0.01: converged at 24 epochs, no 96.
    # The distilled run takes 2 * (0.5 + 2.4) = 5.8 min; a student run fills it with
    # (5.8 - 0.5) / 0.1 = 53 epochs.
    rows = [name for name, _ in calls]
    assert rows == [f'{r}.py' for r in ['student_12e'] * 3 + ['student_24e'] * 3 +
                    ['student_48e'] * 3 + ['distilled_24e'] * 3 + ['student_53e'] * 3]
    assert [s for _, s in calls] == [0, 1, 2] * 5
    assert summary['converged'] == dict(index=1, stopped=True, factor=2, units=24)
    assert summary['matched']['units'] == 53
    assert summary['matched']['fit_per_unit'] == pytest.approx(0.1)
    assert summary['matched']['mean_minutes'] == pytest.approx(5.8)  # what it was matched to
    gains = summary['gains']
    assert gains['same_schedule']['gain'] == pytest.approx(0.05)
    assert gains['compute_matched']['gain'] == pytest.approx(0.04)
    assert gains['same_schedule']['beyond_2std'] and gains['compute_matched']['beyond_2std']
    # after every run; a row being measured shows its seeds so far
    running = [u['running'] for u in updates if u.get('running')]
    assert [(r['row'], r['values']) for r in running[:2]] == [
        ('student_12e', [pytest.approx(0.34)]),
        ('student_12e', [pytest.approx(0.34), pytest.approx(0.35)])]
    assert '| student_12e (1 of 3 seeds so far) | 12 | 0.340 | | |' in table(updates[0])
    md = table(summary)
    assert '| student 2x (converged) | 24 | 0.440 | 0.450 | 0.460 | 0.450 | 0.010 | 2.9 |' in md
    assert '| student, compute-matched | 53 |' in md and '+0.050' in md
    records = json.load(open(osp.join(tmp_path, 'runs', 'distilled_24e', 'seed2', 'run.json')))
    assert records['metric'] == pytest.approx(0.51) and records['units'] == 24

    # resumed: nothing is trained again, the summary is the same
    again = benchmark(student, distill, Runs(str(tmp_path), fake_runner(calls := []), [0, 1, 2]))
    assert calls == [] and again['gains'] == summary['gains']
    # one run lost: exactly that run is trained again
    os.remove(osp.join(tmp_path, 'runs', 'student_48e', 'seed1', 'run.json'))
    benchmark(student, distill, Runs(str(tmp_path), fake_runner(calls), [0, 1, 2]))
    assert calls == [('student_48e.py', 1)]
    # a record cut short (a stop while it was written) is measured again
    with open(osp.join(tmp_path, 'runs', 'distilled_24e', 'seed0', 'run.json'), 'w') as f:
        f.write('{"row": "disti')
    calls.clear()
    benchmark(student, distill, Runs(str(tmp_path), fake_runner(calls), [0, 1, 2]))
    assert calls == [('distilled_24e.py', 0)]
    # another metric on resume: every record is read again with it
    again = benchmark(student, distill, Runs(str(tmp_path), fake_runner(calls := []), [0, 1, 2],
                                             metric='coco/bbox_mAP'))
    assert calls == [] and again['ladder'][0]['values'] == pytest.approx([0.34, 0.35, 0.36])
    with pytest.raises(KeyError, match='no metric coco/bbox_mAP_50'):
        benchmark(student, distill, Runs(str(tmp_path), None, [0, 1, 2],
                                         metric='coco/bbox_mAP_50'))
    # a changed config: its records are not mixed in
    changed = copy.deepcopy(distill)
    changed.model.kd_terms.hint.loss.loss_weight = 1.0
    with pytest.raises(ValueError, match='measured with another config than row distilled_24e'):
        benchmark(student, changed, Runs(str(tmp_path), None, [0, 1, 2]))


def test_shared_baseline_dir(tmp_path):
    """Two distill configs of one student: the second benchmark trains only its distilled rows,
    the student's ladder (and the matched row, at the same length) is read from the baseline dir,
    and a student config that changed is refused there."""
    student, distill = Config.fromfile(STUDENT_CFG), Config.fromfile(DISTILL_CFG)
    other = copy.deepcopy(distill)
    other.model.kd_terms.hint.loss.loss_weight = 1.0
    base = str(tmp_path / 'students')
    first, second = [], []
    one = benchmark(student, distill, Runs(str(tmp_path / 'a'), fake_runner(first), [0, 1, 2],
                                           baseline_dir=base))
    two = benchmark(student, other, Runs(str(tmp_path / 'b'), fake_runner(second), [0, 1, 2],
                                         baseline_dir=base))
    assert len(first) == 15 and second == [('distilled_24e.py', s) for s in (0, 1, 2)]
    assert two['ladder'] == one['ladder'] and two['matched']['units'] == 53
    assert osp.isfile(osp.join(base, 'runs', 'student_53e', 'seed2', 'run.json'))
    assert not osp.exists(tmp_path / 'b' / 'runs' / 'student_12e')
    # the matched length rounded up to a step of 6 epochs: 53 -> 54, one more student row
    third = []
    three = benchmark(student, other, Runs(str(tmp_path / 'b'), fake_runner(third), [0, 1, 2],
                                           baseline_dir=base), match_step=6)
    assert third == [('student_54e.py', s) for s in (0, 1, 2)]
    assert three['matched']['units'] == 54 and three['match_step'] == 6
    wider = copy.deepcopy(student)
    wider.model.neck.out_channels = 48
    with pytest.raises(ValueError, match='row student_12e.*--baseline-dir'):
        benchmark(wider, other, Runs(str(tmp_path / 'b'), None, [0, 1, 2], baseline_dir=base))


def test_cap_and_reused_ladder_row(tmp_path):
    """At the cap the last schedule stands as 'not converged' and the matched 48-epoch student
    is trained; a compute-matched length that is a ladder schedule reuses that row's runs."""
    student, distill = Config.fromfile(STUDENT_CFG), Config.fromfile(DISTILL_CFG)

    def runner(config, work_dir, seed):
        cfg = Config.fromfile(config)
        epochs, distilled = cfg.train_cfg.max_epochs, 'teacher' in cfg.model
        # the student gains 0.1 per doubling; the distilled run takes twice the student's time
        # at the same length, so at 24 epochs it matches a 48-epoch student (no overhead)
        metric = 0.7 if distilled else 0.1 * (epochs // 12).bit_length()
        return {'coco/bbox_mAP': metric + 0.001 * seed}, 0.1 * epochs * (2 if distilled else 1)

    summary = benchmark(student, distill, Runs(str(tmp_path), runner, [0, 1, 2]), max_factor=2)
    assert summary['converged'] == dict(index=1, stopped=False, factor=2, units=24)
    assert summary['matched']['units'] == 48 and summary['matched']['row'] == 'student_48e'
    assert 'not converged' in table(summary)

    calls = []

    def flat(config, work_dir, seed):
        # a student that has converged at 12 epochs; the distilled run takes twice its time and
        # scores a little higher (not higher: no matched row, see the last test)
        cfg = Config.fromfile(config)
        calls.append(osp.basename(config))
        distilled = 'teacher' in cfg.model
        return ({'coco/bbox_mAP': 0.3 + 0.01 * seed + 0.001 * distilled},
                0.1 * cfg.train_cfg.max_epochs * (2 if distilled else 1))

    summary = benchmark(student, distill, Runs(str(tmp_path / 'b'), flat, [0, 1, 2]))
    assert summary['converged'] == dict(index=0, stopped=True, factor=1, units=12)
    assert summary['matched']['row'] == 'student_24e'  # 2 x 1.2 min: the ladder's 2x row
    assert calls == ['student_12e.py'] * 3 + ['student_24e.py'] * 3 + ['distilled_12e.py'] * 3


def test_scale_schedule_begins_cosine_and_kd_weight_steps():
    """A cosine over the second half (begin 6, T_max 6 of 12 epochs) becomes begin 12, T_max 12
    of 24; the KD weight's decay and stop steps (epochs) scale with it; a decay counted in
    iterations in an epoch loop, or a schedule that ends before a decay begins, is refused by
    name."""
    cfg = Config.fromfile(STUDENT_CFG)
    cfg.param_scheduler = [
        dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=100),
        dict(type='CosineAnnealingLR', by_epoch=True, begin=6, end=12, T_max=6)]
    cfg.custom_hooks = [dict(type='mmkd.KDWeightScheduleHook', schedules=dict(
        hint=dict(warmup=50), cls=dict(decay_begin=3, decay_end=9, stop_at=10, by_epoch=True)))]
    out = scale_schedule(copy.deepcopy(cfg), 24)
    warmup, cosine = out.param_scheduler
    assert (warmup.begin, warmup.end) == (0, 100)
    assert (cosine.begin, cosine.end, cosine.T_max) == (12, 24, 12)
    schedules = out.custom_hooks[0].schedules
    assert schedules.hint == dict(warmup=50)
    assert (schedules.cls.decay_begin, schedules.cls.decay_end, schedules.cls.stop_at) == \
        (6, 18, 20)
    seg = Config.fromfile(SEG_STUDENT)  # PolyLR from iteration 50, where the warm-up ends
    with pytest.raises(ValueError, match='begins at 50: a schedule of 50 iters ends before it'):
        scale_schedule(seg, 50)
    iters = _with(cfg, 'param_scheduler', [dict(type='PolyLR', by_epoch=False, begin=0,
                                                end=600)])
    with pytest.raises(ValueError, match="counts iterations in an epoch-based loop"):
        scale_schedule(iters, 24)
    steps = _with(cfg, 'custom_hooks', [dict(type='mmkd.KDWeightScheduleHook', schedules=dict(
        cls=dict(stop_at=300)))])
    with pytest.raises(ValueError, match="schedule of 'cls'.*counts iterations in a loop of "
                                         "epochs"):
        scale_schedule(steps, 24)


def _with(cfg, key, value):
    out = copy.deepcopy(cfg)
    out[key] = value
    return out


def test_schedules_must_match():
    distill = Config.fromfile(DISTILL_CFG)
    distill.train_cfg.max_epochs = 24
    with pytest.raises(ValueError, match='student config trains 12 epochs and the distill '
                                         'config 24 epochs'):
        benchmark(Config.fromfile(STUDENT_CFG), distill, Runs('unused', None, [0]))


def test_demo_compute_matched_config(tmp_path):
    """The demo's compute-matched student: 12 epochs took 2.0 min, the distilled run 3.0, so the
    student gets 18 epochs (its lr step at round(9 * 18 / 12) = 14), in a config that loads."""
    from tools.demo import matched_config
    path, epochs = matched_config(STUDENT_CFG, 12, 2.0, 3.0, str(tmp_path))
    cfg = Config.fromfile(path)
    assert epochs == 18 and schedule_of(cfg) == ('epochs', 18)
    assert cfg.param_scheduler[1].milestones == [14]
    assert cfg.model.backbone.base_channels == 16  # the student's own model


def test_missing_teacher_checkpoint_is_named(tmp_path, capsys):
    """Before anything is trained: the missing checkpoint, the config that names it, and how to
    get one."""
    from tools.analysis.kd_benchmark import main
    with pytest.raises(SystemExit):
        main([STUDENT_CFG, DISTILL_CFG, '--work-dir', str(tmp_path),
              '--teacher-checkpoint', str(tmp_path / 'missing.pth')])
    err = capsys.readouterr().err
    assert f"the teacher checkpoint '{tmp_path / 'missing.pth'}'" in err
    assert 'train the teacher first (python tools/train.py' in err
    assert not os.listdir(tmp_path)  # nothing trained, nothing written


def test_run_metric_of_mutual_learning_is_the_members_mean():
    """A mutual-learning run (mmkd.MutualTestLoop: ``<member>/<metric>`` and the first member's
    unprefixed) counts as the mean of its members, not the first nor the better one."""
    from tools.analysis.kd_benchmark import run_metric
    mutual = {'coco/bbox_mAP': 0.30, 'student1/coco/bbox_mAP': 0.30,
              'student2/coco/bbox_mAP': 0.36, 'student1/coco/bbox_mAP_50': 0.5,
              'student2/coco/bbox_mAP_50': 0.7}
    assert run_metric(mutual) == pytest.approx(0.33)
    assert run_metric(mutual, 'coco/bbox_mAP_50') == pytest.approx(0.6)
    seg = {'mIoU': 40.0, 'student1/mIoU': 40.0, 'student2/mIoU': 44.0, 'student1/aAcc': 90.0}
    assert run_metric(seg) == pytest.approx(42.0)
    # one model: its own metric, whatever prefixed keys of other names it has
    assert run_metric({'coco/bbox_mAP': 0.41, 'coco/bbox_mAP_50': 0.6}) == 0.41
    with pytest.raises(KeyError, match='no metric mIoU'):
        run_metric({'student1/aAcc': 90.0, 'student2/aAcc': 91.0}, 'mIoU')


def test_mutual_learning_config_needs_no_teacher(tmp_path, capsys):
    """A mutual-learning distill config is benchmarked without a teacher (a --teacher-checkpoint
    for it is refused by name); a config with neither a teacher nor students is refused."""
    from tools.analysis.kd_benchmark import main
    dml = osp.join(osp.dirname(osp.dirname(STUDENT_CFG)), 'dml',
                   'dml_retinanet-r18-narrow_retinanet-r18-narrow_12e_mmkd-demo.py')
    with pytest.raises(SystemExit):
        main([STUDENT_CFG, dml, '--work-dir', str(tmp_path), '--teacher-checkpoint', 'x.pth'])
    assert 'trains its students together and has no teacher: drop --teacher-checkpoint' in \
        capsys.readouterr().err
    with pytest.raises(SystemExit):
        main([STUDENT_CFG, STUDENT_CFG, '--work-dir', str(tmp_path)])
    assert "builds 'RetinaNet', not an mmkd distiller (a student with a teacher, or mutual " \
        "learning's students): give a distill config second" in capsys.readouterr().err
    assert not os.listdir(tmp_path)


def test_a_mutual_learning_run_is_evaluated_once_per_member(tmp_path, monkeypatch):
    """The runner of real runs on a mutual-learning config: tools/test.py once per student
    (``--member``, each in its own folder), the metrics kept as ``<member>/<metric>``, so the
    run counts as their mean; a one-model config is evaluated once, as it is."""
    import tools.analysis.kd_benchmark as kb
    dml = osp.join(osp.dirname(osp.dirname(STUDENT_CFG)), 'dml',
                   'dml_retinanet-r18-narrow_retinanet-r18-narrow_12e_mmkd-demo.py')
    calls = []

    def fake_evaluate(name, config, checkpoint, work_dir, args=()):
        calls.append((osp.relpath(work_dir, tmp_path), list(args)))
        return {'coco/bbox_mAP': 0.30 if '--member' not in args or 'student1' in args else 0.36}

    monkeypatch.setattr(kb, 'train', lambda *a, **k: (None, 2.5))
    monkeypatch.setattr(kb, 'evaluate', fake_evaluate)
    monkeypatch.setattr(kb, 'last_checkpoint', lambda work_dir: 'epoch_12.pth')
    metrics, minutes = kb.train_and_test()(dml, str(tmp_path / 'run'), 0)
    assert calls == [(osp.join('run', 'student1'), ['--member', 'student1']),
                     (osp.join('run', 'student2'), ['--member', 'student2'])]
    assert metrics == {'student1/coco/bbox_mAP': 0.30, 'student2/coco/bbox_mAP': 0.36}
    assert kb.run_metric(metrics) == pytest.approx(0.33) and minutes == 2.5
    calls.clear()
    assert kb.train_and_test()(STUDENT_CFG, str(tmp_path / 'run'), 0)[0] == \
        {'coco/bbox_mAP': 0.30}
    assert calls == [('run', [])]


def test_compute_matched_row_that_got_less_time_is_trained_longer(tmp_path):
    """The ladder's runs (12, 24, 48 epochs) were slow, and the machine was faster by the time
    the matched row ran: 53 epochs then take 0.8 * 5.8 = 4.64 min, 80% of the distilled 5.8. The
    row is trained again at 53 / 0.8 = 66.25 -> 67 epochs (0.8 * 7.2 = 5.76 min, 99%), and that
    row is the compute-matched one."""
    student, distill = Config.fromfile(STUDENT_CFG), Config.fromfile(DISTILL_CFG)
    calls = []
    slow = fake_runner(calls)

    def runner(config, work_dir, seed):
        metrics, minutes = slow(config, work_dir, seed)
        epochs = Config.fromfile(config).train_cfg.max_epochs
        return metrics, minutes * (0.8 if epochs not in (12, 24, 48) else 1)

    summary = benchmark(student, distill, Runs(str(tmp_path), runner, [0, 1, 2]), max_factor=8)
    matched = summary['matched']
    assert [t['units'] for t in matched['tries']] == [53, 67]
    assert matched['tries'][0]['time_ratio'] == pytest.approx(0.8)
    assert matched['units'] == 67 and matched['row'] == 'student_67e'
    assert matched['time_ratio'] == pytest.approx(0.8 * (0.5 + 6.7) / 5.8)
    assert [n for n, _ in calls][-6:] == ['student_53e.py'] * 3 + ['student_67e.py'] * 3
    assert 'took 99% of the distilled runs\' mean time (first tried: 53 at 80%)' in \
        table(summary)
    # with a step, each try is rounded up to it; a row that never catches up stops after two
    assert [top_up_units(53, 0.8, 6), top_up_units(48, 0.99, 6), top_up_units(10, 0.5)] == \
        [72, 54, 20]
    never = Runs(str(tmp_path / 'never'),
                 lambda c, w, s: (slow(c, w, s)[0], 0.1 if 'teacher' not in
                                  Config.fromfile(c).model and Config.fromfile(c)
                                  .train_cfg.max_epochs > 48 else slow(c, w, s)[1]), [0, 1, 2])
    summary = benchmark(student, distill, never, max_factor=8)
    assert len(summary['matched']['tries']) == 3
    assert 'less than 95% after 2 longer tries' in table(summary)


def test_distilled_runs_keep_the_teacher_they_learned_from(tmp_path):
    """Each distilled run records the teacher's metric; when the teacher was trained again since
    (another metric now), the summary gives the one the runs learned from and the table says
    the checkpoint now scores otherwise. Runs of the current teacher add no note."""
    student, distill = Config.fromfile(STUDENT_CFG), Config.fromfile(DISTILL_CFG)
    summary = benchmark(student, distill, Runs(str(tmp_path), fake_runner([]), [0, 1, 2]),
                        max_factor=8, teacher=0.724)
    record = json.load(open(osp.join(tmp_path, 'runs', 'distilled_24e', 'seed1', 'run.json')))
    assert record['teacher'] == 0.724
    assert summary['teacher'] == 0.724 and 'teacher_now' not in summary
    assert 'trained again' not in table(summary)
    again = benchmark(student, distill, Runs(str(tmp_path), fake_runner(calls := []), [0, 1, 2]),
                      max_factor=8, teacher=0.748)
    assert calls == [] and again['teacher'] == 0.724 and again['teacher_now'] == 0.748
    assert '| teacher | | | | | 0.724 | | |' in table(again)
    assert ('- the distilled runs learned from a teacher at 0.724; the teacher checkpoint there '
            'now (trained again) scores 0.748') in table(again)


def test_runtime_keys_do_not_change_what_a_record_is_reused_for():
    """A config that differs only in where checkpoints go, logging or the DDP wrapper trains the
    same: same training hash. A changed loss weight or schedule does not. Records made before the
    training hash are matched by the whole config's."""
    from tools.analysis.kd_benchmark import same_training, training_sha
    distill = Config.fromfile(DISTILL_CFG)
    moved = copy.deepcopy(distill)
    moved.default_hooks.checkpoint = dict(type='mmkd.SafeCheckpointHook', interval=1)
    moved.model_wrapper_cfg = dict(type='mmkd.KDDistributedDataParallel')
    moved.custom_imports = dict(imports=['mmkd'], allow_failed_imports=False)
    assert training_sha(moved) == training_sha(distill)
    weighted = copy.deepcopy(distill)
    weighted.model.kd_terms.hint.loss.loss_weight = 2.0
    longer = scale_schedule(copy.deepcopy(distill), 24)
    assert len({training_sha(distill), training_sha(weighted), training_sha(longer)}) == 3
    assert same_training(dict(train_sha='a', config_sha='x'), 'y', 'a')
    assert not same_training(dict(train_sha='b', config_sha='y'), 'y', 'a')
    assert same_training(dict(config_sha='y'), 'y', 'a') and \
        not same_training(dict(config_sha='x'), 'y', 'a')
    assert same_training(dict(metric=0.5), 'y', 'a')  # restored from an older record
    # a record restored from the committed record, made in another checkout, whose
    # checkout-dependent hash cannot match, is taken as it is; one with a train_key is not
    assert same_training(dict(train_sha='b', restored_from='r.json'), 'y', 'a', 'k')
    assert same_training(dict(config_sha='x', restored_from='r.json'), 'y', 'a', 'k')
    assert not same_training(dict(train_key='j', train_sha='a'), 'y', 'a', 'k')
    assert same_training(dict(train_key='k', train_sha='b'), 'y', 'a', 'k')


def test_the_train_key_does_not_depend_on_where_the_repository_is(tmp_path):
    """The configs name their teachers by absolute path ({{ fileDirname }}): the same config in
    two checkouts has two training hashes but one train key; another weight changes both."""
    from tools.analysis.kd_benchmark import training_sha
    text = ("teacher = dict(config='{{ fileDirname }}/teacher.py')\n"
            'model = dict(type="M", weight=1.0)\n')
    paths = []
    for name in ('one', 'two'):
        (tmp_path / name).mkdir()
        (tmp_path / name / 'cfg.py').write_text(text)
        paths.append((tmp_path / name, Config.fromfile(str(tmp_path / name / 'cfg.py'))))
    (a_root, a), (b_root, b) = paths
    assert str(a_root) in a.teacher.config
    assert training_sha(a) != training_sha(b)
    assert training_sha(a, a_root) == training_sha(b, b_root)
    b.model.weight = 2.0
    assert training_sha(a, a_root) != training_sha(b, b_root)
    # a path outside the checkout whose name only starts with the root's ('one2' beside 'one')
    # is the same text in every checkout: one key, not '<root>2/...' in one of them
    outside = f"teacher = dict(config='{tmp_path / 'one2' / 'teacher.py'}')\n"
    for root in (a_root, b_root):
        (root / 'outside.py').write_text(outside)
    keys = {training_sha(Config.fromfile(str(root / 'outside.py')), root)
            for root in (a_root, b_root)}
    assert len(keys) == 1


def test_the_train_key_does_not_depend_on_the_length_of_the_checkouts_path():
    """The config's text wraps its lines by their length, so a key made by replacing the
    folder after formatting (the earlier key) changes with the length of the checkout's path;
    the key of now replaces it before. An earlier record's key is still recognised from the
    checkout it was made in (legacy_root)."""
    import shutil
    import tempfile
    from pathlib import Path

    from tools.analysis.kd_benchmark import ROOT, TRAIN_KEY_VERSION, same_training, training_sha
    text = ("model = dict(type='mmkd.SegmentationDistiller', teacher=dict("
            "config='{{ fileDirname }}/../demo/pspnet_r18-w16-d8_3k_mmkd-demo.py', "
            "checkpoint='work_dirs/demo/seg_teacher/iter_3000.pth'))\n")
    # short folders of 40 lengths (pytest's tmp_path is longer than a line): the line of the
    # teacher's path crosses the formatter's width on the way
    base = Path(tempfile.mkdtemp(prefix='k', dir='/tmp'))
    try:
        roots, cfgs = [], []
        for n in range(1, 41):
            root = base / ('c' * n)
            (root / 'configs').mkdir(parents=True)
            (root / 'configs' / 'cfg.py').write_text(text)
            roots.append(root)
            cfgs.append(Config.fromfile(str(root / 'configs' / 'cfg.py')))
        assert len({training_sha(c, r) for c, r in zip(cfgs, roots)}) == 1
        earlier = [training_sha(c, r, legacy_root=str(r)) for c, r in zip(cfgs, roots)]
        # a record made in checkout i with the earlier key, read in checkout j; i is one whose
        # key differs from the one made in this repository (ROOT), which a record without
        # legacy_root is taken to come from, whatever the length of the path CI clones it to
        as_here = training_sha(cfgs[0], roots[0], legacy_root=ROOT)
        i = next(n for n, k in enumerate(earlier) if k != as_here)
        j = next(n for n, k in enumerate(earlier) if k != earlier[i])
        here, root = cfgs[j], roots[j]

        def same(record):
            return same_training(record, 'sha', 'train_sha', training_sha(here, root),
                                 lambda r: training_sha(here, root, legacy_root=r))
        assert same(dict(train_key=earlier[i], legacy_root=str(roots[i])))
        assert not same(dict(train_key=earlier[i]))  # taken as made here: not recognised
        assert same(dict(train_key=training_sha(cfgs[i], roots[i]),
                         train_key_version=TRAIN_KEY_VERSION))
    finally:
        shutil.rmtree(base)


def test_no_compute_matched_row_when_the_converged_student_already_wins(tmp_path):
    """The distilled student (0.44) scores below the converged 24-epoch student (0.45), whose
    runs (2.9 min) fit in the distilled runs' time (5.8 min): the budget buys at least that
    student, so no longer student is trained and the compute-matched gain is at most -0.01."""
    student, distill = Config.fromfile(STUDENT_CFG), Config.fromfile(DISTILL_CFG)
    calls = []
    plain = fake_runner(calls)

    def runner(config, work_dir, seed):
        metrics, minutes = plain(config, work_dir, seed)
        if 'teacher' in Config.fromfile(config).model:
            metrics = {'coco/bbox_mAP': metrics['coco/bbox_mAP'] - 0.06}
        return metrics, minutes

    summary = benchmark(student, distill, Runs(str(tmp_path), runner, [0, 1, 2]), max_factor=8)
    assert [n for n, _ in calls] == [f'{r}.py' for r in ['student_12e'] * 3 + ['student_24e'] * 3
                                     + ['student_48e'] * 3 + ['distilled_24e'] * 3]
    matched = summary['matched']
    assert matched['dominated'] and matched['row'] == 'student_24e'
    assert matched['time_ratio'] == pytest.approx(2.9 / 5.8)
    gains = summary['gains']
    assert gains['same_schedule']['gain'] == pytest.approx(-0.01)
    assert gains['compute_matched'] == dict(gain=pytest.approx(-0.01), baseline_std=
                                            pytest.approx(0.01), beyond_2std=False, at_most=True)
    md = table(summary)
    assert 'student, compute-matched' not in md
    assert '- against the compute-matched baseline: at most -0.010' in md
    assert ('the compute-matched student was not trained: the converged student (24 epochs, '
            '2.9 min) fits in the distilled runs\' time (5.8 min)') in md
