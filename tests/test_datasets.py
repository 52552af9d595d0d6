"""adpharm.datasets: every real file by name, verified by SHA-256, found offline or fetched on request (issue 34)."""
import functools
import hashlib
import http.server
import subprocess
import threading
from pathlib import Path

import pytest

from adpharm import datasets
from conftest import REPO, data, run_cli, strict_json


@pytest.mark.parametrize("name", datasets.names())
def test_every_registered_file_is_here_and_has_its_hash(name):
    """With shared/ beside the checkout every dataset is found and verified; elsewhere each test skips by name."""
    p = data(name)
    assert hashlib.sha256(p.read_bytes()).hexdigest() == datasets.get(name).sha256
    assert p.stat().st_size == datasets.get(name).size_bytes


def test_the_registry_lists_every_file_of_the_shared_folder():
    """A file added to ../shared/data without a registry row would be read by path, not by name."""
    shared = [p for label, p in datasets.search_paths() if label.startswith("shared")]
    if not shared or not shared[0].is_dir():
        pytest.skip("dataset folder shared/data is not beside this checkout")
    files = {str(p.relative_to(shared[0])) for p in shared[0].rglob("*") if p.is_file() and p.name != "PROVENANCE.md"}
    assert files == {d.file for d in datasets.registry().values()}


def test_every_dataset_names_licence_citation_and_origin():
    for d in datasets.registry().values():
        assert d.licence in {"MIT", "GPL-3.0", "GPL-2.0-or-later", "CC-BY-4.0"}, d.name
        assert len(d.sha256) == 64 and d.citation and d.source, d.name
        assert d.url is None or d.url.startswith("https://raw.githubusercontent.com/"), d.name


def test_no_tracked_file_holds_an_absolute_path_of_a_machine():
    """A clone anywhere must run: no /home/<user>, /root, /Users/<user>, /work/... or C:\\Users path in tracked files."""
    import re
    files = subprocess.run(["git", "ls-files"], cwd=REPO, capture_output=True, text=True, check=True).stdout.split()
    pattern = re.compile(r"""["'\s(=](/(home|Users)/[a-z][\w.-]*/|/root/|/work/[\w.-]+/|[A-Z]:\\\\Users\\\\)""")
    offenders = []
    for f in files:
        p = REPO / f
        if p.suffix in {".png", ".svg", ".abf", ".gz", ".xlsx", ".tif", ".jpg"} or not p.is_file():
            continue
        for i, line in enumerate(p.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
            if pattern.search(line):
                offenders.append(f"{f}:{i}: {line.strip()[:100]}")
    assert not offenders, "\n".join(offenders)


def test_a_missing_dataset_skips_naming_it_and_the_command(monkeypatch, tmp_path):
    monkeypatch.setattr(datasets, "search_paths", lambda: [("cache", tmp_path)])
    with pytest.raises(pytest.skip.Exception, match=r"dataset ovx2016_FST is not available offline: "
                                                    r"`adpharm datasets fetch ovx2016_FST`"):
        data("ovx2016_FST")
    with pytest.raises(datasets.DatasetError, match="run `adpharm datasets fetch ovx2016_FST`"):
        datasets.fetch("ovx2016_FST", download=False)


def test_a_corrupted_cached_copy_is_refused(monkeypatch, tmp_path):
    d = datasets.get("behaviopy_sucrosepreference")
    bad = tmp_path / d.file
    bad.parent.mkdir(parents=True)
    bad.write_text("Cage ID,Treatment\n1,x\n")
    monkeypatch.setattr(datasets, "search_paths", lambda: [("cache", tmp_path)])
    with pytest.raises(datasets.DatasetError, match=r"fails its hash check .* delete it and run"):
        datasets.fetch(d.name)


def test_cli_list_json_and_a_corrupted_copy(tmp_path):
    r = run_cli("datasets", "list", "--format", "json")
    assert r.returncode == 0, r.stderr
    rows = strict_json(r.stdout)["datasets"]
    assert [x["name"] for x in rows] == datasets.names()
    assert all({"sha256", "licence", "citation", "url", "source", "status"} <= set(x) for x in rows)
    d = datasets.get("behaviopy_sucrosepreference")
    (tmp_path / "spt").mkdir()
    (tmp_path / d.file).write_text("not the file\n")
    bad = run_cli("datasets", "fetch", d.name, env={**__import__("os").environ, "ADPHARM_DATA": str(tmp_path)})
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "fails its hash check" in bad.stderr
    unknown = run_cli("datasets", "path", "ovx2016_fst")
    assert unknown.returncode == 2 and "did you mean ovx2016_FST" in unknown.stderr


@pytest.fixture
def loopback_server(tmp_path):
    """A file server on 127.0.0.1 standing in for a dataset's origin."""
    root = tmp_path / "origin"
    root.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *a, **k: None
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield root, f"http://127.0.0.1:{srv.server_address[1]}"
    srv.shutdown()


def test_fetch_downloads_into_the_cache_and_checks_the_hash(monkeypatch, tmp_path, loopback_server):
    pytest.importorskip("pooch")
    root, base = loopback_server
    body = b"StudyID,Drug\nA,placebo\n"
    (root / "good.csv").write_bytes(body)
    (root / "bad.csv").write_bytes(body + b"tampered\n")
    sha = hashlib.sha256(body).hexdigest()
    reg = {n: datasets.Dataset(n, f"evidence/{n}.csv", sha, len(body), "test origin", f"{base}/{n}.csv", "MIT", "test")
           for n in ("good", "bad")}
    cache = tmp_path / "cache"
    monkeypatch.setattr(datasets, "registry", lambda: reg)
    monkeypatch.setattr(datasets, "search_paths", lambda: [("cache", cache)])
    monkeypatch.setattr(datasets, "cache_dir", lambda: cache)
    got = datasets.fetch("good")
    assert got == cache / "evidence" / "good.csv" and got.read_bytes() == body
    with pytest.raises(datasets.DatasetError, match="download from .*bad.csv failed"):
        datasets.fetch("bad")
    assert not (cache / "evidence" / "bad.csv").exists()


def test_unreachable_origin_is_one_line(monkeypatch, tmp_path):
    pytest.importorskip("pooch")
    d = datasets.get("ovx2016_FST")
    reg = {d.name: datasets.Dataset(**{**d.to_dict(), "url": "http://127.0.0.1:9/ovx2016_FST.csv"})}
    monkeypatch.setattr(datasets, "registry", lambda: reg)
    monkeypatch.setattr(datasets, "search_paths", lambda: [("cache", tmp_path)])
    monkeypatch.setattr(datasets, "cache_dir", lambda: tmp_path)
    with pytest.raises(datasets.DatasetError) as exc:
        datasets.fetch(d.name)
    assert "\n" not in str(exc.value) and "download from http://127.0.0.1:9/" in str(exc.value)


def test_a_tests_reading_path_never_leaves_the_registry():
    """The suite reaches real files by name only: no test builds a path into shared/data."""
    offenders = [str(p.relative_to(REPO)) for p in (REPO / "tests").rglob("*.py")
                 if "SHARED_DATA" in p.read_text(encoding="utf-8") and p.name != Path(__file__).name]
    assert not offenders
