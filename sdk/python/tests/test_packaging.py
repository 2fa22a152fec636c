"""The package: standard library only, typed, and a wheel that the standard
build flow (PEP 517, setuptools' backend) makes from pyproject.toml."""

import ast
import os
import shutil
import subprocess
import sys
import tempfile
import unittest
import zipfile

import aries_live

PACKAGE = os.path.join(aries_live.PACKAGE_ROOT, "aries_exchange")


def module_files():
    return sorted(os.path.join(PACKAGE, f) for f in os.listdir(PACKAGE) if f.endswith(".py"))


class StandardLibraryOnlyTest(unittest.TestCase):
    def test_imports(self):
        stdlib = set(sys.stdlib_module_names)
        for path in module_files():
            with open(path, encoding="utf-8") as f:
                tree = ast.parse(f.read(), path)
            for node in ast.walk(tree):
                if isinstance(node, ast.Import):
                    names = [a.name for a in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0:
                    names = [node.module or ""]
                else:
                    continue
                for name in names:
                    top = name.split(".")[0]
                    self.assertTrue(top in stdlib or top == "__future__",
                                    "%s imports %s, which is not in the standard library" % (path, name))

    def test_typed(self):
        self.assertTrue(os.path.exists(os.path.join(PACKAGE, "py.typed")))
        for path in module_files():
            with open(path, encoding="utf-8") as f:
                tree = ast.parse(f.read(), path)
            for node in ast.walk(tree):
                if isinstance(node, ast.FunctionDef) and not node.name.startswith("_"):
                    self.assertIsNotNone(node.returns, "%s: %s has no return annotation" % (path, node.name))


def _builder():
    """An interpreter that has what setuptools' PEP 517 backend needs to
    build a wheel offline (setuptools 61+, and wheel before setuptools
    70.1): this one, or the system's."""
    probe = ("import setuptools, sys; v = tuple(int(x) for x in setuptools.__version__.split('.')[:2]); "
             "sys.exit(0 if v >= (61, 0) else 1); ")
    for python in dict.fromkeys([sys.executable, shutil.which("python3"), "/usr/bin/python3"]):
        if not python or not os.path.exists(python):
            continue
        ok = subprocess.run([python, "-c", probe + "import setuptools.build_meta"], capture_output=True)
        if ok.returncode != 0:
            continue
        needs_wheel = subprocess.run([python, "-c", "import setuptools, sys; sys.exit(0 if tuple(int(x) for x in "
                                      "setuptools.__version__.split('.')[:2]) >= (70, 1) else 1)"])
        has_wheel = subprocess.run([python, "-c", "import wheel"], capture_output=True)
        if needs_wheel.returncode == 0 or has_wheel.returncode == 0:
            return python
    return None


class WheelTest(unittest.TestCase):
    def test_build_and_import(self):
        python = _builder()
        if python is None:
            self.skipTest("no Python here has setuptools 61+ with wheel, which building offline needs")
        with tempfile.TemporaryDirectory() as tmp:
            src = os.path.join(tmp, "src")
            shutil.copytree(aries_live.PACKAGE_ROOT, src, ignore=shutil.ignore_patterns(
                "__pycache__", "build", "dist", "*.egg-info", "tests"))
            dist = os.path.join(tmp, "dist")
            os.mkdir(dist)
            # What `python -m build --wheel` and `pip wheel` do: call the
            # backend pyproject.toml names.
            build = subprocess.run([python, "-c", "import sys, setuptools.build_meta as b; print(b.build_wheel(sys.argv[1]))",
                                    dist], cwd=src, capture_output=True, text=True)
            self.assertEqual(build.returncode, 0, build.stderr[-3000:])
            wheel = os.path.join(dist, build.stdout.strip().splitlines()[-1])
            self.assertRegex(os.path.basename(wheel), r"^aries_exchange-\d+\.\d+\.\d+-py3-none-any\.whl$")
            with zipfile.ZipFile(wheel) as z:
                names = set(z.namelist())
                metadata = z.read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
                z.extractall(os.path.join(tmp, "site"))
            for module in module_files():
                self.assertIn("aries_exchange/" + os.path.basename(module), names)
            self.assertIn("aries_exchange/py.typed", names)
            self.assertFalse([n for n in names if n.startswith("tests/")], "tests are not shipped")
            self.assertIn("Requires-Python: >=3.10", metadata)
            self.assertNotIn("Requires-Dist", metadata, "no dependencies")
            self.assertIn("from aries_exchange import AriesClient", metadata, "the README is the description")

            # The installed wheel imports on its own (-I: no user site, no cwd).
            run = subprocess.run([sys.executable, "-I", "-c",
                                  "import sys; sys.path.insert(0, sys.argv[1]); import aries_exchange as a; "
                                  "print(a.__file__); print(a.__version__); a.AriesClient(bearer_token='t')",
                                  os.path.join(tmp, "site")], capture_output=True, text=True)
            self.assertEqual(run.returncode, 0, run.stderr)
            where, version = run.stdout.split()
            self.assertTrue(where.startswith(os.path.join(tmp, "site")), where)
            self.assertIn(version, os.path.basename(wheel))


if __name__ == "__main__":
    unittest.main()
