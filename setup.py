"""Build hook: the wheel carries the top-level templates/, static/, geodata/demo/ and docs/.

The repository keeps those folders at the top level, where people look for them; the
installed package finds them inside itself (`mapper.config.shipped_folder`). Everything else
about the package is declared in setup.cfg.
"""

from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
SHIPPED = ("templates", "static", "geodata/demo", "docs")


class BuildWithShippedFolders(build_py):
    """Copy the shipped folders into the built package (not for an editable install)."""

    def run(self):
        super().run()
        if getattr(self, "editable_mode", False):
            return  # the checkout's own folders are used
        for name in SHIPPED:
            for source in sorted((ROOT / name).rglob("*")):
                if not source.is_file() or "__pycache__" in source.parts:
                    continue
                target = Path(self.build_lib) / "mapper" / name / source.relative_to(ROOT / name)
                self.mkpath(str(target.parent))
                self.copy_file(str(source), str(target))


setup(cmdclass={"build_py": BuildWithShippedFolders})
