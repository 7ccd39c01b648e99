"""Runs an OpenMMLab tool (mmdet's or mmseg's ``tools/train.py``) as one process of a
``torch.distributed.run`` launch on a machine without CUDA.

    python -m torch.distributed.run --nproc_per_node 2 tests/launch_cpu.py TOOL CONFIG \\
        --launcher pytorch [tool options]

MMEngine 0.10.7's pytorch launcher calls ``torch.cuda.set_device``, which a CPU build of torch
cannot do; on a GPU machine it joins the group itself. Here the gloo group is joined first, and
MMEngine's runner, finding it initialised, uses it. Nothing else changes: the script, the config
and the model wrapper it names are the tool's and the config's.
"""
import runpy
import sys

import torch.distributed as dist

if __name__ == '__main__':
    dist.init_process_group('gloo')
    script = sys.argv[1]
    sys.argv = sys.argv[1:]
    runpy.run_path(script, run_name='__main__')
