from setuptools import find_packages, setup

setup(
    name='mmkd',
    version='0.1.0',
    description='Knowledge distillation for mmdet 3.x detectors and mmseg 1.x segmentors',
    long_description=open('README.md', encoding='utf-8').read(),
    long_description_content_type='text/markdown',
    packages=find_packages(include=['mmkd', 'mmkd.*']),
    # configs and tools under mmkd/.mim, as OpenMMLab packages ship them: `mmkd::<path>` names a
    # config and `mim train mmkd` finds tools/train.py (links in the repo, files in a wheel)
    package_data={'mmkd': ['.mim/model-index.yml', '.mim/configs/**/*.py', '.mim/configs/**/*.md',
                           '.mim/configs/**/*.json', '.mim/configs/**/*.txt',
                           '.mim/tools/**/*.py', '.mim/tools/**/*.sh']},
    python_requires='>=3.9',
    # The exact stack (torch, mmcv with ops) is installed by tools/setup_env.sh; these are the
    # ranges `import mmkd` accepts (mmkd/version_check.py).
    install_requires=[
        'mmengine>=0.10.0,<0.11',
        'mmdet>=3.0.0,<3.4',
        'numpy<2',
    ],
    extras_require={
        # pytest-xdist: `make test` runs the tests in 2 processes
        'tests': ['pytest', 'pytest-xdist==3.8.0', 'scikit-learn', 'pycocotools',
                  'mmrazor==1.0.0',
                  'mmdeploy==1.3.1', 'onnxruntime==1.26.0', 'onnx==1.17.0',
                  'tensorboard==2.20.0', 'openmim==0.3.9'],
        # tools/deploy.py: ONNX export with MMDeploy, checked against onnxruntime
        'deploy': ['mmdeploy==1.3.1', 'onnxruntime==1.26.0', 'onnx==1.17.0'],
        # the TensorBoard backend of the KD runtime (configs/_base_/kd_runtime.py)
        'tensorboard': ['tensorboard==2.20.0'],
        'seg': ['mmsegmentation>=1.0.0,<1.3'],
        'demo': ['scikit-learn'],
    },
    license='Apache-2.0',
)
