"""Fixtures shared by the 3.18 (tt3/) and 0.4.x (tt04/) suites."""
import pytest

from harness import Emulator


@pytest.fixture(scope="module")
def emulator():
    """One emulator process per test module, with its own state directory."""
    em = Emulator()
    yield em
    em.stop()


@pytest.fixture
def faults(emulator):
    """Installs a fault plan for one test and removes it afterwards, pass or fail."""
    yield emulator.set_faults
    emulator.clear_faults()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, "report_" + report.when, report)


@pytest.fixture(autouse=True)
def emulator_log_on_failure(request):
    """A failing test shows the tail of the emulator's log (method, path, status per request)."""
    yield
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed and "emulator" in request.fixturenames:
        log = request.getfixturevalue("emulator").log()
        print("--- emulator log (tail) ---\n" + "\n".join(log.splitlines()[-25:]))
