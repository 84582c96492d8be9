"""The pytest plugin as an app developer runs it: pytest in its own process over the example
apps' tests (examples/tests), against a real dev chain it starts itself."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]


def run_example_tests(*options: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            *(sys.executable, "-m", "pytest", "-p", "metanode.devkit.pytest_plugin"),
            *("-p", "no:xdist", "-p", "no:cacheprovider", "-q", "examples/tests", *options),
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )


def test_the_example_apps_tests_pass_with_the_plugin() -> None:
    result = run_example_tests("-m", "not slow")
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "6 passed" in result.stdout


@pytest.mark.slow
def test_a_suite_of_two_hundred_calls() -> None:
    result = run_example_tests("-m", "slow", "--durations=1")
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    print(result.stdout)  # the duration, for the record (tests assert no timings)
