"""Optional compiled build of the per-step modules.

The modules listed in ``gait/core/compiled.py`` are plain Python. When Cython and a C compiler are there at
install time they are also compiled to extension modules, which Python imports in place of the
source; anywhere else (no compiler, ``GAIT_PURE_PYTHON=1`` at install) the package installs and
runs as pure Python. Compiled and interpreted modules give the same records bit for bit
(``tests/test_compiled.py``): the C code does the same IEEE double operations in the same order,
and floating-point contraction (fused multiply-add) is turned off. One exception, on purpose: the
foot's rotation products (``gait/dsp/rotation_chains.py``) are formed one sample after the other
compiled and as a tree in NumPy, so foot records agree to their last digits only.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

from setuptools import setup
from setuptools.command.build_ext import build_ext


def _compiled_modules():
    """The list lives with the import guard (gait/core/compiled.py), read without importing gait."""
    spec = importlib.util.spec_from_file_location("_gait_compiled", Path(__file__).parent / "gait/core/compiled.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.COMPILED_MODULES, module.SIDECAR_SUFFIX, module.source_digest, module.pure_python_requested


COMPILED, SIDECAR_SUFFIX, source_digest, pure_python_requested = _compiled_modules()


def _extensions() -> list:
    if pure_python_requested():
        return []
    try:
        from Cython.Build import cythonize
    except ImportError:
        print("gait-form: Cython is not installed; installing pure Python", file=sys.stderr)
        return []
    from setuptools import Extension

    flags = [] if sys.platform == "win32" else ["-O2", "-ffp-contract=off"]
    exts = [
        Extension(name, [name.replace(".", "/") + ".py"], extra_compile_args=flags, optional=True) for name in COMPILED
    ]
    built = []
    for ext in exts:  # one at a time: a module Cython cannot translate stays pure Python
        try:
            built += cythonize(
                [ext],
                language_level=3,
                quiet=True,
                # keep Python's semantics: introspectable functions, checked division; the annotations
                # of the .py files are documentation, C types come from the .pxd files beside them only
                compiler_directives={"binding": True, "cdivision": False, "annotation_typing": False},
            )
        except Exception as exc:
            print(f"gait-form: {ext.name} not translated ({exc}); it runs as pure Python", file=sys.stderr)
    return built


class OptionalBuildExt(build_ext):
    """Builds what it can; an extension that fails to compile leaves its module pure Python.
    Each built extension gets the digest of its source beside it, in place too (editable installs)."""

    def finalize_options(self) -> None:
        super().finalize_options()
        if self.parallel is None:
            self.parallel = os.cpu_count() or 1

    def run(self) -> None:
        try:
            super().run()
        except Exception as exc:  # no compiler at all
            print(f"gait-form: compiled modules not built ({exc}); installing pure Python", file=sys.stderr)

    def build_extension(self, ext) -> None:
        target = self.get_ext_fullpath(ext.name)
        try:
            super().build_extension(ext)
        except Exception as exc:
            print(f"gait-form: {ext.name} not compiled ({exc}); it runs as pure Python", file=sys.stderr)
            for old in (target, target + SIDECAR_SUFFIX):  # an earlier build's, left in build/
                Path(old).unlink(missing_ok=True)
            return
        source = Path(__file__).parent / (ext.name.replace(".", "/") + ".py")
        Path(target + SIDECAR_SUFFIX).write_text(source_digest(source) + "\n")

    def copy_extensions_to_source(self) -> None:
        super().copy_extensions_to_source()
        for regular, inplace in self._sidecars():
            self.copy_file(regular, inplace, level=self.verbose)

    def _get_output_mapping(self):
        yield from super()._get_output_mapping()
        if self.inplace:
            yield from self._sidecars()

    def _sidecars(self):
        build_py = self.get_finalized_command("build_py")
        for ext in self.extensions:
            inplace_file, regular_file = self._get_inplace_equivalent(build_py, ext)
            if os.path.exists(regular_file + SIDECAR_SUFFIX):
                yield regular_file + SIDECAR_SUFFIX, inplace_file + SIDECAR_SUFFIX


setup(ext_modules=_extensions(), cmdclass={"build_ext": OptionalBuildExt})
