"""Head-level rows: the student's assignment in the head's own regression space, the teacher's
predictions at the same priors, RCNN rows on the student's RoIs, and clear errors when the heads
disagree. Student and teacher are small demo-sized models with random weights."""
import pytest
import torch

from mmkd.models.distillers.head_rows import family_of
from mmkd.registry import MODELS
from tests.helpers import (RCNN_TERMS, ROWS, RowsProbe, distill_model_cfg, fcos_model, gfl_model,
                           one_box_batch, student_model, tiny_faster_rcnn)
from tests.helpers import rows_distiller as distiller

SIZES = [(8, 8), (4, 4), (2, 2), (1, 1), (1, 1)]  # the levels of a 64 x 64 input


def positives(priors):
    """The rows of the positives, from the per-level pos_mask the probe was given (it is called
    once per level), in the rows' order: image-major, levels concatenated."""
    pos_mask = torch.cat([args[-1] for args in RowsProbe.seen], dim=1)  # (N, P)
    N = pos_mask.shape[0]
    flat = torch.cat(priors)[None].expand(N, -1, -1).reshape(-1, priors[0].shape[1])
    return flat[pos_mask.reshape(-1)]


def test_delta_space_targets_decode_to_the_gt_box(tmp_path):
    """RetinaNet: the positives' targets are the coder's deltas; decoding them at the positive
    anchors gives the one GT box back. The same weights on both sides (both in eval mode):
    t_pos_reg = s_pos_reg."""
    model = distiller(tmp_path, student_model(), inputs=ROWS + ['pos_mask'])
    model.student.load_state_dict(model.teacher.state_dict())
    model.eval()  # BatchNorm from running statistics on both sides
    model.loss(*one_box_batch())
    s_reg, t_reg, targets, weights, num_pos, _ = RowsProbe.seen[0]
    assert s_reg.shape == targets.shape == (int(num_pos), 4) and num_pos >= 2
    assert torch.equal(s_reg, t_reg) and torch.equal(weights, torch.ones_like(weights))
    head = model.student.bbox_head
    anchors = positives(head.prior_generator.grid_priors(SIZES, device='cpu'))
    decoded = head.bbox_coder.decode(anchors, targets)
    assert torch.allclose(decoded, torch.tensor([[8.0, 8.0, 40.0, 40.0]]).expand_as(decoded),
                          atol=1e-3)


def test_distance_space_fcos_targets_give_the_gt_box(tmp_path):
    """FCOS (norm_on_bbox): a positive point p of stride s with targets (l, t, r, b) gives the
    box (p_x - l s, p_y - t s, p_x + r s, p_y + b s): the GT box."""
    model = distiller(tmp_path, fcos_model(), inputs=ROWS + ['pos_mask'])
    model.train()
    model.loss(*one_box_batch())
    _, _, targets, _, num_pos, _ = RowsProbe.seen[0]
    points = positives(model.student.bbox_head.prior_generator.grid_priors(
        SIZES, device='cpu', with_stride=True))
    box = torch.cat([points[:, :2] - targets[:, :2] * points[:, 2:],
                     points[:, :2] + targets[:, 2:] * points[:, 2:]], dim=1)
    assert len(box) == int(num_pos) > 0
    assert torch.allclose(box, torch.tensor([[8.0, 8.0, 40.0, 40.0]]).expand_as(box))


def test_gfl_integral_and_atss_decoding_in_stride_units(tmp_path):
    """GFL: a distribution peaked on bin 3 integrates to 3 stride units, whatever reg_max.
    A reg_decoded_bbox anchor head (ATSS-like) with zero deltas decodes to its anchor: each
    distance is half the anchor side, octave_base_scale / 2 = 4 stride units."""
    for reg_max in (16, 8):
        head = MODELS.build(dict(gfl_model(reg_max).bbox_head, train_cfg=None))
        preds = torch.full((2, 4 * (reg_max + 1), 2, 2), -30.0)
        preds[:, 3::reg_max + 1] = 30.0
        out = family_of(head).regression([preds] * 5, [(2, 2)] * 5)
        assert torch.allclose(out[0], torch.full((2, 4, 4), 3.0), atol=1e-4)
    atss = gfl_model().bbox_head
    atss.update(type='ATSSHead', reg_decoded_bbox=True, loss_dfl=None)
    atss.pop('loss_dfl'), atss.pop('reg_max')
    atss['loss_cls'] = dict(type='FocalLoss', use_sigmoid=True, loss_weight=1.0)
    head = MODELS.build(atss)
    out = family_of(head).regression([torch.zeros(1, 4, 2, 2)] * 5, [(2, 2)] * 5)
    assert torch.allclose(out[3], torch.full((1, 4, 4), 4.0))


def test_gfl_teacher_with_another_reg_max(tmp_path):
    model = distiller(tmp_path, gfl_model(16), gfl_model(8))
    model.train()
    model.loss(*one_box_batch())
    s_reg, t_reg, targets, _, num_pos = RowsProbe.seen[0]
    assert s_reg.shape == t_reg.shape == targets.shape == (int(num_pos), 4)
    assert t_reg.max() <= 8 and targets.max() < 16


def test_mismatched_heads_are_named(tmp_path):
    other = student_model(anchor_generator=dict(type='AnchorGenerator', octave_base_scale=3,
                                                scales_per_octave=2, ratios=[0.5, 1.0, 2.0],
                                                strides=[8, 16, 32, 64, 128]))
    model = distiller(tmp_path, student_model(), other)
    model.train()
    with pytest.raises(ValueError, match=r"student's RetinaHead and the teacher's RetinaHead do "
                                         r'not predict at the same anchors.*\(576, 4\) vs '
                                         r'\(384, 4\)'):
        model.loss(*one_box_batch())
    model = distiller(tmp_path, fcos_model(), student_model())
    model.train()
    with pytest.raises(ValueError, match='regress in different spaces'):
        model.loss(*one_box_batch())
    coder = dict(type='DeltaXYWHBBoxCoder', target_means=[0.0] * 4, target_stds=[0.1] * 4)
    model = distiller(tmp_path, student_model(), student_model(bbox_coder=coder))
    model.train()
    with pytest.raises(ValueError, match=r'encode deltas differently.*0\.1'):
        model.loss(*one_box_batch())


def test_rcnn_rows_on_the_students_rois_with_one_teacher_roi_forward(tmp_path):
    """Faster R-CNN, all parts of Chen et al. on: the teacher's box head runs once per step, on
    the student's sampled RoIs; the RCNN rows line up with the student's; gradients reach the
    student's RPN and box head, never the teacher."""
    student = tiny_faster_rcnn()
    model = distiller(tmp_path, student, inputs=['s_rcnn_cls', 't_rcnn_cls', 'rcnn_label_weights',
                                                 's_rcnn_pos_reg', 't_rcnn_pos_reg',
                                                 'rcnn_pos_reg_targets', 'rcnn_num_rois'])
    calls = []
    model.teacher.roi_head.bbox_head.register_forward_hook(lambda *a: calls.append(1))
    model.train()
    model.loss(*one_box_batch())
    assert len(calls) == 1
    s_cls, t_cls, weights, s_reg, t_reg, targets, num_rois = RowsProbe.seen[0]
    assert s_cls.shape == t_cls.shape == (int(num_rois), 11) and weights.shape == (num_rois,)
    assert s_reg.shape == t_reg.shape == targets.shape and len(s_reg) > 0
    assert t_cls.requires_grad is False

    full = MODELS.build(dict(type='mmkd.DetectionDistiller', student=student,
                             teacher=dict(config=student,
                                          checkpoint=str(tmp_path / 'teacher.pth')),
                             kd_terms=RCNN_TERMS))
    full.train()
    losses = full.loss(*one_box_batch())
    for name in RCNN_TERMS:
        assert torch.isfinite(losses[f'loss_kd_{name}']), name
    assert losses['loss_kd_rcnn_soft'].item() > 0 and losses['loss_kd_rpn_soft'].item() > 0
    total = sum(losses[f'loss_kd_{name}'] for name in RCNN_TERMS)
    total.backward()
    assert full.student.roi_head.bbox_head.fc_cls.weight.grad.abs().sum() > 0
    assert full.student.rpn_head.rpn_cls.weight.grad.abs().sum() > 0
    assert all(p.grad is None for p in full.teacher.parameters())


def test_rcnn_inputs_need_two_stage_models(tmp_path):
    with pytest.raises(ValueError, match='rcnn_\\* inputs need a two-stage student'):
        distiller(tmp_path, student_model(), inputs=['s_rcnn_cls', 't_rcnn_cls'])


BINS = ['s_pos_bins', 't_pos_bins', 'pos_bin_weights', 'num_pos']


def test_gfl_bins_same_and_other_reg_max(tmp_path):
    """Same weights, same reg_max: the teacher's bin logits are the student's. A teacher with
    reg_max 8 for a reg_max 16 student: log-probabilities on 17 bins, nothing past bin 8. The
    weights are the student's largest sigmoid class score at each positive, once per edge."""
    model = distiller(tmp_path, gfl_model(16), inputs=BINS + ['s_pos_cls'])
    model.student.load_state_dict(model.teacher.state_dict())
    model.eval()
    model.loss(*one_box_batch())
    s_bins, t_bins, weights, num_pos, s_pos_cls = RowsProbe.seen[0]
    assert s_bins.shape == (4 * int(num_pos), 17) and torch.equal(s_bins, t_bins)
    assert weights.shape == (4 * int(num_pos),)
    best = s_pos_cls.sigmoid().amax(dim=1)  # (P,)
    for edge in range(4):
        assert torch.allclose(weights[edge::4], best)
    model = distiller(tmp_path, gfl_model(16), gfl_model(8), inputs=BINS)
    model.train()
    model.loss(*one_box_batch())
    _, t_bins, _, num_pos = RowsProbe.seen[0]
    assert t_bins.shape == (4 * int(num_pos), 17)
    assert torch.allclose(t_bins.exp().sum(dim=1), torch.ones(len(t_bins)), atol=1e-5)
    assert torch.all(t_bins[:, 9:] == float('-inf'))


def test_continuous_teacher_bins_from_its_boxes():
    """An FCOS teacher whose distances are 2 strides everywhere: its points sit half a stride
    right of / below the GFL student's anchor centres, so from the student's centre the box is
    1.5 strides left / up and 2.5 right / down: half on bins 1 and 2, half on bins 2 and 3."""
    from mmkd.models.distillers.head_rows import bin_rows
    s_head = MODELS.build(dict(gfl_model(16).bbox_head, train_cfg=None))
    t_head = MODELS.build(dict(fcos_model().bbox_head, train_cfg=None))
    sizes = [(4, 4), (2, 2), (1, 1), (1, 1), (1, 1)]
    s_cls = [torch.zeros(1, 10, h, w) for h, w in sizes]
    s_reg = [torch.zeros(1, 4 * 17, h, w) for h, w in sizes]
    t_reg = [torch.full((1, 4, h, w), 2.0) for h, w in sizes]
    pos = torch.zeros(16 + 4 + 3, dtype=torch.bool)
    pos[5] = True  # level 0, location (1, 1)
    rows = bin_rows(s_head, t_head, s_reg, t_reg, s_cls, pos)
    probs = rows['t_pos_bins'].exp()
    assert probs.shape == (4, 17)
    assert probs[0, 1:3].tolist() == pytest.approx([0.5, 0.5])  # left 1.5
    assert probs[1, 1:3].tolist() == pytest.approx([0.5, 0.5])  # top 1.5
    assert probs[2, 2:4].tolist() == pytest.approx([0.5, 0.5])  # right 2.5
    assert probs[3, 2:4].tolist() == pytest.approx([0.5, 0.5])  # bottom 2.5
    assert rows['pos_bin_weights'].tolist() == pytest.approx([0.5] * 4)  # sigmoid(0)


def test_bins_need_a_gfl_student(tmp_path):
    with pytest.raises(ValueError, match="need a student head that classifies box edges over "
                                         "bins \\(GFLHead\\); the student's is RetinaHead"):
        distiller(tmp_path, student_model(), inputs=BINS)


def test_bound_mixes_with_fgd_in_one_config(teacher_ckpt):
    """The demo pair with a bound on the head and FGD on the neck: both terms in one step."""
    cfg = distill_model_cfg(teacher_ckpt)
    cfg.kd_terms = dict(
        bound=dict(loss=dict(type='mmkd.TeacherBoundedRegressionLoss'),
                   inputs=['s_pos_reg', 't_pos_reg', 'pos_reg_targets', 'pos_reg_weights',
                           'num_pos']),
        fgd=dict(loss=dict(type='mmkd.FGDLoss', student_channels=32, teacher_channels=128),
                 inputs=['s_neck', 't_neck', 'gt_bboxes', 'batch_input_shape']))
    model = MODELS.build(cfg)
    model.train()
    losses = model.loss(*one_box_batch())
    assert losses['loss_kd_bound'].item() > 0 and losses['loss_kd_fgd'].item() > 0
    (losses['loss_kd_bound'] + losses['loss_kd_fgd']).backward()
    assert model.student.bbox_head.retina_reg.weight.grad.abs().sum() > 0


def test_vlr_on_a_drawn_case():
    """One level of 16 x 16 anchors on a 4 x 4 grid (centres 8, 24, 40, 56); GT [16, 16, 48, 48].
    ATSS's 9 nearest anchors: the 4 inner ones (IoU 1/4) and 5 of the ring (IoU 0): threshold
    mean + std = 1/9 + 0.131762 = 0.242873; x 0.25 = 0.060718. The inner anchors' DIoU is
    1/4 - 128 / 2048 = 0.1875 (in), the ring's is negative (out). mmkd's 'score' rule leaves the
    positive (1, 1) out: the region is (1, 2), (2, 1), (2, 2)."""
    from mmengine.structures import InstanceData

    from mmkd.structures import diou, vlr_mask
    c = torch.tensor([8.0, 24.0, 40.0, 56.0])
    cy, cx = torch.meshgrid(c, c, indexing='ij')
    centres = torch.stack([cx.flatten(), cy.flatten()], dim=1)
    anchors = torch.cat([centres - 8, centres + 8], dim=1)
    gt = torch.tensor([[16.0, 16.0, 48.0, 48.0]])
    assert diou(anchors[5:6], gt).item() == pytest.approx(0.1875)
    pos = torch.zeros(16, dtype=torch.bool)
    pos[5] = True
    mask, weight = vlr_mask([anchors], [InstanceData(bboxes=gt)], pos)
    assert mask.nonzero().flatten().tolist() == [6, 9, 10]
    # the reference rule measures the inner anchors by intersection / anchor area: 1 - 0.0625,
    # above the threshold, so none of them is in its band
    mask, weight = vlr_mask([anchors], [InstanceData(bboxes=gt)], pos, mode='reference')
    assert not mask.any() and weight.abs().sum() == 0
    with pytest.raises(ValueError, match="vlr_mode='diou'"):
        vlr_mask([anchors], [InstanceData(bboxes=gt)], pos, mode='diou')


def test_reference_vlr_by_hand():
    """GT [0, 0, 32, 32] and three 32 x 32 anchors (ATSS takes all 3): A1 the GT itself (IoU 1),
    A2 [16, 0, 48, 32] (IoU 1/3), A3 [64, 0, 96, 32] (IoU 0). Threshold mean + std of [1, 1/3, 0]
    = 0.444444 + 0.509175 = 0.953620, band [0.238405, 0.953620). The reference distance of A2:
    intersection / anchor area 512 / 1024 = 0.5 minus 256 / (48^2 + 32^2) = 0.076923: 0.423077
    (the true DIoU is 1/3 - 0.076923 = 0.256410); A1's is 1 (out), A3's 0 - 64^2 / (96^2 + 32^2)
    = -0.4 (out). So the
    region is A2 alone, weight its IoU 1/3; A1 is a positive and would be in it if its
    distance were in the band."""
    from mmengine.structures import InstanceData

    from mmkd.structures import diou, reference_diou, vlr_mask
    gt = torch.tensor([[0.0, 0.0, 32.0, 32.0]])
    anchors = torch.tensor([[0.0, 0.0, 32.0, 32.0], [16.0, 0.0, 48.0, 32.0],
                            [64.0, 0.0, 96.0, 32.0]])
    assert reference_diou(anchors, gt).flatten().tolist() == pytest.approx(
        [1.0, 0.423077, -0.4], abs=1e-5)
    assert diou(anchors[1:2], gt).item() == pytest.approx(0.256410, abs=1e-5)
    pos = torch.tensor([True, False, False])
    mask, weight = vlr_mask([anchors], [InstanceData(bboxes=gt)], pos, mode='reference')
    assert mask.tolist() == [False, True, False]
    assert weight.tolist() == pytest.approx([0.0, 1 / 3, 0.0], abs=1e-6)
    empty, _ = vlr_mask([anchors], [InstanceData(bboxes=torch.zeros(0, 4))], pos,
                        mode='reference')
    assert not empty.any()


def test_vlr_and_positive_cls_rows(tmp_path):
    model = distiller(tmp_path, gfl_model(16), inputs=[
        's_vlr_bins', 't_vlr_bins', 'vlr_bin_weights', 'num_vlr', 's_pos_cls', 't_pos_cls',
        'num_pos'])
    model.student.load_state_dict(model.teacher.state_dict())
    model.eval()
    model.loss(*one_box_batch())
    s_vlr, t_vlr, w, num_vlr, s_cls, t_cls, num_pos = RowsProbe.seen[0]
    assert s_vlr.shape == t_vlr.shape == (4 * int(num_vlr), 17) and num_vlr > 0
    assert torch.equal(s_vlr, t_vlr) and w.shape == (4 * int(num_vlr),)
    assert s_cls.shape == t_cls.shape == (int(num_pos), 10) and torch.equal(s_cls, t_cls)


def test_none_in_inputs_passes_the_loss_default(tmp_path):
    """Classification KD at the positives with no weight and num_pos as avg_factor."""
    from mmkd.models.losses import LogitKDLoss
    model = distiller(tmp_path, gfl_model(16), inputs=['s_pos_cls', 't_pos_cls', 'num_pos'])
    model.kd_terms['probe'].inputs = ['s_pos_cls', 't_pos_cls', None, 'num_pos']
    model.kd_terms['probe'].loss = LogitKDLoss(temperature=2.0, use_sigmoid=False)
    model.train()
    inputs, samples = one_box_batch()
    value = model.loss(inputs, samples)['loss_kd_probe']
    model.kd_terms['probe'].inputs = ['s_pos_cls', 't_pos_cls', 'num_pos']
    model.kd_terms['probe'].loss = RowsProbe()
    RowsProbe.seen = []
    model.loss(inputs, samples)
    s_cls, t_cls, num_pos = RowsProbe.seen[0]
    by_hand = LogitKDLoss(temperature=2.0, use_sigmoid=False)(s_cls, t_cls, None, num_pos)
    assert value.item() == pytest.approx(by_hand.item(), rel=1e-4) and value.item() > 0


def test_continuous_teacher_with_several_anchors_uses_its_most_confident_one():
    """A RetinaNet teacher (9 anchors per location, zero deltas: each box is its anchor) whose
    anchor 4 (ratio 1, scale 3 * 2^(1/3): a square of side 8 * 3.78 = 30.24 px on P3) scores
    highest everywhere. Its centres are the GFL student's, so every edge is 15.12 px = 1.89
    strides away: 0.11 on bin 1, 0.89 on bin 2."""
    from mmkd.models.distillers.head_rows import bin_rows
    s_head = MODELS.build(dict(gfl_model(16).bbox_head, train_cfg=None))
    t_head = MODELS.build(dict(student_model().bbox_head, train_cfg=None))
    side = 8 * 3 * 2 ** (1 / 3)
    anchor = t_head.prior_generator.base_anchors[0][4]
    assert (anchor[2:] - anchor[:2]).tolist() == pytest.approx([side, side], rel=1e-5)
    sizes = [(4, 4), (2, 2), (1, 1), (1, 1), (1, 1)]
    s_cls = [torch.zeros(1, 10, h, w) for h, w in sizes]
    s_reg = [torch.zeros(1, 4 * 17, h, w) for h, w in sizes]
    t_reg = [torch.zeros(1, 9 * 4, h, w) for h, w in sizes]
    t_cls = [torch.zeros(1, 9 * 10, h, w) for h, w in sizes]
    for c in t_cls:
        c[:, 4 * 10:5 * 10] = 5.0  # anchor 4's ten classes
    pos = torch.zeros(16 + 4 + 3, dtype=torch.bool)
    pos[5] = True
    probs = bin_rows(s_head, t_head, s_reg, t_reg, s_cls, pos, t_cls)['t_pos_bins'].exp()
    frac = side / 2 / 8 - 1
    for edge in range(4):
        assert probs[edge, 1:3].tolist() == pytest.approx([1 - frac, frac], abs=1e-4)


def test_fcos_distances_in_stride_units_in_train_and_eval_mode():
    """mmdet's FCOS (norm_on_bbox) multiplies its distances by the stride in eval mode, which a
    frozen teacher is always in: the rows are in stride units either way."""
    head = MODELS.build(dict(fcos_model().bbox_head, train_cfg=None))
    torch.manual_seed(0)
    feats = [torch.randn(2, 32, s, s) for s in (16, 8, 4, 2, 2)]
    sizes = [f.shape[-2:] for f in feats]
    head.train()
    train_rows = family_of(head).regression(head(feats)[1], sizes)
    head.eval()
    eval_preds = head(feats)[1]
    assert torch.allclose(eval_preds[1], head.train()(feats)[1][1] * 16, atol=1e-5)
    head.eval()
    eval_rows = family_of(head).regression(eval_preds, sizes)
    for a, b in zip(train_rows, eval_rows):
        assert torch.allclose(a, b, atol=1e-5)


def test_per_level_mean_weights_by_hand():
    """Two images, levels of 3 and 2 priors; rows image-major (image 0: 0-2 level 0, 3-4 level 1;
    image 1: 5-7, 8-9). Positives 0, 3, 5, 6: level 0 has 3 (rows 0, 5, 6), level 1 has 1 (row
    3), so the weights are [1/3, 1, 1/3, 1/3] in the positives' order; a weighted sum of ones
    over the positives is 2, one mean per level summed."""
    from mmkd.models.distillers.head_rows import per_level_mean_weights
    labels = [torch.zeros(2, 3), torch.zeros(2, 2)]
    pos = torch.zeros(10, dtype=torch.bool)
    pos[[0, 3, 5, 6]] = True
    weights = per_level_mean_weights(labels, pos)
    assert weights.tolist() == pytest.approx([1 / 3, 1.0, 1 / 3, 1 / 3])
    assert weights.sum().item() == pytest.approx(2.0)


def test_every_dense_row_asked_alone_is_given_and_nothing_else(tmp_path):
    """The vocabulary's stages decide which blocks of ``dense_rows`` run: each dense-head name
    (stage ``targets``, not ``rcnn``) asked alone must come back, and alone. The teacher's
    outputs stand in for the cross head's (the same shapes)."""
    from mmkd.models.distillers.head_rows import dense_rows
    from mmkd.models.distillers.vocabulary import DETECTION
    model = distiller(tmp_path, gfl_model(16))
    model.eval()
    inputs, samples = one_box_batch()
    s_out = model.student.bbox_head(model.student.extract_feat(inputs))
    with torch.no_grad():
        t_out = model.teacher.bbox_head(model.teacher.extract_feat(inputs))
    gts = [s.gt_instances for s in samples]
    metas = [s.metainfo for s in samples]
    # the centerness rows need an ATSS / FCOS head (test_cross_head.py reads them)
    centerness = {'s_cross_pos_centerness', 't_pos_centerness', 'centerness_avg_factor'}
    names = [n for n, e in DETECTION.items() if 'targets' in e.stages and 'rcnn' not in e.stages
             and n not in centerness]
    assert {'num_vlr', 'pos_mask', 't_pos_bins', 's_vlr_bins'} <= set(names)
    for name in names:
        rows = dense_rows(model.student.bbox_head, model.teacher.bbox_head, s_out, t_out, gts,
                          metas, wants={name}, cross_out=t_out)
        assert name in rows, name
        extra = set(rows) - {name}
        assert all(name in ('s_vlr_bins', 't_vlr_bins', 'vlr_bin_weights', 'num_vlr',
                            's_pos_bins', 't_pos_bins', 'pos_bin_weights', 'pos_bin_avg_factor')
                   for name in extra), (name, extra)


@pytest.mark.parametrize('make', [student_model, gfl_model, fcos_model])
def test_the_reused_assignment_gives_the_rows_of_a_fresh_one(tmp_path, make):
    """The rows built from what the student head's own loss assigned (and the anchors it was
    given, before ATSS / GFL concatenate them in place) equal the rows of a second, fresh
    assignment: RetinaNet, GFL and FCOS students."""
    from mmkd.models.distillers.head_rows import dense_rows
    model = distiller(tmp_path, make())
    model.eval()
    inputs, samples = one_box_batch()
    with model.capture() as captured:
        model.student.loss(inputs, samples)
    assert captured['assigned']['out'] is not None
    head = model.student.bbox_head
    s_out = head(model.student.extract_feat(inputs))[:2]  # FCOS adds its centerness
    gts, metas = [s.gt_instances for s in samples], [s.metainfo for s in samples]
    wants = {'pos_mask', 'labels', 'bbox_targets', 'num_pos', 's_pos_reg', 'pos_reg_targets',
             'pos_reg_weights', 'cls_row_weights', 'cls_avg_factor'}
    reused = dense_rows(head, None, s_out, None, gts, metas, wants=wants,
                        assigned=captured['assigned'])
    fresh = dense_rows(head, None, s_out, None, gts, metas, wants=wants)
    assert set(reused) == set(fresh) == wants
    for name in wants:
        a, b = reused[name], fresh[name]
        if isinstance(a, list):
            assert all(torch.equal(x, y) for x, y in zip(a, b)), name
        elif torch.is_tensor(a):
            assert torch.equal(a, b), name
        else:
            assert a == b, name
    assert reused['num_pos'] >= 1 and bool(torch.cat(reused['pos_mask'], 1).any())


@pytest.mark.parametrize('make', [student_model, gfl_model])
def test_one_branch_of_the_head_is_what_the_whole_head_gives(make):
    """RetinaNet and GFL heads: the classification branch alone and the regression branch
    alone equal the whole head's outputs; the other is None."""
    from mmkd.models.distillers.build import build_model
    from mmkd.models.distillers.head_rows import head_branches
    torch.manual_seed(0)
    model = build_model(make(), 'mmdet').eval()
    inputs, _ = one_box_batch()
    with torch.no_grad():
        feats = model.extract_feat(inputs)
        whole = model.bbox_head(feats)
        cls, none = head_branches(model.bbox_head, feats, cls=True, reg=False)
        none2, reg = head_branches(model.bbox_head, feats, cls=False, reg=True)
    assert none is None and none2 is None
    assert all(torch.equal(a, b) for a, b in zip(cls, whole[0]))
    assert all(torch.equal(a, b) for a, b in zip(reg, whole[1]))


def test_an_ld_term_runs_only_the_gfl_teachers_box_branch(tmp_path):
    """LD's main term reads the teacher's box bins only: the GFL teacher's classification tower
    does not run (its convs see no input), and the LD rows are those of the whole head."""
    model = distiller(tmp_path, gfl_model(16), inputs=['s_pos_bins', 't_pos_bins'])
    assert model.teacher_branches() == (False, True)
    ran = []
    model.teacher.bbox_head.cls_convs[0].register_forward_hook(lambda *a: ran.append(1))
    model.eval()
    model.loss(*one_box_batch())
    assert ran == []
    bins_alone = RowsProbe.seen[-1][1]
    both = distiller(tmp_path, gfl_model(16), inputs=['s_pos_bins', 't_pos_bins', 't_cls_rows'])
    assert both.teacher_branches() == (True, True)
    both.eval()
    both.loss(*one_box_batch())
    assert torch.equal(RowsProbe.seen[-1][1], bins_alone)
