"""Export the student of a distiller checkpoint as a plain mmdet / mmseg checkpoint and config.

    python tools/export_student.py CONFIG CHECKPOINT OUT_DIR

writes OUT_DIR/student.pth and OUT_DIR/student_config.py; mmdet's ``init_detector`` (mmseg's
``init_model``) and runner load them with no mmkd import.
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

import mmkd  # noqa: E402,F401
from mmkd.apis import export_student  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('config', help='the distill config')
    parser.add_argument('checkpoint', help='a checkpoint the distill run wrote')
    parser.add_argument('out_dir', help='where to write student.pth and student_config.py')
    parser.add_argument('--teacher', action='store_true', help='export the teacher instead')
    parser.add_argument('--member', help='a mutual-learning config: the member to export '
                        '(default: the first); writes <member>.pth and <member>_config.py')
    args = parser.parse_args(argv)
    cfg_path, ckpt_path = export_student(args.config, args.checkpoint, args.out_dir,
                                         args.teacher, args.member)
    print(f'wrote {ckpt_path}\nwrote {cfg_path}')


if __name__ == '__main__':
    main()
