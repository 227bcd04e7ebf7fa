"""Issue 17, the run and command side: every stop is recorded in the manifest with the resume hint on stderr,
and every command's own errors are one line. One row per category: a run stopped by SIGINT or SIGTERM, by a full
disk or a refused write while a cell or the report is written, by Ctrl-C during the report, by a failing model;
an output path that cannot be written; a damaged results.csv, manifest.json or published.toml. Each row asserts
the exit code, the message's words, no traceback, the manifest's status, and that no finished cell changed."""

import errno
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from ecgbench.cli import main
from ecgbench.core import io
from ecgbench.run import executors
from ecgbench.run.store import CellKey, RunStore
from tests.conftest import write_plugin

pytestmark = pytest.mark.slow  # runs in subprocesses, killed and resumed

REPO = Path(__file__).resolve().parents[1]
FAST = ["--model", "minirocket", "--model", "rocket", "--dataset", "synthetic", "--quick", "--threads", "1"]
SLEEPY = '''
import os, time
import numpy as np
from ecgbench.models import Model


class Sleepy(Model):
    """Sleeps in _fit for $SLEEPY_SECONDS (a long cell to stop), then predicts the class priors."""

    description = "sleeps while fitting (test plugin)"

    def _fit(self, X, y, X_val, y_val):
        self.priors = np.bincount(y, minlength=self.n_classes) / len(y)
        time.sleep(float(os.environ.get("SLEEPY_SECONDS", "0")))

    def _predict_proba(self, X):
        return np.tile(self.priors, (len(X), 1))
'''


@pytest.fixture(scope="module")
def base_run(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("base")
    assert main(["run", *FAST, "--run-id", "base", "--results-dir", str(root)]) == 0
    return root / "base"


def finished_cells(run: Path) -> dict[str, str]:
    """sha256 of every finished cell's files: what must not change when a command fails or a run stops."""
    digests = {}
    for path in sorted(run.glob("cells/*/*/*/seed*/metrics.json")):
        key = CellKey.from_id("/".join(path.parts[-5:-1]))
        # the cell's own checksum only: some cases damage the manifest that the full proof reads
        predictions = path.parent / "predictions.parquet"
        if (
            predictions.is_file()
            and json.loads(path.read_text()).get("predictions_sha256")
            == hashlib.sha256(predictions.read_bytes()).hexdigest()
        ):
            for name in ("metrics.json", "predictions.parquet"):
                digests[f"{key.id}/{name}"] = hashlib.sha256((path.parent / name).read_bytes()).hexdigest()
    return digests


@dataclass
class Ctx:
    tmp: Path
    run: Path  # a copy of the finished base run, under tmp/results
    monkeypatch: pytest.MonkeyPatch
    capsys: pytest.CaptureFixture
    before: dict = field(default_factory=dict)

    def cli(self, *argv) -> tuple[int, str, str]:
        self.capsys.readouterr()
        code = main([str(a) for a in argv])
        out, err = self.capsys.readouterr()
        return code, out, err

    def resume(self, *extra) -> tuple[int, str, str]:
        return self.cli("run", *FAST, "--run-id", "base", "--results-dir", self.run.parent, *extra)


# ---- stops ----------------------------------------------------------------------------------------------------------


def _sigint_as_python_sets_it():
    """In the child: SIGINT back to its default, which Python turns into KeyboardInterrupt. A shell starts a
    background job with SIGINT ignored, and an ignored SIGINT is inherited and kept by Python: run from such a job,
    the SIGINT case waited out the sleepy cell."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _signal(sig):
    def act(ctx: Ctx):
        write_plugin(ctx.tmp, "sleepy_plugin", SLEEPY, "sleepy = sleepy_plugin:Sleepy")
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ctx.tmp), str(REPO)]), "SLEEPY_SECONDS": "120"}
        ctx.run = ctx.tmp / "results" / "sig"
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "ecgbench",
                "run",
                "--model",
                "minirocket",
                "--model",
                "sleepy",
                "--dataset",
                "synthetic",
                "--quick",
                "--threads",
                "1",
                "--run-id",
                "sig",
                "--results-dir",
                str(ctx.run.parent),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            cwd=REPO,
            preexec_fn=_sigint_as_python_sets_it,
        )
        seen = []
        for line in process.stderr:  # wait until the sleepy cell trains, minirocket's cell finished before it
            seen.append(line)
            if "sleepy on synthetic/holdout seed 0: training" in line:
                break
        else:
            raise AssertionError("".join(seen))
        ctx.before = finished_cells(ctx.run)
        assert len(ctx.before) == 2, seen
        process.send_signal(sig)
        out, err = process.communicate(timeout=120)
        return process.returncode, out, "".join(seen) + err

    return act


def _failing_write(where: str, error):
    def act(ctx: Ctx):
        if where == "write_cell":  # the rocket cell is left to do; storing it fails
            (ctx.run / "cells/synthetic/holdout/rocket/seed0/metrics.json").unlink()
        ctx.before = finished_cells(ctx.run)

        def refuse(*args, **kwargs):
            if isinstance(error, type) and issubclass(error, BaseException):
                raise error()
            raise OSError(error, os.strerror(error), str(ctx.run / "some-file"))

        ctx.monkeypatch.setattr(RunStore, where, refuse)
        return ctx.resume()

    return act


def _a_model_fails(ctx: Ctx):
    (ctx.run / "cells/synthetic/holdout/rocket/seed0/metrics.json").unlink()
    ctx.before = finished_cells(ctx.run)
    real = executors.run_cell

    def broken(store, key, *args):
        if key.model == "rocket":
            raise RuntimeError("the model broke")
        return real(store, key, *args)

    ctx.monkeypatch.setattr(executors, "run_cell", broken)
    return ctx.resume()


def _a_model_misbehaves(method: str, behaviour):
    """rocket's own code misbehaves, through the real run_cell and the real output checks of Model.predict_proba:
    its cell fails with error.txt and a failure record, minirocket's finished cell stands, the run goes on."""

    def act(ctx: Ctx):
        from ecgbench.models import model_class

        (ctx.run / "cells/synthetic/holdout/rocket/seed0/metrics.json").unlink()
        ctx.before = finished_cells(ctx.run)
        ctx.monkeypatch.setattr(model_class("rocket"), method, behaviour)
        code, out, err = ctx.resume()
        error = (ctx.run / "cells/synthetic/holdout/rocket/seed0/error.txt").read_text()
        failures = json.loads((ctx.run / "manifest.json").read_text())["failures"]
        assert [f["cell"] for f in failures] == ["synthetic/holdout/rocket/seed0"] and failures[0]["message"] in error
        return code, out, err

    return act


def _nan_probabilities(self, X):
    import numpy as np

    return np.full((len(X), self.n_classes), np.nan)


def _infinite_probabilities(self, X):
    import numpy as np

    proba = np.full((len(X), self.n_classes), 1.0 / self.n_classes)
    proba[0, 0] = np.inf
    return proba


def _exit_in_fit(self, *args):
    import sys

    sys.exit(3)


def _ecgbench_error_in_fit(self, *args):
    from ecgbench.core.errors import EcgbenchError

    raise EcgbenchError("a plugin's own check failed")


# ---- output paths --------------------------------------------------------------------------------------------------


def _a_file(ctx: Ctx, name="a-file") -> Path:
    path = ctx.tmp / name
    path.write_text("in the way")
    return path


def _a_folder(ctx: Ctx, name="a-folder") -> Path:
    path = ctx.tmp / name
    path.mkdir()
    return path


def _read_only(ctx: Ctx, folder: Path) -> Path:
    """``folder`` made unwritable as the output helper sees it (the tests may run as root, whom chmod won't stop)."""
    real = os.access
    ctx.monkeypatch.setattr(io.os, "access", lambda p, mode: False if Path(p) == folder else real(p, mode))
    return folder


def _run_into(results_dir):
    return lambda ctx: ctx.cli("run", *FAST, "--run-id", "new", "--results-dir", results_dir(ctx))


def _compare_markdown(ctx):
    return ctx.cli("compare", ctx.run, ctx.run, "--markdown", _a_folder(ctx))


def _leaderboard_out(out):
    def act(ctx):
        return ctx.cli("leaderboard", ctx.run, "--out", out(ctx))

    return act


# ---- damaged inputs ------------------------------------------------------------------------------------------------


def _damage(name: str, damage):
    def act(ctx: Ctx):
        path = ctx.run / name
        damage(path)
        return ctx.cli("compare", ctx.run, ctx.run)

    return act


def _cut(n: int):
    return lambda path: path.write_bytes(path.read_bytes()[:-n])


def _drop_last_line(path: Path):
    path.write_text("".join(path.read_text().splitlines(keepends=True)[:-1]))


GARBAGE = bytes(range(256)) * 8


def _published(text: bytes | None):
    def act(ctx: Ctx):
        path = ctx.tmp / "published.toml"
        if text is None:
            path.mkdir()
        else:
            path.write_bytes(text)
        return ctx.cli("leaderboard", ctx.run, "--published", path, "--out", ctx.tmp / "board.md")

    return act


ANCHOR = b'[[anchor]]\nevaluation = "intra-patient"\n'
TARGET = b'[[target]]\nevaluation = "intra-patient"\nmodels = ["cnn"]\n'

# (id, act, exit code, words (the first in the one error: line where the code is 2), manifest status or None)
CASES = [
    ("sigint", _signal(signal.SIGINT), 130, ["interrupted (SIGINT)", "to continue:", "--run-id sig"], "interrupted"),
    ("sigterm", _signal(signal.SIGTERM), 143, ["interrupted (SIGTERM)", "to continue:", "--run-id sig"], "interrupted"),
    (
        "disk-full-storing-a-cell",
        _failing_write("write_cell", errno.ENOSPC),
        2,
        ["rocket on synthetic/holdout seed 0 could not be stored", "no space left on device", "--run-id base"],
        "failed",
    ),
    (
        "permission-denied-storing-a-cell",
        _failing_write("write_cell", errno.EACCES),
        2,
        ["could not be stored", "permission denied", "to continue:"],
        "failed",
    ),
    (
        "disk-full-writing-the-report",
        _failing_write("write_results", errno.ENOSPC),
        2,
        ["the run stopped", "some-file: no space left on device", "to continue:"],
        "failed",
    ),
    (
        "ctrl-c-during-the-report",
        _failing_write("write_summary", KeyboardInterrupt),
        130,
        ["interrupted (SIGINT)", "to continue:"],
        "interrupted",
    ),
    (
        "a-model-fails",
        _a_model_fails,
        1,
        ["synthetic/holdout/rocket/seed0: RuntimeError: the model broke", "to try them again", "--run-id base"],
        "failed cells",
    ),
    (
        "a-model-returns-nan",
        _a_model_misbehaves("_predict_proba", _nan_probabilities),
        1,
        [
            "synthetic/holdout/rocket/seed0: EcgbenchError: model 'rocket': predict_proba returned non-finite",
            "to try them again",
        ],
        "failed cells",
    ),
    (
        "a-model-returns-inf",
        _a_model_misbehaves("_predict_proba", _infinite_probabilities),
        1,
        ["synthetic/holdout/rocket/seed0:", "non-finite probabilities (NaN or infinite) for 1 of"],
        "failed cells",
    ),
    (
        "a-model-raises-an-ecgbench-error-in-fit",
        _a_model_misbehaves("_fit", _ecgbench_error_in_fit),
        1,
        ["synthetic/holdout/rocket/seed0: EcgbenchError: a plugin's own check failed"],
        "failed cells",
    ),
    (
        "a-model-calls-sys-exit",
        _a_model_misbehaves("_fit", _exit_in_fit),
        1,
        ["synthetic/holdout/rocket/seed0: RuntimeError: the model called sys.exit(3)"],
        "failed cells",
    ),
    ("results-dir-is-a-file", _run_into(_a_file), 2, ["--results-dir", "is a file; a folder is wanted"], None),
    (
        "results-dir-under-a-file",
        _run_into(lambda ctx: _a_file(ctx) / "results"),
        2,
        ["--results-dir", "results: it cannot be created", "is a file, not a folder"],
        None,
    ),
    (
        "results-dir-read-only",
        _run_into(lambda ctx: _read_only(ctx, _a_folder(ctx))),
        2,
        ["--results-dir", "permission denied"],
        None,
    ),
    ("compare-markdown-is-a-folder", _compare_markdown, 2, ["--markdown", "is a folder; give a file name"], None),
    ("leaderboard-out-is-a-folder", _leaderboard_out(_a_folder), 2, ["--out", "is a folder"], None),
    (
        "leaderboard-out-in-a-folder-that-cannot-be-made",
        _leaderboard_out(lambda ctx: _a_file(ctx) / "sub" / "x.md"),
        2,
        ["--out", "x.md: its folder cannot be created", "is a file, not a folder"],
        None,
    ),
    (
        "soft-vote-out-read-only",
        lambda ctx: ctx.cli("soft-vote", ctx.run, "all", "--out", _read_only(ctx, _a_folder(ctx))),
        2,
        ["--out", "permission denied"],
        None,
    ),
    (
        "prior-weights-out-is-a-file",
        lambda ctx: ctx.cli("prior-weights", ctx.run, "rocket", "--out", _a_file(ctx)),
        2,
        ["--out", "is a file"],
        None,
    ),
    (
        "data-export-output-is-a-file",
        lambda ctx: ctx.cli("data", "export", "synthetic", "--output", _a_file(ctx)),
        2,
        ["--output", "is a file; a folder is wanted"],
        None,
    ),
    ("results-csv-truncated", _damage("results.csv", _cut(25)), 2, ["results.csv is damaged", "truncated"], None),
    (
        "results-csv-cut-at-a-line",
        _damage("results.csv", _drop_last_line),
        2,
        ["results.csv is damaged", "1 row(s), but", "lists 2 cell(s)"],
        None,
    ),
    (
        "results-csv-garbage",
        _damage("results.csv", lambda p: p.write_bytes(GARBAGE)),
        2,
        ["results.csv", "damaged"],
        None,
    ),
    (
        "manifest-garbage",
        _damage("manifest.json", lambda p: p.write_bytes(GARBAGE)),
        2,
        ["manifest.json is damaged"],
        None,
    ),
    (
        "manifest-not-an-object",
        _damage("manifest.json", lambda p: p.write_text("[1, 2]")),
        2,
        ["manifest.json is damaged", "list"],
        None,
    ),
    (
        "manifest-without-datasets",
        _damage(
            "manifest.json",
            lambda p: p.write_text(json.dumps({k: v for k, v in json.loads(p.read_text()).items() if k != "datasets"})),
        ),
        2,
        ["manifest.json is damaged", "datasets missing"],
        None,
    ),
    ("published-a-directory", _published(None), 2, ["published.toml", "cannot be read"], None),
    ("published-not-utf8", _published(ANCHOR + b'source = "caf\xe9"\n'), 2, ["published.toml", "not a UTF-8"], None),
    (
        "published-anchor-without-source",
        _published(ANCHOR + b'accuracy = "0.9"\n'),
        2,
        ["published.toml: anchor #1", "source"],
        None,
    ),
    (
        "published-anchor-value-not-a-number",
        _published(ANCHOR + b'source = "x"\nf1_macro = "high"\n'),
        2,
        ["published.toml: anchor #1", "f1_macro = 'high'"],
        None,
    ),
    (
        "published-target-threshold-a-string",
        _published(TARGET + b'accuracy = "0.9"\n'),
        2,
        ["published.toml: target #1", "accuracy = '0.9' is not a number"],
        None,
    ),
    (
        "published-target-models-not-a-list",
        _published(TARGET.replace(b'["cnn"]', b'"cnn"') + b"accuracy = 0.9\n"),
        2,
        ["published.toml: target #1", "models must be"],
        None,
    ),
]


@pytest.mark.parametrize("case_id, act, code, words, status", CASES, ids=[c[0] for c in CASES])
def test_every_stop_and_every_error_is_recorded_and_one_line(
    case_id, act, code, words, status, base_run, tmp_path, monkeypatch, capsys
):
    run = tmp_path / "results" / "base"
    shutil.copytree(base_run, run)
    ctx = Ctx(tmp_path, run, monkeypatch, capsys)
    ctx.before = finished_cells(run)
    got, out, err = act(ctx)
    assert got == code, (out, err)
    assert "Traceback" not in err and "Traceback" not in out, err
    if code == 2:
        lines = [line for line in err.splitlines() if line.startswith("error: ")]
        assert len(lines) == 1 and words[0] in lines[0], err
    for word in words:
        assert word in err, (word, err)
    assert finished_cells(ctx.run) == ctx.before, "a finished cell changed"
    assert not (ctx.tmp / "results" / "new").exists()
    manifest = json.loads((ctx.run / "manifest.json").read_text()) if status else None
    if status:
        assert manifest["status"] == status and not (ctx.run / "lock.json").exists()
    if status == "interrupted":
        assert manifest["stopped"]["signal"] == words[0][13:-1] and manifest["stopped"]["at"]
    if status == "failed":
        assert words[1] in manifest["stopped"]["reason"] and manifest["invocations"][-1]["stopped"]


def test_a_stopped_run_resumes_keeping_its_finished_cells(base_run, tmp_path, monkeypatch, capsys):
    run = tmp_path / "base"
    shutil.copytree(base_run, run)
    (run / "cells/synthetic/holdout/rocket/seed0/metrics.json").unlink()
    before = finished_cells(run)
    monkeypatch.setattr(RunStore, "write_cell", lambda *a: (_ for _ in ()).throw(OSError(errno.ENOSPC, "full")))
    assert main(["run", *FAST, "--run-id", "base", "--results-dir", str(tmp_path)]) == 2
    monkeypatch.undo()
    assert main(["run", *FAST, "--run-id", "base", "--results-dir", str(tmp_path)]) == 0
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["status"] == "complete" and "stopped" not in manifest
    assert manifest["invocations"][-2]["stopped"]["reason"].endswith("(or write access)")
    after = finished_cells(run)
    assert {k: after[k] for k in before} == before and len(after) == 4


def test_a_dask_worker_that_cannot_store_its_cell_stops_the_run(tmp_path, monkeypatch):
    from distributed import Scheduler, SpecCluster, Worker

    from ecgbench.core.errors import EcgbenchError
    from ecgbench.run.suite import Suite
    from ecgbench.workflow import run_suite

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(RunStore, "write_cell", full)  # the workers are threads of this process: they see it
    suite = Suite(datasets=["synthetic"], models=["minirocket"], seeds=[0, 1])
    suite.make_quick()
    workers = {"w": {"cls": Worker, "options": {"nthreads": 1}}}
    with SpecCluster(workers=workers, scheduler={"cls": Scheduler, "options": {"dashboard_address": None}}) as cluster:
        executor = executors.DaskExecutor(executors.scheduler(cluster.scheduler_address), threads=1, retries=0)
        with pytest.raises(EcgbenchError, match="could not be stored: no space left on device") as stop:
            run_suite(suite, tmp_path / "d", None, "python -m ecgbench run", executor)
    assert stop.value.resume == "python -m ecgbench run --run-id d"
    manifest = json.loads((tmp_path / "d" / "manifest.json").read_text())
    assert manifest["status"] == "failed" and "no space left" in manifest["stopped"]["reason"]


def test_a_target_over_models_absent_from_the_run_names_them():
    from ecgbench.reports.leaderboard import check_targets

    targets = [{"evaluation": "inter-patient", "rule": "every", "models": ["cnn", "lstm"], "accuracy": 0.9}]
    (line,) = check_targets(targets, {})
    assert "**not resolved**" in line and "cnn, lstm: not in this run" in line
