"""What a new user's shell habits meet: no TensorFlow where none is needed, paths checked first,
`--quiet`, a closed pipe, bad JSON, and `--help` for every option (issue 47, item 17)."""

import argparse
import json
import os
import subprocess
import sys

import pytest

from cclm.cli.main import build_parser

# Runs `cclm ARGS` in a fresh process and says whether TensorFlow was ever imported.
WITHOUT_TENSORFLOW = (
    "import sys\nfrom cclm.cli.main import main\n"
    "try:\n    code = main(sys.argv[1:])\nexcept SystemExit as exit:\n    code = exit.code\n"
    "print('tensorflow imported:', 'tensorflow' in sys.modules, file=sys.stderr)\nsys.exit(code)\n"
)


def cclm_in_fresh_process(*args, cwd):
    return subprocess.run([sys.executable, "-c", WITHOUT_TENSORFLOW, *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, timeout=300, check=False)


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("habits")
    (folder / "corpus.txt").write_text("a first line\nanother line of text\nthe third\n")
    (folder / "bad.jsonl").write_text('{"text": "a", "label": "x"}\n{"text": "b", "label": "y"}\n{"text": "c" "label": 1}\n')
    return folder


def test_preprocessor_fit_imports_no_tensorflow(folder):
    result = cclm_in_fresh_process("preprocessor", "fit", "corpus.txt", "--output", "prep", cwd=folder)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "tensorflow imported: False" in result.stderr and "Saved a preprocessor" in result.stdout
    assert '"tensorflow_version": "2.' in (folder / "prep" / "manifest.json").read_text()  # still recorded


MISSING = [
    (("predict", "no-such-model", "a text"), "no-such-model does not exist"),
    (("evaluate", ".", "no-such.jsonl"), "no-such.jsonl does not exist"),
    (("compose", ".", "no-such-tower", "--output", "x"), "no-such-tower does not exist"),
    (("pretrain", "mlm", "no-such.txt", "--output", "x"), "no-such.txt does not exist"),
    (("info", "no-such-dir"), "no-such-dir does not exist"),
]
# Each command of argv[1] (JSON) in turn, in one fresh process; then whether TensorFlow was imported.
EACH_WITHOUT_TENSORFLOW = (
    "import json, sys\nfrom cclm.cli.main import main\n"
    "for args in json.loads(sys.argv[1]):\n    try:\n        code = main(args)\n"
    "    except SystemExit as exit:\n        code = exit.code\n    print('exit code', code, file=sys.stderr)\n"
    "print('tensorflow imported:', 'tensorflow' in sys.modules, file=sys.stderr)\n"
)


def assert_each_refused_before_tensorflow(cases, folder):
    """Runs each `(args, named)` command in one fresh process: each exits 2 naming `named`, and none imports TensorFlow."""
    commands = json.dumps([list(args) for args, _ in cases])
    result = subprocess.run([sys.executable, "-c", EACH_WITHOUT_TENSORFLOW, commands], cwd=folder,
                            capture_output=True, text=True, timeout=300, check=False)
    reports = result.stderr.split("exit code ")
    for (args, named), report in zip(cases, reports):
        assert named in report, (args, report)
    assert [report.split()[0] for report in reports[1:]] == ["2"] * len(cases), result.stderr
    assert result.stderr.endswith("tensorflow imported: False\n")


def test_a_missing_path_is_refused_before_tensorflow_is_imported(folder):
    assert_each_refused_before_tensorflow(MISSING, folder)


def test_an_output_that_cannot_be_written_is_refused_before_any_work(folder):
    (folder / "notes").mkdir(exist_ok=True)
    (folder / "notes" / "important.txt").write_text("mine")
    (folder / "report.json").mkdir(exist_ok=True)
    refused = [
        (("pretrain", "mlm", "corpus.txt", "--output", "notes"), "non-empty directory that is not a cclm component"),
        (("pretrain", "mlm", "corpus.txt", "--output", "corpus.txt"), "corpus.txt exists and is not a directory"),
        (("preprocessor", "fit", "corpus.txt", "--output", "corpus.txt/prep"), "is a file, so nothing can be written"),
        (("prune", ".", "0.5", "--output", "notes"), "non-empty directory"),
        (("demo", "--output", "corpus.txt"), "corpus.txt exists and is not a directory"),
        (("evaluate", ".", "bad.jsonl", "--json", "report.json"), "report.json is a directory; give a file name"),
        (("pretrain", "mlm", "corpus.txt", "--output", "m", "--batch-size", "0"), "0 is not an int >= 1"),
        (("pretrain", "mlm", "corpus.txt", "--output", "m", "--width", "0"), "0 is not an int >= 1"),
        (("pretrain", "mlm", "corpus.txt", "--output", "m", "--epochs", "0"), "0 is not an int >= 1"),
        (("pretrain", "mlm", "corpus.txt", "--output", "m", "--learning-rate", "-1"), "-1 is not a finite number > 0"),
    ]
    assert_each_refused_before_tensorflow(refused, folder)  # refused while parsing, before any work
    assert (folder / "notes" / "important.txt").read_text() == "mine" and not (folder / "m").exists()


def test_stdin_is_split_at_line_ends_alone(monkeypatch):
    import io

    from cclm.cli.arguments import stdin_lines

    monkeypatch.setattr(sys, "stdin", io.StringIO("the quick fox\u2028le renard\x0cbrun\nder Hund\r\n\nlast"))
    assert stdin_lines() == ["the quick fox\u2028le renard\x0cbrun", "der Hund", "", "last"]
    monkeypatch.setattr(sys, "stdin", io.StringIO("one\ntwo\n"))
    assert stdin_lines() == ["one", "two"]


def test_quiet_anywhere_hides_progress_and_every_command_takes_it(folder, run_cli):
    for args in (("--quiet", "preprocessor", "fit", "corpus.txt", "--output", "q1"),
                 ("preprocessor", "fit", "corpus.txt", "--quiet", "--output", "q2")):
        code, out, err = run_cli(*args, cwd=folder)
        assert code == 0 and err == "" and "Saved a preprocessor" in out, err
    code, out, err = run_cli("shelf", "list", "--quiet", "--remote", folder / "no-shelf.git",
                             "--cache-dir", folder / "cache", cwd=folder)
    assert "unrecognized arguments" not in err


def test_a_closed_pipe_ends_silently_with_0(folder):
    env = {**os.environ, "CCLM_SHELF": str(folder / "shelf.git"), "CCLM_CACHE": str(folder / "cache")}
    process = subprocess.Popen([sys.executable, "-m", "cclm.cli", "shelf", "list"], cwd=folder, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    process.stdout.close()  # as `| head -0` does: every write now fails
    error = process.stderr.read().decode()
    assert process.wait(timeout=300) == 0 and error == ""


def test_bad_json_names_the_file_and_line_and_no_progress_bar_comes_first(folder):
    result = cclm_in_fresh_process("preprocessor", "fit", "bad.jsonl", "--output", "x", cwd=folder)
    lines = result.stderr.splitlines()
    assert result.returncode == 2 and lines[0].startswith("cclm preprocessor fit: bad.jsonl, line 3: not JSON"), lines
    assert lines[1:] == ["tensorflow imported: False"]  # no progress bar, no datasets log line


def _parsers(parser, path="cclm"):
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _parsers(sub, f"{path} {name}")


def test_help_explains_every_option_and_shows_defaults():
    for path, parser in _parsers(build_parser()):
        text = " ".join(parser.format_help().split())  # as read, whatever the wrapping
        for action in parser._actions:
            if isinstance(action, (argparse._HelpAction, argparse._SubParsersAction)):
                continue
            assert action.help, f"`{path} --help`: {action.dest} has no help line"
            shows = action.default is not None and action.default is not False and action.option_strings
            if shows and action.default != argparse.SUPPRESS:
                assert f"(default: {action.default})" in text or "default" in action.help, (path, action.dest)
