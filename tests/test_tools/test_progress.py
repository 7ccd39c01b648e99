"""The progress lines of the long tools (tools/progress.py) and the demo's whole-run ETA."""
import pytest

from tools import demo
from tools import progress as progress_mod
from tools.progress import Progress, clock


def test_clock():
    assert clock(0) == '0:00'
    assert clock(59.6) == '1:00'
    assert clock(3725) == '1:02:05'  # 1 h 2 min 5 s


def test_progress_lines_eta_and_throttle(monkeypatch, capsys):
    """Steps of 2 s each, every=5: a line at the first step, none before 5 s have passed since
    the last line, and one at the last step."""
    now = [100.0]
    monkeypatch.setattr(progress_mod.time, 'perf_counter', lambda: now[0])
    progress = Progress(10, '[t] steps', every=5.0)
    for _ in range(10):
        now[0] += 2.0
        progress.update()
    lines = capsys.readouterr().out.splitlines()
    # step 1 at 2 s: ETA 9 * 2 s; step 4 at 8 s (6 s after the last line); step 7 at 14 s
    assert lines == ['[t] steps 1/10, elapsed 0:02, ETA 0:18',
                     '[t] steps 4/10, elapsed 0:08, ETA 0:12',
                     '[t] steps 7/10, elapsed 0:14, ETA 0:06',
                     '[t] steps 10/10, elapsed 0:20, ETA 0:00']


def test_progress_disabled_is_quiet(capsys):
    progress = Progress(3, '[t]', enabled=False)
    for _ in range(3):
        progress.update(note=' (x)')
    assert progress.done == 3
    assert capsys.readouterr().out == ''


MINUTES = dict(teacher=6.4, student=2.5, distilled=4.0, matched=4.0, seg_student=2.7,
               seg_distilled=4.7)


def test_demo_eta_scales_by_the_pace_so_far(capsys, monkeypatch):
    """Expected 6.4 + 2.5 + 4 + 4 min; the teacher took 12.8 min (twice its 6.4), so the three
    students' 10.5 expected minutes are 21."""
    monkeypatch.setattr(demo, 'EXPECTED_MINUTES', MINUTES)
    eta = demo.DemoEta(['teacher', 'student', 'distilled', 'matched'])
    assert eta.minutes() == pytest.approx(16.9)
    eta.stage(2, 'teacher')
    eta.trained('teacher', 12.8)
    assert eta.minutes() == pytest.approx(21.0)
    assert str(eta) == 'ETA of the whole demo ~21 min'
    eta.stage(3, 'students')
    eta.trained('student', 2.5)
    eta.trained('distilled', 4.0)
    eta.trained('matched', 4.0)
    eta.stage(5, 'evaluation')
    assert capsys.readouterr().out.splitlines() == [
        '[demo] stage 2/5 teacher; ETA of the whole demo ~17 min',
        '[demo] stage 3/5 students; ETA of the whole demo ~21 min',
        '[demo] stage 5/5 evaluation; ETA of the whole demo under a minute']


def test_demo_eta_without_the_teacher(monkeypatch):
    """A reused teacher checkpoint: only the students' minutes, and a run not in the list (a
    reused teacher reported anyway) changes nothing."""
    monkeypatch.setattr(demo, 'EXPECTED_MINUTES', MINUTES)
    eta = demo.DemoEta(['seg_student', 'seg_distilled'])
    eta.trained('seg_teacher', 30.0)
    assert eta.minutes() == pytest.approx(2.7 + 4.7)


def test_demo_expected_minutes_cover_every_run():
    assert {f'{pre}{k}' for pre in ('', 'seg_') for k in ('teacher', 'student', 'distilled',
                                                           'matched')} <= set(demo.EXPECTED_MINUTES)
