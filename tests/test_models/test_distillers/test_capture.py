import torch
from torch import nn

from mmkd.models.distillers.capture import Capture, first_input


def make():
    capture = Capture()
    a, b = nn.Linear(2, 3), nn.Linear(3, 1)
    capture.keep(a, 'a_out')
    capture.keep(b, 'b_in', take=first_input, pre=True)
    capture.keep(b, 'b_out', when=lambda tag: tag == 'second')
    return capture, a, b


def test_keeps_only_inside_a_block_and_the_dict_stays_the_callers():
    capture, a, b = make()
    x = torch.randn(4, 2)
    b(a(x))                                       # outside: nothing kept
    assert capture.out == {}
    with capture() as out:
        y = a(x)
        b(y)
    assert set(out) == {'a_out', 'b_in'}          # 'b_out' only for the tag 'second'
    assert torch.equal(out['a_out'], y) and out['b_in'] is y
    b(a(x))                                       # after the block: the dict is not touched
    assert out['b_in'] is y


def test_blocks_nest_and_the_outer_one_captures_again_after_the_inner():
    capture, a, b = make()
    x1, x2, x3 = torch.randn(1, 2), torch.randn(1, 2), torch.randn(1, 2)
    with capture('first') as outer:
        a(x1)
        with capture('second') as inner:
            b(a(x2))
        b(a(x3))
    assert torch.equal(inner['a_out'], a(x2)) and 'b_out' in inner
    assert torch.equal(outer['a_out'], a(x3)) and 'b_out' not in outer
    assert capture.active is None and capture.out == {}


def test_store_follows_the_same_rules():
    capture = Capture()
    capture.store('k', 1)
    with capture('first') as out:
        capture.store('k', 2)
        capture.store('only_second', 3, when=lambda tag: tag == 'second')
    assert out == {'k': 2}
