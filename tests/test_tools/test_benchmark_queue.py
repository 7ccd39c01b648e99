"""The benchmark queue (tools/analysis/benchmark_queue.py): parsing the queue file, the work and
baseline dirs it gives each benchmark, and its summary from the benchmarks' results.json. The
benchmarks themselves (kd_benchmark.py) are tested in test_kd_benchmark.py; here a run is the
results.json it would leave."""
import json
import os.path as osp

import pytest

from tests.helpers import DISTILL_CFG, STUDENT_CFG, TEACHER_CFG
from tools.analysis import benchmark_queue as bq
from tools.analysis.kd_benchmark import write_json

ROOT = bq.ROOT
STUDENT = osp.relpath(STUDENT_CFG, ROOT)
DISTILL = osp.relpath(DISTILL_CFG, ROOT)


def write_queue(tmp_path, text):
    path = tmp_path / 'queue.txt'
    path.write_text(text)
    return str(path)


def test_parse_queue_students_options_and_errors(tmp_path):
    queue = write_queue(tmp_path, f'# a comment\nstudent: {STUDENT}\n{DISTILL}\n'
                        f'{DISTILL} model.kd_terms.hint.loss.loss_weight=1.5  # tuned\n')
    one, two = bq.parse_queue(queue)
    assert (one['student'], one['distill'], one['options']) == (STUDENT, DISTILL, [])
    assert two['options'] == ['model.kd_terms.hint.loss.loss_weight=1.5'] and two['line'] == 4
    name = osp.splitext(osp.basename(DISTILL))[0]
    assert bq.label_of(one) == name and bq.label_of(two) == name + '+hint.loss.loss_weight=1.5'
    assert bq.short_label(two) == 'hint-poskd (hint.loss.loss_weight=1.5)'
    cmd = bq.command(two, '/out', [0, 1, 2], 2)
    assert cmd[cmd.index('--work-dir') + 1] == osp.join('/out', bq.label_of(two))
    assert cmd[cmd.index('--baseline-dir') + 1] == osp.join(
        '/out', 'students', osp.splitext(osp.basename(STUDENT))[0])
    assert cmd[-2:] == ['--distill-options', 'model.kd_terms.hint.loss.loss_weight=1.5']
    assert cmd[cmd.index('--match-step') + 1] == '1/8'
    assert '--distill-options' not in bq.command(one, '/out', [0], 2)

    for text, message in [
            (f'{DISTILL}\n', r'queue.txt:1: .* comes before any "student: CONFIG"'),
            (f'student: {STUDENT}\nconfigs/no/such.py\n', r":2: config 'configs/no/such.py' "
                                                          'does not exist'),
            (f'student: {STUDENT}\n{DISTILL} loss_weight\n', r":2: 'loss_weight' is not "
                                                             'KEY=VALUE'),
            (f'student: {STUDENT}\n', 'names no distill config')]:
        with pytest.raises(ValueError, match=message):
            bq.parse_queue(write_queue(tmp_path, text))


def results(ladder, distilled=None, matched=None, stopped=True):
    """A results.json as kd_benchmark writes it: ``ladder`` (units, values) rows, the converged
    row the last one before the top (or the top when not stopped)."""
    def row(units, values, minutes):
        mean = sum(values) / len(values)
        std = (sum((v - mean) ** 2 for v in values) / (len(values) - 1)) ** 0.5
        return dict(row=f'r{units}', units=units, values=values, mean=mean, std=std,
                    mean_minutes=minutes)
    out = dict(kind='epochs', teacher=0.7,
               ladder=[row(u, v, u / 20) for u, v in ladder])
    index = len(ladder) - 2 if stopped else len(ladder) - 1
    out['converged'] = dict(index=index, stopped=stopped)
    if distilled:
        out['distilled'] = row(ladder[index][0], distilled, 4.6)
    if matched:
        out['matched'] = dict(row(matched[0], matched[1], 4.1), time_ratio=4.1 / 4.6)
        base, ref = out['ladder'][index], out['matched']
        out['gains'] = {k: dict(gain=out['distilled']['mean'] - r['mean'], baseline_std=r['std'],
                                beyond_2std=out['distilled']['mean'] - r['mean'] > 2 * r['std'])
                        for k, r in (('same_schedule', base), ('compute_matched', ref))}
    return out


def test_summary_rows_states_and_verdicts(tmp_path):
    queue = write_queue(tmp_path, f'student: {STUDENT}\n{DISTILL}\n'
                        f'{DISTILL} model.kd_terms.hint.loss.loss_weight=1.5\n'
                        f'{DISTILL} model.kd_terms.hint.loss.loss_weight=0.5\n'
                        f'{DISTILL} model.kd_terms.hint.loss.loss_weight=9\n')
    entries = bq.parse_queue(queue)
    out = tmp_path / 'out'
    ladder = [(48, [0.35, 0.40, 0.38]), (96, [0.37, 0.40, 0.38])]
    done = {
        # +0.19 / +0.18 against stds 0.025 / 0.02: pays
        0: results(ladder, [0.56, 0.57, 0.57], (83, [0.37, 0.41, 0.39])),
        # +0.01 against both: positive but within the spread
        1: results(ladder, [0.37, 0.39, 0.41], (83, [0.37, 0.38, 0.39])),
        # a row being measured: no gains yet
        2: results(ladder),
    }
    for i, res in done.items():
        path = out / bq.label_of(entries[i]) / 'results.json'
        path.parent.mkdir(parents=True)
        path.write_text(json.dumps(res))
    rows = bq.write_summary(entries, str(out), failed=[bq.label_of(entries[3])])
    assert [r['state'] for r in rows] == ['done', 'done', 'partial', 'failed']
    assert rows[0]['converged'] == dict(units=48, mean=pytest.approx(0.3767, abs=1e-4),
                                        std=pytest.approx(0.0252, abs=1e-4), minutes=2.4,
                                        seeds=3)
    assert [bq.verdict(r['gains']) for r in rows[:2]] == ['pays', 'within noise']
    md = (out / 'summary.md').read_text()
    assert ('| hint-poskd | retinanet_r18-narrow | 0.377 ± 0.025 (48e) | 0.567 ± 0.006 (48e) '
            '| 4.6 | 0.390 ± 0.020 (83e, 89% of its time) | +0.190 | +0.177 | pays |') in md
    assert ('| hint-poskd (hint.loss.loss_weight=9) | retinanet_r18-narrow |  |  |  |  |  |  | '
            'failed |') in md
    assert json.loads((out / 'summary.json').read_text())[2]['state'] == 'partial'
    # a loss against the compute-matched baseline does not gain, whatever the other gain
    gains = dict(same_schedule=dict(gain=0.05, beyond_2std=True),
                 compute_matched=dict(gain=-0.01, beyond_2std=False))
    assert bq.verdict(gains) == 'does not gain'


def test_list_trains_nothing_and_only_must_match(tmp_path, monkeypatch, capsys):
    queue = write_queue(tmp_path, f'student: {STUDENT}\n{DISTILL}\n')
    monkeypatch.setattr(bq.subprocess, 'run', lambda *a, **k: pytest.fail('trained'))
    bq.main([queue, '--list', '--out', str(tmp_path / 'out')])
    assert '| hint-poskd |' in capsys.readouterr().out
    with pytest.raises(SystemExit):
        bq.main([queue, '--only', 'fgd', '--out', str(tmp_path / 'out')])
    assert "--only 'fgd' matches none of the 1 benchmarks" in capsys.readouterr().err


def test_teacher_lines_name_the_run_that_writes_a_missing_checkpoint(tmp_path):
    """A benchmark whose teacher checkpoint is missing is matched to the ``teacher:`` line whose
    config's last checkpoint in its work dir is that file; once it exists nothing is trained."""
    teacher = osp.relpath(TEACHER_CFG, ROOT)
    work = tmp_path / 'teacher'
    ckpt = work / 'epoch_12.pth'  # the 12-epoch teacher config's last checkpoint
    queue = write_queue(tmp_path, f'student: {STUDENT}\n{DISTILL} '
                        f'model.teacher.checkpoint={ckpt}\nteacher: {teacher} {work}\n'
                        f'{DISTILL} model.teacher.checkpoint={ckpt}\n')
    before, after = bq.parse_queue(queue)
    assert before['teachers'] == [] and after['teachers'] == [(teacher, str(work))]
    assert bq.missing_teacher(before) is None  # no teacher line says how to train it
    assert bq.missing_teacher(after) == (teacher, str(work))
    work.mkdir()
    ckpt.write_bytes(b'')
    assert bq.missing_teacher(after) is None
    with pytest.raises(ValueError, match=r':1: write "teacher: CONFIG WORK_DIR"'):
        bq.parse_queue(write_queue(tmp_path, f'teacher: {teacher}\n'))


def test_teacher_line_of_a_distill_config_writes_its_exported_student(tmp_path):
    """A teacher assistant (TAKD): a ``teacher:`` line whose config is a distill config writes
    the export of its student, WORK_DIR/export/student.pth, and is matched by that file."""
    assistant = 'configs/takd/takd-hint-poskd_retinanet-r18-half_retinanet-r18_24e_mmkd-demo.py'
    teacher = osp.relpath(TEACHER_CFG, ROOT)
    work = tmp_path / 'assistant'
    assert bq.teacher_checkpoint(assistant, str(work)) == str(work / 'export' / 'student.pth')
    assert bq.teacher_checkpoint(teacher, str(work)) == str(work / 'epoch_12.pth')
    ckpt = work / 'export' / 'student.pth'
    queue = write_queue(tmp_path, f'teacher: {assistant} {work}\nstudent: {STUDENT}\n'
                        f'{DISTILL} model.teacher.checkpoint={ckpt}\n')
    entry, = bq.parse_queue(queue)
    assert bq.missing_teacher(entry) == (assistant, str(work))
    ckpt.parent.mkdir(parents=True)
    ckpt.write_bytes(b'')
    assert bq.missing_teacher(entry) is None


def test_summary_names_the_student_of_each_pair():
    assert bq.student_label('configs/demo/retinanet_r18-narrow_fpn_48e_mmkd-demo-student.py') \
        == 'retinanet_r18-narrow'
    assert bq.student_label('configs/demo/pspnet_r18-w8-d8_1.6k_mmkd-demo-student.py') == \
        'pspnet_r18-w8-d8'


def test_a_missing_assistant_and_its_missing_teacher_are_trained_in_order(tmp_path,
                                                                            monkeypatch):
    """TAKD from a fresh tree: the assistant's own teacher is trained first, then the assistant,
    which is exported where the student's config loads it."""
    import tools.demo
    teacher = 'configs/demo/retinanet_r18_fpn_24e_mmkd-demo.py'
    assistant = 'configs/takd/takd-hint-poskd_retinanet-r18-half_retinanet-r18_24e_mmkd-demo.py'
    step2 = ('configs/takd/takd-hint-poskd_retinanet-r18-narrow_retinanet-r18-half_48e_'
             'mmkd-demo-student.py')
    t_work, a_work = tmp_path / 'teacher', tmp_path / 'assistant'
    queue = write_queue(tmp_path, f'teacher: {teacher} {t_work}\nteacher: {assistant} {a_work}\n'
                        f'student: {STUDENT}\n{step2} model.teacher.checkpoint='
                        f'{a_work}/export/student.pth\n')
    entry, = bq.parse_queue(queue)
    # the assistant's config loads work_dirs/demo/teacher/epoch_24.pth: point it at t_work
    monkeypatch.setattr(bq, 'missing_teacher', _missing_with(bq.missing_teacher, t_work))
    assert bq.teachers_to_train(entry) == [(teacher, str(t_work)), (assistant, str(a_work))]
    trained, ran = [], []
    monkeypatch.setattr(tools.demo, 'train', lambda name, config, work_dir, reuse, last:
                        trained.append((osp.relpath(config, ROOT), last, reuse)) or
                        (osp.join(work_dir, last), 9.0))
    monkeypatch.setattr(tools.demo, 'run', lambda cmd, log: ran.append(cmd))
    bq.train_teacher(assistant, str(a_work))
    assert trained == [(assistant, 'epoch_24.pth', True)]
    assert ran == [[bq.sys.executable, osp.join(ROOT, 'tools', 'export_student.py'),
                    osp.join(ROOT, assistant), str(a_work / 'epoch_24.pth'),
                    str(a_work / 'export')]]
    bq.train_teacher(teacher, str(t_work))  # a plain config: trained, not exported
    assert trained[-1] == (teacher, 'epoch_24.pth', True) and len(ran) == 1


def _missing_with(missing_teacher, t_work):
    """missing_teacher, with the 24-epoch teacher's checkpoint looked for in ``t_work``."""
    def wrapped(entry):
        if 'takd-hint-poskd_retinanet-r18-half_retinanet-r18_24e' in entry['distill']:
            entry = dict(entry, options=[f'model.teacher.checkpoint={t_work}/epoch_24.pth'])
        return missing_teacher(entry)
    return wrapped


def test_record_keeps_every_measured_benchmark(tmp_path):
    """--record: the results.json of each benchmark that has one, under its label, with its
    options; benchmarks not run are left out."""
    queue = write_queue(tmp_path, f'student: {STUDENT}\n{DISTILL}\n'
                        f'{DISTILL} model.kd_terms.hint.loss.loss_weight=1.5\n')
    one, two = bq.parse_queue(queue)
    out = tmp_path / 'out'
    res = results([(48, [0.35, 0.40, 0.38]), (96, [0.37, 0.40, 0.38])], [0.56, 0.57, 0.57],
                  (84, [0.37, 0.41, 0.39]))
    (out / bq.label_of(two)).mkdir(parents=True)
    (out / bq.label_of(two) / 'results.json').write_text(json.dumps(res))
    # --list reads a record and writes none: it only summarises
    bq.main([queue, '--list', '--out', str(out), '--record', str(tmp_path / 'record.json')])
    assert not (tmp_path / 'record.json').exists()
    bq.write_record([one, two], str(out), str(tmp_path / 'record.json'))
    record = json.loads((tmp_path / 'record.json').read_text())
    assert list(record) == [bq.label_of(two)]
    assert record[bq.label_of(two)]['distilled']['values'] == [0.56, 0.57, 0.57]
    assert record[bq.label_of(two)]['options'] == ['model.kd_terms.hint.loss.loss_weight=1.5']


def measured(student_units=(48, 96), matched=84, ratio=1.0, tries=True):
    """A results.json as kd_benchmark writes it, with each row's seeds and minutes: the ladder at
    ``student_units`` (converged at the first), the distilled row, and the compute-matched row at
    ``matched`` that took ``ratio`` of the distilled time (after a first try at 66e)."""
    def row(name, units, values, minutes):
        return dict(row=name, units=units, seeds=[0, 1, 2], values=values,
                    minutes=[minutes] * 3, mean=sum(values) / 3, std=0.01, mean_minutes=minutes)
    res = dict(kind='epochs', seeds=[0, 1, 2], teacher=0.7,
               converged=dict(index=0, stopped=True, units=student_units[0]),
               ladder=[row(f'student_{u}e', u, [0.3 + u / 1000] * 3, u / 20)
                       for u in student_units],
               distilled=row(f'distilled_{student_units[0]}e', student_units[0], [0.5] * 3, 4.0))
    res['matched'] = dict(row(f'student_{matched}e', matched, [0.39] * 3, 4.0 * ratio),
                          time_ratio=ratio)
    if tries:
        res['matched']['tries'] = [dict(units=66, time_ratio=0.8),
                                   dict(units=matched, time_ratio=ratio)]
    res['gains'] = dict(same_schedule=dict(gain=0.15, beyond_2std=True),
                        compute_matched=dict(gain=0.11, beyond_2std=True))
    return res


def test_record_keeps_runs_and_restores_them_where_the_work_dirs_are_gone(tmp_path,
                                                                          monkeypatch):
    """--record holds every run a benchmark's rows were made of (its ladder, distilled row and
    each compute-matched try), adds to an existing file without dropping what is not on disk,
    and on an empty out dir writes them all back: a complete benchmark is then not run again,
    an incomplete one is, on top of its restored runs."""
    queue = write_queue(tmp_path, f'student: {STUDENT}\n{DISTILL}\n'
                        f'{DISTILL} model.kd_terms.hint.loss.loss_weight=1.5\n')
    one, two = bq.parse_queue(queue)
    first, record = tmp_path / 'first', str(tmp_path / 'record.json')
    res = measured()
    (first / bq.label_of(one)).mkdir(parents=True)
    (first / bq.label_of(one) / 'results.json').write_text(json.dumps(res))
    paths = bq.run_paths(one, res)
    # 3 seeds of 2 ladder rows, the distilled row and 2 matched tries (66e and 84e)
    assert len(paths) == 15 and len(set(paths)) == 15
    # a benchmark stopped in its distilled row keeps the seeds it has
    part = dict(measured(), distilled=None, matched=None, gains=None,
                running=dict(row='distilled_48e', seeds=[0, 1]))
    assert bq.run_paths(one, part)[-2:] == [
        osp.join(bq.label_of(one), 'runs', 'distilled_48e', f'seed{s}', 'run.json') for s in (0, 1)]
    student = osp.join('students', osp.splitext(osp.basename(STUDENT))[0], 'runs')
    assert osp.join(student, 'student_66e', 'seed2', 'run.json') in paths
    assert osp.join(bq.label_of(one), 'runs', 'distilled_48e', 'seed0', 'run.json') in paths
    for i, rel in enumerate(paths):
        (first / rel).parent.mkdir(parents=True, exist_ok=True)
        (first / rel).write_text(json.dumps(dict(metric=i / 100, config_sha=f'sha{i}')))
    bq.write_record([one, two], str(first), record)
    # a second machine measures only the other benchmark: the first stays in the record
    second = tmp_path / 'second'
    (second / bq.label_of(two)).mkdir(parents=True)
    (second / bq.label_of(two) / 'results.json').write_text(
        json.dumps(measured(ratio=0.9, tries=False)))
    saved = bq.write_record([one, two], str(second), record)
    assert list(saved) == [bq.label_of(one), bq.label_of(two)]
    assert len(saved[bq.label_of(one)]['runs']) == 15 and saved[bq.label_of(two)]['runs'] == {}

    third = tmp_path / 'third'
    assert bq.restore_record([one, two], str(third), record) == [bq.label_of(one),
                                                                 bq.label_of(two)]
    for i, rel in enumerate(paths):
        assert json.loads((third / rel).read_text()) == dict(
            metric=i / 100, config_sha=f'sha{i}', restored_from=osp.relpath(record, ROOT))
    back = json.loads((third / bq.label_of(one) / 'results.json').read_text())
    assert back['distilled'] == res['distilled'] and 'runs' not in back
    # the first got its share of the time (100%): settled; the second (90%, one try) is not
    assert bq.settled(back)
    assert not bq.settled(json.loads((third / bq.label_of(two) / 'results.json').read_text()))
    ran = []
    monkeypatch.setattr(bq.subprocess, 'run', lambda cmd, cwd: ran.append(cmd) or
                        type('Done', (), dict(returncode=0))())
    bq.main([queue, '--out', str(third), '--record', record])
    assert len(ran) == 1 and ran[0][ran[0].index('--work-dir') + 1] == str(
        third / bq.label_of(two))
    # a restored benchmark is not restored again over what is on disk
    assert bq.restore_record([one, two], str(third), record) == []


def test_a_stale_work_dir_does_not_overwrite_a_fuller_record(tmp_path):
    """An out dir left from an earlier queue holds a benchmark stopped in its distilled row;
    the record has it complete: writing the record from that dir keeps the complete entry."""
    queue = write_queue(tmp_path, f'student: {STUDENT}\n{DISTILL}\n')
    (one,) = bq.parse_queue(queue)
    record = str(tmp_path / 'record.json')
    full, stale = tmp_path / 'full', tmp_path / 'stale'
    res = measured()
    for out, results in ((full, res), (stale, dict(res, distilled=None, matched=None,
                                                   gains=None, running=dict(
                                                       row='distilled_48e', seeds=[0])))):
        (out / bq.label_of(one)).mkdir(parents=True)
        (out / bq.label_of(one) / 'results.json').write_text(json.dumps(results))
        for rel in bq.run_paths(one, results):
            (out / rel).parent.mkdir(parents=True, exist_ok=True)
            (out / rel).write_text(json.dumps(dict(metric=0.5)))
    bq.write_record([one], str(full), record)
    kept = bq.write_record([one], str(stale), record)[bq.label_of(one)]
    assert kept['distilled'] == res['distilled'] and len(kept['runs']) == 15


def test_an_older_record_without_runs_restores_rows_kd_benchmark_reuses(tmp_path):
    """A record written before runs were kept has each row's per-seed metric and minutes: they
    come back as run.json records that kd_benchmark's Runs reuses instead of training."""
    from mmengine.config import Config

    from tools.analysis.kd_benchmark import Runs, scale_schedule
    queue = write_queue(tmp_path, f'student: {STUDENT}\n{DISTILL}\n')
    entry, = bq.parse_queue(queue)
    record = tmp_path / 'record.json'
    res = measured(tries=False)
    res['ladder'][1]['values'] = [0.36, 0.40, 0.39]
    res['ladder'][1]['minutes'] = [5.6, 5.7, 5.0]
    record.write_text(json.dumps({bq.label_of(entry): res}))
    out = tmp_path / 'out'
    bq.restore_record([entry], str(out), str(record))
    base = osp.join(str(out), 'students', osp.splitext(osp.basename(STUDENT))[0])
    runs = Runs(str(out / bq.label_of(entry)), lambda *a: pytest.fail('trained'), [0, 1, 2],
                baseline_dir=base)
    cfg = scale_schedule(Config.fromfile(STUDENT_CFG), 96)
    records = runs.run_row('student_96e', cfg, 96)
    assert [(r['metric'], r['minutes'], r['units']) for r in records] == [
        (0.36, 5.6, 96), (0.40, 5.7, 96), (0.39, 5.0, 96)]
    assert records[0]['metrics'] == {'coco/bbox_mAP': 0.36}
    distilled = json.load(open(osp.join(str(out), bq.label_of(entry), 'runs', 'distilled_48e',
                                        'seed2', 'run.json')))
    assert distilled['metric'] == 0.5 and distilled['teacher'] == 0.7  # the record's teacher


def test_a_benchmark_without_a_matched_row_reads_as_bounded_and_settled(tmp_path):
    """kd_benchmark's ``dominated`` case (the distilled student below the converged one, which
    costs less): the summary says the matched row was not trained and bounds that gain, and a
    restored benchmark of that kind is complete."""
    queue = write_queue(tmp_path, f'student: {STUDENT}\n{DISTILL}\n')
    entries = bq.parse_queue(queue)
    res = results([(48, [0.35, 0.40, 0.38]), (96, [0.37, 0.40, 0.38])], [0.33, 0.35, 0.34])
    base = res['ladder'][0]
    res['matched'] = dict(base, dominated=True, tries=[], time_ratio=2.4 / 4.6)
    gain = res['distilled']['mean'] - base['mean']
    res['gains'] = dict(same_schedule=dict(gain=gain, baseline_std=base['std'], beyond_2std=False),
                        compute_matched=dict(gain=gain, baseline_std=base['std'],
                                             beyond_2std=False, at_most=True))
    path = tmp_path / 'out' / bq.label_of(entries[0]) / 'results.json'
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(res))
    md = bq.summary_table(bq.summary_rows(entries, str(tmp_path / 'out')))
    assert ('| 0.340 ± 0.010 (48e) | 4.6 | not trained: the converged student fits its time and '
            'scores higher | -0.037 | ≤ -0.037 | does not gain |') in md
    assert bq.settled(res)
    assert not bq.settled(dict(res, matched=dict(res['matched'], dominated=False)))


def test_a_record_of_the_teacher_first_names_reads_with_the_names_of_now(tmp_path):
    """configs/renamed.json maps the configs renamed student-first; a record written before
    keeps its benchmarks under the new labels (and the run paths under them), and a label with
    weight overrides keeps them."""
    old = 'fgd-p3p4_retinanet-r18_retinanet-r18-narrow_48e_mmkd-demo-student'
    new = 'fgd-p3p4_retinanet-r18-narrow_retinanet-r18_48e_mmkd-demo-student'
    renamed = json.load(open(bq.RENAMED))
    assert renamed[f'configs/fgd/{old}.py'] == f'configs/fgd/{new}.py'
    assert all(osp.isfile(osp.join(ROOT, path)) for path in renamed.values())
    assert not any(osp.exists(osp.join(ROOT, path)) for path in renamed)
    record = {old: dict(runs={f'{old}/runs/distilled_48e/seed0/run.json': dict(metric=0.5)}),
              f'{old}+fgd.loss.loss_weight=0.125': dict(runs={}),
              'hint-poskd_retinanet-r18-narrow_retinanet-r18_48e_mmkd-demo-student': {}}
    write_json(str(tmp_path / 'record.json'), record)
    now = bq.read_queue_record(str(tmp_path / 'record.json'))
    assert sorted(now) == sorted([new, f'{new}+fgd.loss.loss_weight=0.125',
                                  'hint-poskd_retinanet-r18-narrow_retinanet-r18_48e_'
                                  'mmkd-demo-student'])
    assert now[new]['runs'] == {f'{new}/runs/distilled_48e/seed0/run.json': dict(metric=0.5)}
    # nothing renamed (an empty map): the record as it was, not every label rewritten
    (tmp_path / 'none.json').write_text('{}')
    assert bq.read_queue_record(str(tmp_path / 'record.json'),
                                renamed=str(tmp_path / 'none.json')) == record


def test_runs_with_an_earlier_train_key_know_the_checkout_they_were_made_in(tmp_path):
    """The earlier train key depended on the checkout's path: reading the record gives each such
    run the checkout its benchmark names its student config in."""
    from tools.analysis.kd_benchmark import TRAIN_KEY_VERSION
    record = {'b': dict(student_config='/work/bench/configs/demo/s.py', runs={
        'old.json': dict(train_key='k'),
        'new.json': dict(train_key='k', train_key_version=TRAIN_KEY_VERSION),
        'none.json': dict(metric=0.5)})}
    write_json(str(tmp_path / 'record.json'), record)
    runs = bq.read_queue_record(str(tmp_path / 'record.json'))['b']['runs']
    assert runs['old.json']['legacy_root'] == '/work/bench'
    assert 'legacy_root' not in runs['new.json'] and 'legacy_root' not in runs['none.json']


def test_a_demo_run_builds_the_demo_data_first(tmp_path, monkeypatch):
    """tools/demo.train, which every run of the demo and the benchmark tools goes through,
    builds data/mmkd_demo before a demo config's run (a queue on a fresh clone trains its
    teachers first and used to fail in mmdet's dataset with the file missing), and only for the
    demo's configs."""
    import tools.demo
    import tools.dataset.make_demo_data as data
    built, ran = [], []
    monkeypatch.setattr(data, 'ensure', lambda out, **kw: built.append((out, kw)) or True)
    monkeypatch.setattr(tools.demo, 'run', lambda cmd, log: ran.append(cmd))
    tools.demo.train('teacher', 'configs/demo/retinanet_r18_fpn_24e_mmkd-demo.py', str(tmp_path))
    assert built == [(tools.demo.DATA, data.DEMO)] and len(ran) == 1
    tools.demo.train('coco', 'configs/models/gfl_r18_fpn_1x_coco.py', str(tmp_path))
    assert len(built) == 1 and len(ran) == 2
