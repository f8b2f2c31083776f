import sys

import pytest

from install import DIST, NODE_PULUMI, PROGRAMS, DistServer, checksums, one, run
from harness import Emulator


def pytest_sessionstart(session):
    if not (DIST / "SHA256SUMS").exists():
        pytest.exit("dist/ is empty: run `make dist` first (make test-install does)", returncode=1)


@pytest.fixture(scope="session")
def server():
    s = DistServer()
    yield s
    s.stop()


@pytest.fixture(scope="session")
def emulator():
    emu = Emulator(create_seconds=1.0)
    yield emu
    emu.stop()


@pytest.fixture
def cloud(emulator):
    """The emulator, reset; a test must leave it as it found it."""
    emulator.control("POST", "reset")
    seed = emulator.state()
    yield emulator
    assert emulator.state() == seed, "the emulator holds resources the stack did not clean up"


@pytest.fixture(scope="session")
def python_venv(tmp_path_factory):
    """A virtualenv with the wheel from dist/ installed, as a user would install it from PyPI."""
    venv = tmp_path_factory.mktemp("python") / "venv"
    run([sys.executable, "-m", "venv", venv])
    run([venv / "bin/pip", "install", "-q", "--disable-pip-version-check",
         "-r", PROGRAMS / "python/requirements.txt", one("pulumi_alicloud_rs-*.whl")])
    return venv


@pytest.fixture(scope="session")
def node_modules(tmp_path_factory):
    """node_modules with the npm tarball from dist/ installed, as a user would install it from npm."""
    work = tmp_path_factory.mktemp("nodejs")
    (work / "package.json").write_text((PROGRAMS / "typescript/package.json").read_text())
    run(["npm", "--no-audit", "--no-fund", "--loglevel=error", "install", "--save-exact",
         f"@pulumi/pulumi@{NODE_PULUMI}", one("alicloud-rs-pulumi-alicloud-*.tgz")], cwd=work)
    return work / "node_modules"


@pytest.fixture(scope="session")
def sums():
    return checksums()
