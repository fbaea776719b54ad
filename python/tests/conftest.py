"""Shared fixtures: the repository's CLI binary and the two default models (fetched by
`make test` through scripts/fetch-test-models; a missing one is an error, never a skip)."""
import os
import pathlib
import subprocess

import pytest

import gaze

REPO = pathlib.Path(__file__).resolve().parents[2]


def pytest_configure(config) -> None:
    # `make pytest` deselects these (-m "not hf": CI has no torch); `make pytest-hf` runs them
    config.addinivalue_line("markers", "hf: needs torch and transformers (make pytest-hf)")


def gaze_bin() -> str:
    b = os.environ.get("GAZE_BIN") or str(REPO / "build" / "bin" / "gaze")
    if not os.access(b, os.X_OK):
        pytest.fail(f"{b}: the gaze CLI is not built (make build, or set GAZE_BIN)")
    return b


def cli(*args: str) -> subprocess.CompletedProcess:
    """Runs the gaze CLI; fails the test with its stderr when it fails."""
    p = subprocess.run([gaze_bin(), *args], capture_output=True, text=True)
    if p.returncode != 0:
        pytest.fail(f"gaze {' '.join(args)} exited {p.returncode}: {p.stderr}")
    return p


def _model(name: str) -> gaze.Model:
    try:
        return gaze.Model(name)
    except gaze.GazeIOError as e:
        pytest.fail(f"model {name} is not fetched ({e}); run scripts/fetch-test-models")


@pytest.fixture(scope="session")
def minilm() -> gaze.Model:
    return _model("minilm")


@pytest.fixture(scope="session")
def smollm2() -> gaze.Model:
    return _model("smollm2")
