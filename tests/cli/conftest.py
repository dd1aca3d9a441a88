"""Shared by the command-line tests."""

import contextlib
import io

import pytest


@pytest.fixture(scope="session")
def run_cli():
    """Runs `cclm ARGS` in this process (in `cwd` if given), returning (exit code, stdout, stderr).

    It calls the console script's entry point, `cclm.cli.main.main`, and
    spares each command a fresh TensorFlow start-up. Each test file still
    runs commands as a subprocess too, as a user does.
    """
    from cclm.cli.main import main

    def run(*args, cwd=None):
        out, err = io.StringIO(), io.StringIO()
        with contextlib.chdir(cwd or "."), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main([str(arg) for arg in args])
            except SystemExit as exit:  # argparse refuses bad options this way
                code = exit.code
        return code, out.getvalue(), err.getvalue()

    return run
