"""Sphinx configuration of the pyNN_sparsehw documentation.

Build with ``make docs`` (installs the package with its ``docs`` extra into .venv,
then ``sphinx-build -W --keep-going -b html docs docs/_build/html``). The API pages
import the *installed* package; the chip model key tables are generated at build
time from ``models/*.toml`` by ``_ext/chip_models_ext.py``.
"""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "_ext"))

project = "pyNN_sparsehw"
author = "the pyNN_sparsehw developers"
copyright = "the pyNN_sparsehw developers"
release = "0.1.0"

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.mathjax",
    "chip_models_ext",
    "command_help_ext",
]

exclude_patterns = ["_build", "_ext"]
chip_models_dir = "../models"

# numpy-style docstrings; the Parameters/Returns sections are rendered, not parsed
# into type cross-references (many types in our docstrings are prose: "array of float").
napoleon_google_docstring = False
napoleon_numpy_docstring = True
napoleon_use_param = True
napoleon_use_rtype = False
napoleon_use_ivar = True
napoleon_preprocess_types = False

autodoc_default_options = {"members": True}
autodoc_member_order = "bysource"
autodoc_typehints = "none"

html_theme = "alabaster"
html_title = "pyNN_sparsehw"
html_theme_options = {
    "description": "PyNN scripts on a modelled neuromorphic chip",
    "page_width": "1300px",
    "sidebar_width": "230px",
    "body_max_width": "none",
}
html_static_path = ["_static"]
html_css_files = ["custom.css"]
