"""Package definition for colt_det (COLT pruning for MMDetection/MMEngine)."""
import os
import shutil

from setuptools import find_packages, setup
from setuptools.command.build_py import build_py


def read_version() -> str:
    namespace: dict = {}
    with open('colt_det/version.py', encoding='utf-8') as f:
        exec(f.read(), namespace)
    return namespace['__version__']


class BuildWithConfigs(build_py):
    """Ship ``configs/`` inside the package as ``colt_det/.mim/configs``, the way MMDetection
    ships its own (``mmdet/.mim/configs``): an installed user runs ``colt-train
    colt_det::colt_faster_rcnn_voc.py`` and inherits ``colt_det::_base_/...`` in their configs.
    Only the build copy gets them; the source tree is left alone."""

    def run(self) -> None:
        super().run()
        mim = os.path.join(self.build_lib, 'colt_det', '.mim')
        shutil.rmtree(mim, ignore_errors=True)
        shutil.copytree('configs', os.path.join(mim, 'configs'),
                        ignore=shutil.ignore_patterns('__pycache__'))
        # MMEngine looks a 'pkg::' config up in this index first (no model zoo here)
        with open(os.path.join(mim, 'model-index.yml'), 'w') as f:
            f.write('Import: []\n')


COMMANDS = {
    'colt-train': 'colt_det.cli.train:main',
    'colt-test': 'colt_det.cli.test:main',
    'colt-export': 'colt_det.cli.export:main',
    'colt-compare': 'colt_det.cli.compare:main',
    'colt-eval-series': 'colt_det.cli.eval_series:main',
}

setup(
    name='colt_det',
    version=read_version(),
    description='COLT: Cyclic Overlapping Lottery Tickets for pruning detectors '
    'and classifiers, on MMEngine / MMDetection',
    packages=find_packages(exclude=('tests', 'tests.*', 'configs', 'tools', 'benchmarks',
                                    'benchmarks.*')),
    python_requires='>=3.9',
    # The exact, tested pins live in requirements.txt; mmcv is built by tools/setup_env.sh.
    install_requires=['torch', 'torchvision', 'mmengine', 'mmdet', 'mmcv', 'safetensors',
                      'torch-pruning'],
    cmdclass={'build_py': BuildWithConfigs},
    entry_points={'console_scripts': [f'{name} = {target}' for name, target in COMMANDS.items()]},
)
