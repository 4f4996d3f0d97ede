"""Fixtures shared by the 3.18 (tt3/) and 0.4.x (tt04/) suites."""
import pytest

import harness
from harness import Emulator, LiveTarget, redact


def pytest_collection_modifyitems(config, items):
    """Live mode skips what needs a control only the emulator has."""
    if not harness.LIVE:
        return
    skip = pytest.mark.skip(reason="emulator only: needs a control the real service does not have")
    for item in items:
        if "emulator_only" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="module")
def emulator():
    """One emulator process per test module, with its own state directory; in live mode, the
    real endpoint instead (the fixture keeps its name so that every case reads the same)."""
    em = LiveTarget(harness.LIVE_BASE_URL) if harness.LIVE else Emulator()
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
    if harness.LIVE and report.failed:
        # An assertion's text can quote the secret (e.g. `SECRET not in url`): mask it before
        # pytest prints the report or writes it to the JUnit file.
        report.longrepr = redact(str(report.longrepr))
        report.sections = [(title, redact(text)) for title, text in report.sections]
    setattr(item, "report_" + report.when, report)


@pytest.fixture(autouse=True)
def emulator_log_on_failure(request):
    """A failing test shows the tail of the emulator's log (method, path, status per request)."""
    yield
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed and "emulator" in request.fixturenames and not harness.LIVE:
        log = request.getfixturevalue("emulator").log()
        print("--- emulator log (tail) ---\n" + "\n".join(log.splitlines()[-25:]))


def pytest_terminal_summary(terminalreporter):
    """Live mode says what it cleaned up and what it could not (tt3/conftest.py fills this)."""
    for line in harness.CLEANUP_REPORT:
        terminalreporter.write_line(line)
