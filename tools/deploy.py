"""Export a student to ONNX with MMDeploy and check it against PyTorch in onnxruntime.

    python tools/deploy.py CONFIG CHECKPOINT OUT_DIR --image IMG [IMG ...] [--shape H W]

CONFIG is a distill config (its student is exported first, as tools/export_student.py does) or a
plain mmdet / mmseg config. Writes OUT_DIR/end2end.onnx, OUT_DIR/deploy_config.py (the MMDeploy
config, for mmdeploy's own tools and SDK) and OUT_DIR/check.json: for every image, how the
onnxruntime predictions differ from PyTorch's on the same preprocessed input. Exits with status 1
when they differ by more than the tolerance (docs/deploy.md).
"""
import argparse
import json
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

import mmkd  # noqa: E402,F401
from mmkd import deploy  # noqa: E402

#: the agreement the check asks for: every detection scoring >= --min-score paired with IoU >=
#: MIN_IOU and a score within SCORE_TOL; masks equal on at least MASK_AGREEMENT of the pixels
MIN_IOU, SCORE_TOL, MASK_AGREEMENT, MIN_SCORE = 0.99, 1e-4, 0.9999, 0.05


def check(exported, images, min_score=MIN_SCORE):
    """Runs ``exported`` (what :func:`mmkd.deploy.export_onnx` returns) on ``images`` in PyTorch
    and onnxruntime. Returns ``(rows, ok)``: one dict of figures per image, and whether all are
    within the tolerance."""
    torch_out, onnx_out = deploy.predictions(exported['model_cfg'], exported['checkpoint'],
                                             exported['deploy_cfg'], exported['onnx'], images)
    detection = deploy.task_of(exported['model_cfg'])[0] == 'mmdet'
    rows, ok = [], True
    for image, t, o in zip(images, torch_out, onnx_out):
        if detection:
            row = dict(deploy.compare_detections(t, o, MIN_IOU, min_score), min_score=min_score)
            row_ok = row['matched'] == 1.0 and row['max_score_diff'] <= SCORE_TOL
        else:
            row = dict(mask_agreement=deploy.compare_masks(t, o))
            row_ok = row['mask_agreement'] >= MASK_AGREEMENT
        rows.append(dict(image=image, ok=row_ok, **row))
        ok = ok and row_ok
    return rows, ok


def describe(row):
    if 'mask_agreement' in row:
        return f"pixels equal {row['mask_agreement']:.6f} (need >= {MASK_AGREEMENT})"
    return (f"detections torch/onnx {row['count'][0]}/{row['count'][1]}, matched "
            f"{row['matched']:.4f} of those scoring >= {row['min_score']:g} (IoU >= {MIN_IOU}, "
            f"same label; need 1), {row['matched_all']:.4f} of all; max score diff "
            f"{row['max_score_diff']:.2e} (need <= {SCORE_TOL:g})")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('config', help='a distill config or a plain mmdet / mmseg config')
    parser.add_argument('checkpoint', help='the config\'s checkpoint (a distill run\'s, or the '
                        'student.pth tools/export_student.py wrote)')
    parser.add_argument('out_dir', help='where end2end.onnx, deploy_config.py and check.json go')
    parser.add_argument('--image', nargs='+', required=True,
                        help='images to trace the export with (the first) and to check on')
    parser.add_argument('--shape', nargs=2, type=int, metavar=('H', 'W'),
                        help='a static input size; by default batch, height and width are '
                        'dynamic')
    parser.add_argument('--min-score', type=float, default=MIN_SCORE,
                        help='detections scoring below this need not match (default: '
                        f'%(default)s; docs/deploy.md says why)')
    args = parser.parse_args(argv)
    for image in args.image:
        if not osp.isfile(image):
            parser.error(f'--image {image}: no such file')
    exported = deploy.export_onnx(args.config, args.checkpoint, args.out_dir, args.image[0],
                                  args.shape)
    rows, ok = check(exported, args.image, args.min_score)
    for row in rows:
        print(f"[deploy] {'ok  ' if row['ok'] else 'FAIL'} {osp.basename(row['image'])}: "
              f'{describe(row)}')
    with open(osp.join(args.out_dir, 'check.json'), 'w') as f:
        json.dump(dict(onnx=exported['onnx'], checkpoint=exported['checkpoint'], ok=ok,
                       images=rows), f, indent=1)
    print(f"wrote {exported['onnx']}\nwrote {osp.join(args.out_dir, 'deploy_config.py')}\n"
          f"wrote {osp.join(args.out_dir, 'check.json')}")
    if not ok:
        print('[deploy] onnxruntime differs from PyTorch beyond the tolerance (docs/deploy.md)')
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main())
