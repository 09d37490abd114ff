"""The one compiled part of symderive: the EM engine's sparse products (optional).

Everything else is in ``pyproject.toml``.  ``symderive/em/_sparse.c`` is scipy's
sparse-times-dense arithmetic specialised by row width.  It is optional: where no C
compiler is available the build goes on without it, and the engine uses scipy's kernels,
which give the same values bit for bit (see ``symderive.em.kernels``).
"""

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

#: no fused multiply-add and no reassociation: the compiled products must round as
#: scipy's do (a contracted a * g + acc rounds once, not twice)
FLAGS = {"msvc": ["/O2", "/fp:precise"],
         "unix": ["-O3", "-ffp-contract=off", "-fno-fast-math"]}


class BuildExt(build_ext):
    """Compiler flags by compiler type; a failed build of the optional extension leaves
    a working pure-Python install (setuptools' ``optional=True``)."""

    def build_extensions(self) -> None:
        flags = FLAGS.get(self.compiler.compiler_type, FLAGS["unix"])
        for ext in self.extensions:
            ext.extra_compile_args = flags
        super().build_extensions()


setup(ext_modules=[Extension("symderive.em._sparse", ["symderive/em/_sparse.c"],
                             optional=True)],
      cmdclass={"build_ext": BuildExt})
