"""Shared by the command-line tests."""

import pytest


@pytest.fixture
def run_cli(capsys):
    """Runs `cclm ARGS` in this process, returning (exit code, stderr).

    For failures under test: they need no fresh TensorFlow, so they skip a
    subprocess's start-up. Each test file still runs its commands once as
    a subprocess, as a user does.
    """
    from cclm.cli.main import main

    def run(*args):
        capsys.readouterr()
        try:
            code = main([str(arg) for arg in args])
        except SystemExit as exit:  # argparse refuses bad options this way
            code = exit.code
        return code, capsys.readouterr().err

    return run
