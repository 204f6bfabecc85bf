"""Package definition for colt_det (COLT pruning for MMDetection/MMEngine)."""
from setuptools import find_packages, setup


def read_version() -> str:
    namespace: dict = {}
    with open('colt_det/version.py', encoding='utf-8') as f:
        exec(f.read(), namespace)
    return namespace['__version__']


setup(
    name='colt_det',
    version=read_version(),
    description='COLT: Cyclic Overlapping Lottery Tickets for pruning detectors '
    'and classifiers, on MMEngine / MMDetection',
    packages=find_packages(exclude=('tests', 'configs', 'tools', 'benchmarks')),
    python_requires='>=3.9',
    # The exact, tested pins live in requirements.txt; mmcv is built by tools/setup_env.sh.
    install_requires=['torch', 'torchvision', 'mmengine', 'mmdet', 'mmcv', 'safetensors',
                      'torch-pruning'],
    entry_points={'console_scripts': ['colt-train = colt_det.train:main']},
)
