"""Live suite fixtures: no secret in any report, and a closing list of what each service keeps."""
import pytest

import live


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.failed:
        # Assertion texts quote command output and URLs: mask every secret before pytest prints
        # the report or writes it to the JUnit file.
        report.longrepr = live.redact(str(report.longrepr))
        report.sections = [(title, live.redact(text)) for title, text in report.sections]


def pytest_terminal_summary(terminalreporter):
    for line in live.LEFT_BEHIND:
        terminalreporter.write_line(line)
