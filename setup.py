"""The one compiled part of the package: the sequencer's per-row work in C (issue 15).

``optional``: without a compiler or OpenSSL's headers the install goes on and the sequencer uses
the same code in Python (engine/audit/fast_canonical.py, engine/audit/sequencer.py), slower.
Everything else is configured in pyproject.toml.
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "engine.audit._speedups",
            ["engine/audit/_speedups.c"],
            libraries=["crypto"],
            optional=True,
        )
    ]
)
