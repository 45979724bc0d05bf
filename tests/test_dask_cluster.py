"""``ess-qpv sirene --moteur dask`` on a real cluster: a ``dask scheduler`` and two
``dask worker`` processes started apart, as on several machines (here on 127.0.0.1, each
worker in a folder of its own). The counts equal the local engine's; both workers link
chunks; what they run is the engine's function on arrays the client sends them, never a
read of the client's files."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
import warnings
import zipfile

import pandas as pd
import pytest

from geo import cli
from geo.qpv import load_qpv
from tests.sirene_files import write_samples

pytest.importorskip("dask.distributed")


def _dask(*args: str) -> list[str]:
    found = shutil.which("dask")
    return [found, *args] if found else [sys.executable, "-m", "dask", *args]


def _stop(processes: list[subprocess.Popen]) -> None:
    for process in processes:
        if process.poll() is None:
            process.terminate()
    for process in processes:
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture
def cluster(tmp_path_factory):
    """A scheduler and two workers, each its own process; always stopped."""
    from dask.distributed import Client

    folder = tmp_path_factory.mktemp("cluster")
    address_file = folder / "scheduler.json"
    processes: list[subprocess.Popen] = []
    logs = []
    try:
        log = open(folder / "scheduler.log", "w")  # noqa: SIM115 - closed below
        logs.append(log)
        processes.append(subprocess.Popen(
            _dask("scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                  "--scheduler-file", str(address_file)),
            cwd=folder, stdout=log, stderr=subprocess.STDOUT))
        deadline = time.monotonic() + 60
        while not address_file.exists() or not address_file.read_text().strip():
            assert processes[0].poll() is None, (folder / "scheduler.log").read_text()
            assert time.monotonic() < deadline, "le scheduler n'a pas démarré"
            time.sleep(0.2)
        address = json.loads(address_file.read_text())["address"]
        for name in ("machine-a", "machine-b"):
            home = folder / name
            home.mkdir()
            log = open(folder / f"{name}.log", "w")  # noqa: SIM115 - closed below
            logs.append(log)
            processes.append(subprocess.Popen(
                _dask("worker", address, "--name", name, "--nworkers", "1", "--nthreads",
                      "1", "--no-dashboard", "--local-directory", str(home)),
                cwd=home, stdout=log, stderr=subprocess.STDOUT))
        with Client(address, timeout="30s") as client:
            client.wait_for_workers(2, timeout=90)
        yield address
    finally:
        _stop(processes)
        for log in logs:
            log.close()


def _run(*argv: str) -> int:
    """The command's exit code (its French warnings of points outside France are expected:
    made-up points 3–8 km from an island's quartier may fall in the sea)."""
    with warnings.catch_warnings():
        warnings.simplefilter("default")
        return cli.main(list(argv))


def test_a_cluster_started_apart_counts_as_the_local_engine(cluster, tmp_path, capsys):
    from dask.distributed import Client

    files = write_samples(tmp_path / "insee", load_qpv(), n=6000, seed=11)
    # INSEE's zipped format, read by the client alone
    geoloc = tmp_path / "insee" / "geoloc.zip"
    with zipfile.ZipFile(geoloc, "w", zipfile.ZIP_DEFLATED) as z:
        z.write(files["geoloc"], files["geoloc"].name)
    common = ["sirene", str(geoloc), "--unites-legales", str(files["units"]),
              "--etablissements", str(files["establishments"]), "--morceaux", "1000"]
    assert _run(*common, "-o", str(tmp_path / "local.xlsx"), "--par-qpv",
                str(tmp_path / "local.csv"), "--coeurs", "1") == 0
    assert _run(*common, "-o", str(tmp_path / "dask.xlsx"), "--par-qpv",
                str(tmp_path / "dask.csv"), "--moteur", "dask", "--dask-scheduler",
                cluster) == 0, capsys.readouterr().err
    local, dask = (pd.read_csv(tmp_path / f"{engine}.csv", sep=";", dtype=str,
                               encoding="utf-8-sig") for engine in ("local", "dask"))
    pd.testing.assert_frame_equal(local, dask)
    for counted in ("etablissements_ess_implantes", "etablissements_ess_proximite"):
        assert local[counted].astype(int).sum() > 50  # the sample means something
    for sheet in ("Par territoire", "Accord INSEE", "Lecture"):
        pd.testing.assert_frame_equal(pd.read_excel(tmp_path / "local.xlsx", sheet_name=sheet),
                                      pd.read_excel(tmp_path / "dask.xlsx", sheet_name=sheet))
    with Client(cluster, timeout="30s") as client:
        ran = client.run(lambda dask_worker: (
            dask_worker.name, dask_worker.state.executed_count,
            sorted({str(entry[0]).split("-")[0] for entry in dask_worker.state.log
                    if isinstance(entry[0], str) and entry[1:3] == ("executing",
                                                                     "memory")})))
    names = {name for name, _, _ in ran.values()}
    assert names == {"machine-a", "machine-b"}
    # six chunks: both workers linked some, and ran nothing but the engine's function
    executed = [count for _, count, _ in ran.values()]
    assert min(executed) >= 1 and sum(executed) == 6, ran
    assert {tuple(kinds) for _, _, kinds in ran.values()} == {("count_chunk",)}, ran
