"""The vocabulary tables: what a distiller derives from them, and the stages a step runs for the
names its terms read."""
import pytest

from mmkd.models.distillers import (DetectionDistiller, MutualLearningDistiller,
                                    SegmentationDistiller)
from mmkd.models.distillers.terms import KDTerm
from mmkd.models.distillers.vocabulary import DETECTION, SEGMENTATION, Wants


def test_a_term_derives_what_it_reads_per_level_and_aligns_from_the_table():
    assert DetectionDistiller.TABLE is DETECTION and SegmentationDistiller.TABLE is SEGMENTATION
    term = KDTerm('t', dict(loss=dict(type='mmkd.FeatureImitationLoss'),
                            inputs=['s_neck', 't_neck', 'priors', 'num_pos']), DETECTION, 'D')
    assert term.per_level == ['s_neck', 't_neck', 'priors'] and term.pairs == ['neck']
    seg = KDTerm('t', dict(loss=dict(type='mmkd.FeatureImitationLoss'),
                           inputs=['s_decode_inputs', 't_decode_inputs']), SEGMENTATION, 'S')
    assert seg.pairs == ['decode_inputs']
    assert {n for n, e in MutualLearningDistiller.TABLE.items() if e.per_level} == \
        {'s_cls_scores', 't_cls_scores', 'pos_mask'}


def test_teacher_maps_are_resized_only_where_a_term_reads_both_sides():
    """The segmentation teacher's logits and decode features follow the student's H x W in a
    term that reads the student's counterpart; nothing else is resized."""
    def resized(table, inputs):
        return KDTerm('t', dict(loss=dict(type='mmkd.FeatureImitationLoss'), inputs=inputs),
                      table, 'X').resized
    assert {n for n, e in SEGMENTATION.items() if e.resized} == \
        {'t_logits', 't_decode_feat', 't_dropout_feat'}
    assert resized(SEGMENTATION, ['s_logits', 't_logits', 'valid_mask']) == ['t_logits']
    assert resized(SEGMENTATION, ['s_dropout_feat', 't_dropout_feat']) == ['t_dropout_feat']
    assert resized(SEGMENTATION, ['s_decode_feat', 't_logits']) == []
    assert resized(SEGMENTATION, ['s_backbone', 't_backbone']) == []
    assert not any(e.resized for e in DETECTION.values())
    assert not any(e.resized for e in MutualLearningDistiller.TABLE.values())


@pytest.mark.parametrize('names, on, off', [
    # the teacher's regression at the student's positives: both heads and the assignment, but
    # neither the RCNN rows nor the priors
    ({'s_pos_reg', 't_pos_reg'}, {'student_head', 'teacher_head', 'targets'},
     {'rcnn', 'priors', 'bins', 'teacher_neck'}),
    # a neck hint alone runs no head on either side
    ({'s_neck', 't_neck'}, {'student_neck', 'teacher_neck'},
     {'student_head', 'teacher_head', 'targets'}),
    # LD's valuable localization region: its own stage, not the positives' bins
    ({'s_vlr_bins', 't_vlr_bins', 'vlr_bin_weights'}, {'vlr', 'targets', 'teacher_head'},
     {'bins'}),
    ({'t_rcnn_cls'}, {'rcnn', 'teacher_neck'}, {'teacher_head'}),
    ({'priors', 'gt_bboxes'}, {'priors', 'student_neck'}, {'targets', 'teacher_backbone'}),
])
def test_stages_of_detection_names(names, on, off):
    wants = Wants(DETECTION, names)
    assert all(getattr(wants, stage) for stage in on)
    assert not any(getattr(wants, stage) for stage in off)


def test_region_features_need_the_decode_feature_and_the_label_map():
    wants = Wants(SEGMENTATION, {'t_region_feats'})
    assert wants.teacher_decode_feat and wants.gt and wants.teacher_head
    assert not (wants.student_decode_feat or wants.teacher_logits)


def test_a_misspelt_stage_is_an_error():
    with pytest.raises(AttributeError, match=r"no vocabulary entry needs a stage 'teacher_haed'"):
        Wants(DETECTION, {'t_neck'}).teacher_haed
