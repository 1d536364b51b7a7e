"""Sphinx configuration of the sklearn-lrf documentation."""

import os

import sklearn_lrf

os.environ.setdefault("MPLBACKEND", "Agg")

project = "sklearn-lrf"
author = "the sklearn-lrf developers"
copyright = "2026, the sklearn-lrf developers"
release = sklearn_lrf.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx-mathjax-offline",  # MathJax from the build's own _static: math renders offline
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]

autosummary_generate = True
templates_path = ["_templates"]
autodoc_default_options = {"members": True, "inherited-members": False}
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
exclude_patterns = ["_build", "auto_examples/*.ipynb", "auto_examples/*.py"]

sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": "/plot_",
    "abort_on_example_error": True,
    "within_subsection_order": "FileNameSortKey",
    "download_all_examples": False,
    "show_memory": False,
    "remove_config_comments": True,
    # The timing pages load their table scripts from a CDN; the docs must read offline.
    "write_computation_times": False,
}

html_theme = "pydata_sphinx_theme"
html_title = "sklearn-lrf"
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    # The benchmark tables are 180 columns wide: that page gives them the whole width.
    "secondary_sidebar_items": {"**": ["page-toc", "sourcelink"], "benchmarks": []},
}
# No left sidebar: the top bar holds the four sections, the gallery index and each example's
# previous/next links the examples, and the page width goes to code, outputs and figures.
html_sidebars = {"**": []}
html_static_path = ["_static"]
html_css_files = ["custom.css"]
