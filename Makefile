# Two commands: `make demo` and `make test`. Each sets up .venv first (tools/setup_env.sh is
# idempotent: a second run only checks the stack).
PY := .venv/bin/python

.PHONY: setup demo demo-seg benchmark benchmark-seg benchmark-methods test
setup:
	bash tools/setup_env.sh

demo: setup
	$(PY) tools/demo.py

demo-seg: setup
	$(PY) tools/demo.py --task segmentation

# The demo pair on 3 seeds with the benchmark protocol (about 75 minutes; needs the teacher of
# `make demo`; stop and run again to resume).
benchmark: setup
	$(PY) tools/dataset/make_demo_data.py
	$(PY) tools/analysis/kd_benchmark.py configs/demo/retinanet_r18-narrow_fpn_48e_mmkd-demo-student.py \
		configs/demo/hint-poskd_retinanet-r18-narrow_retinanet-r18_48e_mmkd-demo-student.py \
		--seeds 0 1 2 --max-factor 2

# The segmentation demo pair the same way (needs the teacher of `make demo-seg`).
benchmark-seg: setup
	$(PY) tools/dataset/make_demo_data.py
	$(PY) tools/analysis/kd_benchmark.py configs/demo/pspnet_r18-w8-d8_1.6k_mmkd-demo-student.py \
		configs/cwd/cwd_pspnet-r18-w8_pspnet-r18-w16_1.6k_mmkd-demo-student.py \
		--seeds 0 1 2 --max-factor 2 --match-step 1/8

# Every method's demo config on the benchmark pairs, with the weights tried for each
# (configs/demo/benchmark_queue.txt; several hours; resumable; needs the teachers of `make demo`).
benchmark-methods: setup
	$(PY) tools/dataset/make_demo_data.py
	$(PY) tools/analysis/benchmark_queue.py configs/demo/benchmark_queue.txt \
		--record configs/demo/benchmark_queue_results.json

test: setup
	$(PY) -m pytest tests -q -p no:cacheprovider -n 2 --durations=40
