"""tools/deploy.py and mmkd/deploy.py: a student exported to ONNX with MMDeploy gives PyTorch's
detections and masks in onnxruntime."""
import glob
import json
import os.path as osp

import mmcv
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from mmengine.config import Config

from mmkd import deploy
from mmkd.models.distillers.build import build_model
from tests.helpers import DISTILL_CFG, STUDENT_CFG
from tools import deploy as deploy_tool

pytest.importorskip('mmdeploy')
pytest.importorskip('onnxruntime')

SEG_STUDENT_CFG = osp.join(osp.dirname(DISTILL_CFG),
                           'pspnet_r18-w8-d8_1.6k_mmkd-demo-student.py')


def test_bin_average_matrix_by_hand():
    # 5 positions in 2 bins: bin 0 spans floor(0) .. ceil(2.5) - 1 = 0..2, bin 1 spans
    # floor(2.5) .. ceil(5) - 1 = 2..4 (position 2 is in both, as in torch's adaptive pooling)
    third = 1 / 3
    expected = torch.tensor([[third, third, third, 0, 0], [0, 0, third, third, third]])
    assert torch.allclose(deploy.bin_average_matrix(5, 2, torch.zeros(1)), expected)


@pytest.mark.parametrize('size', [(20, 20), (17, 23), (7, 5), (6, 6)])
@pytest.mark.parametrize('bins', [1, 2, 3, 6, (2, 3)])
def test_adaptive_avg_pool2d_exact_equals_torch(size, bins):
    x = torch.randn(2, 3, *size, generator=torch.Generator().manual_seed(0))
    ours = deploy.adaptive_avg_pool2d_exact(x, bins)
    assert torch.allclose(ours, F.adaptive_avg_pool2d(x, bins), atol=1e-6)


def test_box_iou_and_compare_by_hand():
    from mmengine.structures import InstanceData
    from mmdet.structures import DetDataSample
    # [0,0,2,2] and [1,1,3,3] overlap in a 1x1 square: IoU 1 / (4 + 4 - 1)
    iou = deploy.box_iou(np.array([[0., 0, 2, 2]]), np.array([[1., 1, 3, 3], [0, 0, 2, 2]]))
    assert np.allclose(iou, [[1 / 7, 1.0]])

    def sample(boxes, scores, labels):
        s = DetDataSample()
        s.pred_instances = InstanceData(bboxes=torch.tensor(boxes), scores=torch.tensor(scores),
                                        labels=torch.tensor(labels))
        return s
    t = sample([[0., 0, 2, 2], [5, 5, 9, 9]], [0.9, 0.5], [1, 2])
    # the same two boxes in the other order, one score off by 0.01, and a third box
    o = sample([[5., 5, 9, 9], [0, 0, 2, 2], [1, 1, 3, 3]], [0.5, 0.91, 0.3], [2, 1, 1])
    row = deploy.compare_detections(t, o)
    assert row['count'] == (2, 3)
    assert row['matched'] == row['matched_all'] == pytest.approx(4 / 5)  # 2 of 2, 2 of 3
    assert row['max_score_diff'] == pytest.approx(0.01, abs=1e-6)
    # with a floor of 0.4 the unmatched 0.3 box no longer counts: all 4 above it are matched
    floor = deploy.compare_detections(t, o, min_score=0.4)
    assert floor['matched'] == 1.0 and floor['matched_all'] == pytest.approx(4 / 5)
    # a floor of 0.6 leaves torch's 0.9 box and onnx's 0.91 box, a matched pair
    assert deploy.compare_detections(t, o, min_score=0.6)['matched'] == 1.0
    # an unmatched box above the floor counts: onnx's 0.3 box is scored 0.7 here
    o3 = sample([[5., 5, 9, 9], [0, 0, 2, 2], [1, 1, 3, 3]], [0.5, 0.91, 0.7], [2, 1, 1])
    assert deploy.compare_detections(t, o3, min_score=0.6)['matched'] == pytest.approx(2 / 3)
    # the same box with another label is no match
    o2 = sample([[0., 0, 2, 2], [5, 5, 9, 9]], [0.9, 0.5], [3, 2])
    assert deploy.compare_detections(t, o2)['matched'] == pytest.approx(2 / 4)


def val_images(demo_data, n=2):
    return sorted(glob.glob(osp.join(demo_data, 'leftImg8bit/val/demo/*.png')))[:n]


def odd_image(demo_data, tmp_path, height=136, width=200):
    """A val image resized to a size the export was not traced with."""
    path = str(tmp_path / 'odd.png')
    mmcv.imwrite(mmcv.imresize(mmcv.imread(val_images(demo_data, 1)[0]), (width, height)), path)
    return path


@pytest.fixture(scope='module')
def distiller_ckpt(teacher_ckpt, tmp_path_factory):
    """A distiller checkpoint of the demo distill config (seeded random weights) whose student
    classifier scores are spread out: with the prior bias every score is 0.01, and ties come out
    of the two NMS implementations in different orders."""
    cfg = Config.fromfile(DISTILL_CFG)
    cfg.model.teacher.checkpoint = teacher_ckpt
    torch.manual_seed(0)
    model = build_model(cfg.model, 'mmdet')
    cls = model.student.bbox_head.retina_cls
    gen = torch.Generator().manual_seed(1)
    with torch.no_grad():
        cls.weight.copy_(torch.randn(cls.weight.shape, generator=gen) * 0.05)
        cls.bias.copy_(torch.randn(cls.bias.shape, generator=gen) - 3.0)
    path = str(tmp_path_factory.mktemp('distiller') / 'distiller.pth')
    torch.save(dict(state_dict=model.state_dict()), path)
    return path


@pytest.mark.heavy
def test_detection_student_onnx_matches_pytorch(distiller_ckpt, demo_data, tmp_path):
    """The distill config's student, exported from a distiller checkpoint: onnxruntime finds the
    detections PyTorch finds, on the traced size and on another (dynamic axes)."""
    images = val_images(demo_data) + [odd_image(demo_data, tmp_path)]
    out = str(tmp_path / 'det')
    assert deploy_tool.main([DISTILL_CFG, distiller_ckpt, out, '--image', *images]) == 0
    with open(osp.join(out, 'check.json')) as f:
        result = json.load(f)
    assert result['ok'] and len(result['images']) == 3
    for row in result['images']:
        assert row['count'][0] == row['count'][1] > 10
        assert row['matched'] == 1.0
        assert row['max_score_diff'] < 1e-5
    # the config mmdeploy's own tools take, with the student's test_cfg as its post-processing
    dep = Config.fromfile(osp.join(out, 'deploy_config.py'))
    test_cfg = Config.fromfile(osp.join(out, 'student_config.py')).model.test_cfg
    assert dep.codebase_config.post_processing.score_threshold == test_cfg.score_thr
    assert dep.codebase_config.post_processing.keep_top_k == test_cfg.max_per_img


def seg_student_ckpt(tmp_path):
    """The PSPNet demo student with seeded random weights and a classifier of N(0, 1) weights:
    with its default init it predicts one class everywhere."""
    torch.manual_seed(0)
    model = build_model(Config.fromfile(SEG_STUDENT_CFG).model, 'mmseg')
    with torch.no_grad():
        model.decode_head.conv_seg.weight.normal_(0, 1)
    path = str(tmp_path / 'student.pth')
    torch.save(dict(state_dict=model.state_dict()), path)
    return path


@pytest.mark.heavy
def test_segmentation_student_onnx_matches_pytorch(demo_data, tmp_path):
    """The PSPNet demo student (20 x 20 features: its 3 and 6 pooling bins do not divide them)
    gives PyTorch's masks in onnxruntime, on the traced size and on another."""
    ckpt = seg_student_ckpt(tmp_path)
    images = val_images(demo_data) + [odd_image(demo_data, tmp_path)]
    out = str(tmp_path / 'seg')
    exported = deploy.export_onnx(SEG_STUDENT_CFG, ckpt, out, images[0])
    torch_out, onnx_out = deploy.predictions(exported['model_cfg'], exported['checkpoint'],
                                             exported['deploy_cfg'], exported['onnx'], images)
    for t, o in zip(torch_out, onnx_out):
        assert t.pred_sem_seg.data.shape == o.pred_sem_seg.data.shape
        assert deploy.compare_masks(t, o) >= 0.9999
    # the student predicts several classes, so equal masks say something
    assert all(len(torch.unique(t.pred_sem_seg.data)) >= 3 for t in torch_out)


@pytest.mark.heavy
def test_static_shape_export(demo_data, tmp_path):
    ckpt = seg_student_ckpt(tmp_path)
    out = str(tmp_path / 'static')
    images = val_images(demo_data, 1)
    assert deploy_tool.main([SEG_STUDENT_CFG, ckpt, out, '--image', *images,
                             '--shape', '160', '160']) == 0
    import onnx
    dims = onnx.load(osp.join(out, 'end2end.onnx')).graph.input[0].type.tensor_type.shape.dim
    assert [d.dim_value for d in dims] == [1, 3, 160, 160]


def test_mismatched_checkpoint_is_named(teacher_ckpt, demo_data, tmp_path):
    """The full-width teacher's weights given for the narrow student: a clear error, not a
    random model (mmdeploy's own loading only warns)."""
    with pytest.raises(ValueError, match='does not fit the model of the config') as err:
        deploy.export_onnx(STUDENT_CFG, teacher_ckpt, str(tmp_path), val_images(demo_data, 1)[0])
    assert 'shape mismatches' in str(err.value) and teacher_ckpt in str(err.value)


def test_bad_inputs(tmp_path):
    with pytest.raises(SystemExit):
        deploy_tool.main([STUDENT_CFG, 'x.pth', str(tmp_path), '--image', 'no_such.png'])
    with pytest.raises(ValueError, match='default_scope'):
        deploy.task_of(Config(dict(default_scope='mmpretrain')))
