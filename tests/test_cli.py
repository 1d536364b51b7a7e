"""The command line: report, plot, and one-line errors with a non-zero exit."""

import os
import subprocess
import sys

import matplotlib.image
import pytest

from sklearn_lrf import LRFinderSearch
from sklearn_lrf.__main__ import main


def run_cli(*args):
    """Run ``python -m sklearn_lrf`` in a subprocess, as a user would."""
    return subprocess.run(
        [sys.executable, "-m", "sklearn_lrf", *args], capture_output=True, text=True, timeout=300
    )


def test_default_run_reports_and_writes_the_plot(tmp_path):
    output = tmp_path / "curve.png"
    completed = run_cli("--output", str(output))
    assert completed.returncode == 0, completed.stderr
    report = completed.stdout
    for expected in (
        "SGDLogisticClassifier on breast_cancer",
        "chosen rate",
        "lag_corrected",
        "minimum",
        "valley",
        "5-fold accuracy",
        "LRFinderSearch:",
        f"plot written to {output}",
    ):
        assert expected in report
    assert "range test on all 569 samples" in completed.stderr  # progress
    assert matplotlib.image.imread(output).shape[0] > 300


def test_csv_with_target_and_ignored_columns(tmp_path, capsys):
    pd = pytest.importorskip("pandas")
    from sklearn.datasets import load_diabetes

    frame = load_diabetes(as_frame=True).frame
    frame["note"] = "text"
    path = tmp_path / "data.csv"
    frame.to_csv(path, index=False)
    status = main(
        [
            "--csv",
            str(path),
            "--target",
            "target",
            "--quiet",
            "--cv",
            "3",
            "--output",
            str(tmp_path / "plot.png"),
        ]
    )
    report = capsys.readouterr().out
    assert status == 0
    assert "SGDLinearRegressor on data.csv, 442 samples x 10 features" in report
    assert "ignored non-numeric columns: note" in report and "3-fold R^2" in report
    assert isinstance(frame, pd.DataFrame)


@pytest.mark.parametrize(
    "args, message",
    [
        (["--csv", "missing.csv"], "cannot read missing.csv"),
        (["--cv", "1"], "--cv must be at least 2"),
        (["--cv", "x"], "invalid int value: 'x'"),
        (["--estimator", "svm"], "invalid choice: 'svm'"),
        (["--output", "plot.jpg"], "--output must end in .png"),
        (["--output", "no/such/folder/plot.png"], "folder of --output does not exist"),
    ],
)
def test_bad_input_gives_one_line_and_exit_2(args, message):
    completed = run_cli(*args)
    assert completed.returncode == 2
    lines = completed.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("sklearn-lrf: error: ")
    assert message in lines[0] and "Traceback" not in completed.stderr


def _rows(count, last):
    return "".join(f"{i},{(i * 7) % 5},{last(i)}\n" for i in range(count))


@pytest.mark.parametrize(
    "content, extra, message",
    [
        ("a,b,y\n1,,0\n2,3,1\n", ["--target", "zz"], "no column 'zz' in"),
        ("a,b,y\n1,,0\n2,3,1\n", [], "name the target column with --target; "),
        ("a,b,y\n1,,0\n2,3,1\n", ["--target", "y"], "missing values in column(s) b"),
        ("a,b,y\n", ["--target", "y"], "has a header but no rows of data"),
        ("y\n1\n2\n", ["--target", "y"], "has only the target column"),
        (
            "a,b,y\n" + _rows(1, lambda i: i % 2),
            ["--target", "y"],
            "1 row(s) is too few for --cv 5",
        ),
        (
            "a,b,y\n" + _rows(3, lambda i: i % 2),
            ["--target", "y"],
            "3 row(s) is too few for --cv 5",
        ),
        (
            "a,b,y\n" + _rows(40, lambda i: i % 2),
            ["--target", "y", "--cv", "50"],
            "too few for --cv",
        ),
        ("a,b,y\n" + _rows(40, lambda i: "inf" if i == 3 else i), ["--target", "y"], "infinite"),
        ("a,b,y\n" + _rows(40, lambda i: 1), ["--target", "y"], "has a single value ('1')"),
        (
            "a,b,y\n" + _rows(40, lambda i: "ab"[i % 2]),
            ["--target", "y", "--task", "regression"],
            "--task regression needs a numeric target; 'y' holds text",
        ),
        (
            "a,b,note\n" + _rows(40, lambda i: f"sentence number {i}"),
            ["--target", "note"],
            "40 distinct text values in 40 rows",
        ),
    ],
)
def test_bad_csv_content_gives_one_line_before_any_work(tmp_path, capsys, content, extra, message):
    path = tmp_path / "d.csv"
    path.write_text(content)
    assert main(["--csv", str(path), "--quiet", "--output", str(tmp_path / "p.png"), *extra]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("sklearn-lrf: error: ") and message in err
    assert not (tmp_path / "p.png").exists()


@pytest.mark.parametrize(
    "output, message",
    [("{tmp}", "--output must end in .png"), ("{tmp}/dir.png", "--output is a folder")],
)
def test_unwritable_output_is_refused_before_any_work(tmp_path, capsys, output, message):
    (tmp_path / "dir.png").mkdir()
    assert main(["--quiet", "--output", output.format(tmp=tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err
    assert "range test" not in err  # nothing ran


def test_target_is_for_csv_files_only(capsys):
    assert main(["--dataset", "iris", "--target", "y"]) == 2
    assert "--target names a column of --csv" in capsys.readouterr().err


def test_a_failure_inside_the_work_is_one_line_and_exit_1(tmp_path, capsys, monkeypatch):
    def fail(self, X, y):
        raise ValueError("first line\n    second line")

    monkeypatch.setattr(LRFinderSearch, "fit", fail)
    assert main(["--dataset", "iris", "--quiet", "--output", str(tmp_path / "p.png")]) == 1
    assert capsys.readouterr().err == "sklearn-lrf: error: first line second line\n"


def test_task_rule_and_estimator_options(tmp_path, capsys):
    status = main(
        [
            "--dataset",
            "iris",
            "--estimator",
            "sklearn-sgd",
            "--rule",
            "minimum",
            "--cv",
            "3",
            "--quiet",
            "--output",
            str(tmp_path / "p.png"),
        ]
    )
    report = capsys.readouterr().out
    assert status == 0
    assert "SGDClassifier on iris" in report and "(minimum rule;" in report
    assert "default, learning_rate='optimal':" in report  # SGDClassifier ignores eta0 there
    status = main(
        [
            "--dataset",
            "wine",
            "--task",
            "regression",
            "--cv",
            "3",
            "--quiet",
            "--output",
            str(tmp_path / "q.png"),
        ]
    )
    assert status == 0 and "SGDLinearRegressor on wine" in capsys.readouterr().out


def test_a_reader_that_leaves_early_gets_no_traceback(tmp_path, monkeypatch, capsys):
    """``sklearn-lrf | head -1``: the report stops quietly when its pipe closes.

    The reader has already gone when the report is written (a pipe whose read end is closed),
    so the write fails every time, whatever the timing.
    """
    read_end, write_end = os.pipe()
    os.close(read_end)
    with open(write_end, "w") as closed_pipe:
        monkeypatch.setattr(sys, "stdout", closed_pipe)
        status = main(
            ["--dataset", "iris", "--cv", "2", "--quiet", "--output", str(tmp_path / "p.png")]
        )
        monkeypatch.undo()
        assert status == 1
    assert capsys.readouterr().err == ""
