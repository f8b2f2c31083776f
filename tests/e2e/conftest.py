import pytest

import matrix
from harness import Emulator, Runtime, Stack


@pytest.fixture(scope="session")
def emulator():
    emu = Emulator(create_seconds=1.0)
    yield emu
    emu.stop()


# Prepared runtimes by language. pytest sets a parametrized session fixture up again whenever the parameter
# changes from one test to the next (which it does at every file under pytest-xdist's --dist loadfile), so
# each language is prepared once per process and kept here.
_RUNTIMES = {}


@pytest.fixture(scope="session", params=["typescript", "python", "go"])
def runtime(request, tmp_path_factory):
    language = request.param
    if language not in _RUNTIMES:
        _RUNTIMES[language] = Runtime(language, tmp_path_factory.mktemp(f"runtime-{language}"))
    return _RUNTIMES[language]


@pytest.fixture
def seed(emulator):
    """Resets the emulator and returns its state, which every test must leave behind."""
    emulator.control("POST", "reset")
    emulator.holding = False
    emulator.control("POST", "config", {"imageCreateSeconds": 1.0})
    return emulator.state()


@pytest.fixture
def stack(runtime, emulator, seed, tmp_path):
    s = Stack(runtime, emulator, tmp_path)
    yield s
    # Whatever a test left in the stack is destroyed, and nothing may remain in the cloud.
    emulator.control("DELETE", "faults")
    if emulator.holding:
        emulator.hold_images(False)
        emulator.release_images()
    s.destroy()
    assert emulator.state() == seed, "the emulator holds resources the stack did not clean up"


def pytest_sessionfinish(session):
    """A pytest-xdist worker hands its fault-matrix results to the controller, which prints the table."""
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None and matrix.RESULTS:
        workeroutput["fault_matrix"] = matrix.dump()


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error):
    """On the controller: collects what a worker's `pytest_sessionfinish` handed over."""
    results = getattr(node, "workeroutput", {}).get("fault_matrix")
    if results:
        matrix.load(results)


def pytest_terminal_summary(terminalreporter):
    """The fault matrix, when its tests ran: printed, and written to fault-matrix.md once complete."""
    if not matrix.RESULTS:
        return
    table = matrix.render()
    terminalreporter.section("fault matrix")
    terminalreporter.write_line(table)
    if matrix.complete():
        matrix.save(table)
        terminalreporter.write_line(f"written to {matrix.GENERATED.relative_to(matrix.ROOT)} "
                                    "(`make readme-tables` copies it into fault-matrix.md and README.md)")
    else:
        terminalreporter.write_line("(partial run: the matrix is not saved)")
