"""The command line: report, plot, and one-line errors with a non-zero exit."""

import json
import os
import subprocess
import sys
import threading

import matplotlib.figure
import matplotlib.image
import pytest

import sklearn_lrf
from sklearn_lrf import LRFinderSearch
from sklearn_lrf.__main__ import RULES, _step, main


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
    assert "fitting LRFinderSearch on all 569 samples" in completed.stderr  # progress
    assert matplotlib.image.imread(output).shape[0] > 300


def test_csv_text_columns_are_one_hot_encoded_and_free_text_dropped(tmp_path, capsys):
    from sklearn.datasets import load_diabetes

    frame = load_diabetes(as_frame=True).frame
    frame["group"] = ["low" if bmi < 0 else "high" for bmi in frame["bmi"]]
    frame.loc[::7, "group"] = None  # a missing value is a category of its own
    frame["comment"] = [f"patient {i} seen" for i in range(len(frame))]
    path = tmp_path / "data.csv"
    frame.to_csv(path, index=False)
    output = tmp_path / "plot.pdf"
    argv = ["--csv", str(path), "--target", "target", "--quiet", "--cv", "3"]
    assert main([*argv, "--output", str(output)]) == 0
    report = capsys.readouterr().out
    assert "SGDLinearRegressor on data.csv, 442 samples x 11 features" in report
    assert "StandardScaler on 10 numeric column(s), one-hot encoding of 1 text column(s)" in report
    assert "dropped        column 'comment' (free text: 442 distinct values in 442 rows)" in report
    assert "3-fold R^2" in report
    assert output.read_bytes().startswith(b"%PDF")  # the extension picks the format


def test_csv_with_only_free_text_features_is_refused(tmp_path, capsys):
    path = tmp_path / "d.csv"
    path.write_text("note,y\n" + "".join(f"sentence {i},{i % 2}\n" for i in range(40)))
    assert main(["--csv", str(path), "--target", "y", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "no usable feature columns besides 'y' (dropped: note: free text: 40 distinct" in err


def _json_run(capsys, *args):
    """The report of an in-process ``--json`` run; stdout must hold that JSON alone."""
    assert main(["--json", "--quiet", *args]) == 0
    return json.loads(capsys.readouterr().out)


@pytest.mark.parametrize(
    "separator, decimal, read_with",
    [(";", ",", []), ("\t", ".", []), ("|", ".", []), ("\t", ".", ["--sep", "tab"])],
)
def test_csv_separator_and_decimal_comma_are_sniffed(
    tmp_path, capsys, separator, decimal, read_with
):
    from sklearn.datasets import load_diabetes

    frame = load_diabetes(as_frame=True).frame
    frame["sex"] = frame["sex"].map(lambda v: "f" if v > 0 else "m")
    path = tmp_path / "data.csv"
    frame.to_csv(path, sep=separator, decimal=decimal, index=False)
    out = tmp_path / "p.png"
    argv = ["--csv", str(path), "--target", "target", "--output", str(out), *read_with]
    report = _json_run(capsys, *argv)
    assert report["dataset"]["separator"] == separator
    assert report["dataset"]["decimal"] == decimal
    assert report["dataset"]["n_numeric_columns"] == 9  # decimal commas read as numbers
    assert report["dataset"]["categorical_columns"] == {"sex": 2}


def test_sep_overrides_sniffing(tmp_path, capsys):
    path = tmp_path / "d.csv"
    path.write_text("a;b;y\n" + "".join(f"{i};{i % 3};{i % 2}\n" for i in range(40)))
    assert main(["--csv", str(path), "--target", "y", "--sep", ",", "--quiet"]) == 2
    assert "no column 'y' in" in capsys.readouterr().err  # one column named 'a;b;y'


@pytest.mark.parametrize(
    "args, message",
    [
        (["--csv", "missing.csv"], "cannot read missing.csv"),
        (["--cv", "1"], "--cv must be at least 2"),
        (["--cv", "x"], "invalid int value: 'x'"),
        (["--estimator", "svm"], "invalid choice: 'svm'"),
        (["--output", "plot.xyz"], "has extension .xyz; matplotlib writes: "),
        (["--output", "plot"], "has no extension; matplotlib writes: "),
        (["--min-lr", "0"], "argument --min-lr: must be a positive number, got 0"),
        (["--max-lr", "x"], "argument --max-lr: not a number: 'x'"),
        (["--min-lr", "1", "--max-lr", "0.1"], "--min-lr must be below --max-lr, got 1 and 0.1"),
        (["--n-steps", "4"], "argument --n-steps: must be at least 5, got 4"),
        (["--n-jobs", "0"], "--n-jobs must be a positive number of jobs, or negative"),
        (["--sep", ";;"], "argument --sep: must be one character or 'tab', got ';;'"),
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
        ("a,b,y\n1,2,\n2,3,1\n", ["--target", "y"], "missing values in the target column 'y'"),
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
        (
            "a,b,c,y\n" + _rows(40, lambda i: f"{'?' if i == 5 else i / 2},{i % 2}"),
            ["--target", "y"],
            "column 'c' holds numbers and text such as '?'; make it all numbers",
        ),
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
    [("{tmp}", "--output is a folder"), ("{tmp}/dir.png", "--output is a folder")],
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


@pytest.mark.parametrize(
    "error, status, expected",
    [
        (KeyboardInterrupt(), 130, "sklearn-lrf: interrupted\n"),
        (RuntimeError("a bug\n  here"), 1, "sklearn-lrf: error: RuntimeError: a bug here\n"),
    ],
)
def test_an_interrupt_or_unexpected_error_is_one_line(
    tmp_path, capsys, monkeypatch, error, status, expected
):
    def fail(self, X, y):
        raise error

    monkeypatch.setattr(LRFinderSearch, "fit", fail)
    assert main(["--dataset", "iris", "--quiet", "--output", str(tmp_path / "p.png")]) == status
    assert capsys.readouterr().err == expected


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


def test_json_report_shape_and_range_test_options(tmp_path, capsys):
    output = tmp_path / "curve.svg"
    report = _json_run(
        capsys,
        "--dataset",
        "iris",
        "--cv",
        "3",
        "--rule",
        "valley",
        "--min-lr",
        "1e-5",
        "--max-lr",
        "3",
        "--n-steps",
        "30",
        "--output",
        str(output),
    )
    assert set(report) == {
        "schema",
        "version",
        "dataset",
        "estimator",
        "settings",
        "range_test",
        "chosen_lr",
        "suggestions",
        "scores",
        "seconds",
        "warnings",
        "plot",
    }
    assert report["schema"] == 1 and report["version"] == sklearn_lrf.__version__
    assert report["dataset"]["name"] == "iris" and report["dataset"]["n_samples"] == 150
    assert report["dataset"]["task"] == "classification"
    assert report["estimator"]["name"] == "SGDLogisticClassifier"
    assert report["settings"] == {
        "rule": "valley",
        "cv": 3,
        "min_lr": 1e-5,
        "max_lr": 3.0,
        "n_steps": 30,
        "n_jobs": None,
        "random_state": 0,
    }
    folds = report["range_test"]["folds"]
    assert len(folds) == 3  # --cv governs the search: one range test per fold
    assert all(fold["first_lr"] == pytest.approx(1e-5) for fold in folds)
    # Past --max-lr only while the loss has not blown up, for at most 3 decades.
    for fold in folds:
        assert fold["last_lr"] <= 3e3 * (1 + 1e-9)
        assert fold["n_points"] <= 30 or "past max_lr=3" in fold["stop_reason"]
    assert set(report["suggestions"]) == set(RULES)
    assert report["chosen_lr"] == report["suggestions"]["valley"]
    assert report["scores"]["metric"] == "accuracy"
    for which in ("default", "chosen"):
        assert len(report["scores"][which]["folds"]) == 3
    assert set(report["seconds"]) >= {"search", "cv_default", "cv_chosen", "total"}
    assert report["plot"] == str(output.resolve())
    assert output.read_text().lstrip().startswith("<?xml")


def test_n_jobs_gives_the_same_report(tmp_path, capsys):
    def run(*extra):
        report = _json_run(
            capsys, "--dataset", "iris", "--cv", "2", "--output", str(tmp_path / "p.png"), *extra
        )
        return report["chosen_lr"], report["suggestions"], report["scores"]

    assert run("--n-jobs", "2") == run()


def test_json_error_leaves_stdout_empty(capsys):
    assert main(["--json", "--cv", "1"]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and "--cv must be at least 2" in captured.err


def test_progress_reports_each_fold(tmp_path, capsys):
    assert main(["--dataset", "iris", "--cv", "3", "--output", str(tmp_path / "p.png")]) == 0
    err = capsys.readouterr().err
    for expected in (
        "importing scikit-learn and numba",
        "fitting LRFinderSearch on all 150 samples: a range test in each of 3 folds",
        "cross-validating the default rate: 3 folds",
        "cross-validating LRFinderSearch (a search in each fold): 3 folds",
        "fold 3 of 3 done",
        "writing the plot to",
    ):
        assert expected in err
    assert err.count("fold 1 of 3 done") == 2


def test_a_long_step_says_it_is_still_running():
    messages = []
    beat = threading.Event()

    def progress(message):
        messages.append(message)
        if "still" in message:
            beat.set()

    with _step(progress, "reading big.csv", every=0.01):
        assert beat.wait(timeout=60)  # the step lasts until the reporter has spoken
    assert messages[0] == "reading big.csv"
    assert messages[1].startswith("  still running (")


def test_a_format_matplotlib_cannot_write_here_is_refused_up_front(tmp_path, monkeypatch, capsys):
    def fail(self, *args, **kwargs):
        raise RuntimeError("'xelatex' not found;\n install it")

    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", fail)
    assert main(["--output", str(tmp_path / "plot.pgf")]) == 2
    err = capsys.readouterr().err
    assert (
        err == "sklearn-lrf: error: cannot write .pgf files here: 'xelatex' not found; install it\n"
    )


def test_rule_choices_are_the_finder_rules():
    from sklearn_lrf.rules import RULES as FINDER_RULES

    assert set(RULES) == set(FINDER_RULES)


HEAVY = ("numba", "sklearn", "matplotlib", "pandas", "scipy", "numpy")


@pytest.mark.parametrize("args", [["--help"], ["--version"], ["--cv", "x"]])
def test_help_version_and_argument_errors_import_no_heavy_module(args):
    """``python -m sklearn_lrf --help`` answers without importing numba, scikit-learn..."""
    code = (
        "import runpy, sys\n"
        f"sys.argv = ['sklearn-lrf', *{args!r}]\n"
        "try:\n"
        "    runpy.run_module('sklearn_lrf', run_name='__main__', alter_sys=True)\n"
        "except SystemExit as exit:\n"
        "    status = exit.code\n"
        f"loaded = sorted(name for name in {HEAVY!r} if name in sys.modules)\n"
        "print('RESULT', status, loaded, file=sys.stderr)\n"
    )
    completed = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300
    )
    result = completed.stderr.strip().splitlines()[-1]
    assert result == f"RESULT {2 if args[0] == '--cv' else 0} []", completed.stderr


def test_package_import_is_light_and_its_names_are_lazy():
    code = (
        "import sys, sklearn_lrf\n"
        "assert sklearn_lrf.__version__\n"
        f"print(sorted(name for name in {HEAVY!r} if name in sys.modules))\n"
    )
    completed = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300
    )
    assert completed.stdout.strip() == "[]", completed.stderr
    from sklearn_lrf import SGDLinearRegressor
    from sklearn_lrf.linear_model import SGDLinearRegressor as defined

    assert SGDLinearRegressor is defined
    assert set(sklearn_lrf.__all__) <= set(dir(sklearn_lrf))
    assert all(getattr(sklearn_lrf, name) is not None for name in sklearn_lrf.__all__)
    with pytest.raises(AttributeError, match="has no attribute 'nope'"):
        sklearn_lrf.nope


def test_missing_numbers_are_imputed_inside_the_pipeline(tmp_path, capsys):
    rows = "".join(f"{i},{'' if i % 5 == 0 else (i * 7) % 11},{i % 2}\n" for i in range(60))
    path = tmp_path / "gaps.csv"
    path.write_text("a,b,y\n" + rows)
    status = main(
        [
            "--csv",
            str(path),
            "--target",
            "y",
            "--cv",
            "3",
            "--quiet",
            "--output",
            str(tmp_path / "p.png"),
        ]
    )
    report = capsys.readouterr().out
    assert status == 0, report
    assert "median imputation of b, then StandardScaler first" in report
