"""Packaging for pyNN_sparsehw.

Two things are special:

* The chip models live in the top-level folder ``models/`` of the repository and
  are installed as package data of the subpackage ``pyNN_sparsehw.models``
  (``importlib.resources.files("pyNN_sparsehw.models")``). ``models/__init__.py``
  is empty and must stay: without it a plain install still works (namespace
  portion), but ``pip install -e .`` cannot resolve ``pyNN_sparsehw.models``
  (setuptools' editable finder only maps folders that have an ``__init__.py``).
  Note that ``files()`` lists ``__init__.py`` too: glob for ``*.toml``.

* ``import pyNN.sparsehw`` must work without writing into PyNN's installed files.
  The top-level module ``_pyNN_sparsehw_alias`` registers an import alias, and
  ``pyNN_sparsehw.pth`` (one line: ``import _pyNN_sparsehw_alias``) makes the
  interpreter import it at start-up. A ``.pth`` file is only read from the root of
  site-packages, so ``build_py`` below copies it to the root of ``build_lib``,
  from where it goes into the wheel's root and then into site-packages.

  ``pip install -e .`` works too (see ``build_py_with_pth``), but the Makefile
  installs non-editable so that the packaging itself is exercised.
"""

import os

from setuptools import find_packages, setup
from setuptools.command.build_py import build_py

HERE = os.path.dirname(os.path.abspath(__file__))
PTH_NAME = "pyNN_sparsehw.pth"


class build_py_with_pth(build_py):
    """build_py that also puts ``pyNN_sparsehw.pth`` at the root of the wheel.

    Normal builds (``pip install .``, ``pip wheel .``): the wheel is made from
    ``build_lib``, so the file goes to the root of ``build_lib``.

    Editable builds (``pip install -e .``, setuptools >= 64, PEP 660): setuptools
    ignores what build_py puts in ``build_lib`` and maps the modules to the source
    tree instead; everything that must be a real file in site-packages is written
    to the unpacked editable wheel, which is ``install_lib`` of the ``install``
    command that ``editable_wheel`` configured. The ``.pth`` goes there.
    """

    def _pth_target_dir(self):
        if getattr(self, "editable_mode", False):
            return self.get_finalized_command("install").install_lib
        return self.build_lib

    def run(self):
        super().run()
        self.mkpath(self._pth_target_dir())
        self.copy_file(os.path.join(HERE, PTH_NAME),
                       os.path.join(self._pth_target_dir(), PTH_NAME),
                       preserve_mode=False)

    def get_outputs(self, include_bytecode=1):
        outputs = list(super().get_outputs(include_bytecode))
        if not getattr(self, "editable_mode", False):
            outputs.append(os.path.join(self.build_lib, PTH_NAME))
        return outputs

    def get_source_files(self):
        return list(super().get_source_files()) + [PTH_NAME]


packages = find_packages(include=["pyNN_sparsehw", "pyNN_sparsehw.*"])
if "pyNN_sparsehw.models" not in packages:
    packages.append("pyNN_sparsehw.models")

setup(
    name="pyNN_sparsehw",
    version="0.1.0",
    description=("PyNN backend that runs PyNN scripts on a modelled neuromorphic "
                 "chip (quantization, mismatch, sparse synaptic memory, energy), "
                 "simulated with Brian2"),
    python_requires=">=3.10",
    packages=packages,
    package_dir={"pyNN_sparsehw.models": "models"},
    package_data={"pyNN_sparsehw.models": ["*.toml"]},
    py_modules=["_pyNN_sparsehw_alias"],
    install_requires=[
        "PyNN==0.13.0",
        "brian2>=2.9,<3",
        'numpy<2.4; python_version<"3.12"',
        'numpy; python_version>="3.12"',
        "neo",
        "quantities",
        "lazyarray",
        "scipy",
        "matplotlib",
        "tqdm",
        "scikit-learn",      # the bundled 8x8 digits of the training demo
        'tomli; python_version<"3.11"',
    ],
    extras_require={
        # training through time (PyTorch, CPU); pin torch in constraints.txt: an
        # unpinned torch pulls a CUDA build of several GB
        "train": ["torch>=2.2,<3"],
        # chip-instance sweeps on dask.distributed
        "sweep": ["dask[distributed]>=2024.1", "distributed>=2024.1", "dask-jobqueue>=0.8"],
        # the Neuromorphic Intermediate Representation
        "nir": ["nir>=1.0.5,<2", "h5py>=3.8"],
        # numpy-style docstrings are read by sphinx.ext.napoleon (built into Sphinx)
        "docs": ["sphinx>=7"],
        "test": ["pytest>=7", "pytest-timeout>=2", "pytest-xdist>=3", "nest-simulator>=3.8", "elephant>=1.0",
                 "snntorch>=0.9", "torch>=2.2,<3", "dask[distributed]>=2024.1",
                 "distributed>=2024.1", "nir>=1.0.5,<2", "h5py>=3.8",
                 # snnTorch's export_to_nir needs it (tests/test_nir.py)
                 "nirtorch>=2.6,<3"],
        "reference": ["nest-simulator>=3.8", "neuron>=9"],
    },
    entry_points={"console_scripts": ["sparsehw = pyNN_sparsehw.cli:main"]},
    cmdclass={"build_py": build_py_with_pth},
    zip_safe=False,
)
