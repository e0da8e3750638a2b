"""Nothing is lost or trusted blindly: real `mkdocs build` runs on real files.

(a) A build writes only to `site_dir` and `cache_dir`: every other file and directory
    under the test's temporary directory (the project, and the HOME and TMPDIR the build
    runs with) keeps its path, size, mtime and SHA-256, through a cold, a warm and a
    failing build.
(b) The disk cache survives damage: an entry that is truncated, random bytes, JSON of the
    wrong shape, written with another format version or under another key, or with fields
    of the wrong type is a miss. The build still succeeds with the right numbers and the
    entry is rewritten, byte for byte as a clean build writes it. A tampered number in such
    an entry never reaches the page. (A well-typed entry with the right key and format *is*
    trusted: see `test_well_typed_tampered_entry_with_right_key_is_trusted`.)
(c) Two clean builds, with fresh caches, give byte-identical page HTML: for a small
    generated site, and for the repository's guide.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import random
import re
import shutil
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from bs4 import BeautifulSoup

from conftest import Built, build_env, build_guide, cifar_block, mkdocs, write_site

PAGES = {
    "index.md": "# A small site\n\n```cnn-cost\n" + cifar_block("cifar") + "```\n\n"
                "The net has `#!cnn cifar.params` parameters.\n",
    "guide/stem.md": """
        # A stem and a recurrent layer

        ```cnn-cost
        id: stem
        title: A ResNet stem
        input: 3x224x224
        flops: detailed
        layers:
          conv1: Conv2d(3, 64, 7, stride=2, padding=3, bias=False)
          bn1: BatchNorm2d(64)
          relu: ReLU()
          pool: MaxPool2d(3, stride=2, padding=1)
        expect:
          conv1.params: 9,408
          bn1.params: 128
          output: [1, 64, 56, 56]
        ```

        ```cnn-cost
        id: lstm
        input: [1, 20, 32]
        layers:
          lstm: LSTM(32, 64, num_layers=2, batch_first=True)
        expect:
          params: 58,368
          output: [1, 20, 64]
        ```

        The CIFAR net of the first page: `#!cnn index.md#cifar.params = 545,098` parameters.
        """,
    "img/dot.svg": '<svg xmlns="http://www.w3.org/2000/svg" width="1" height="1"/>\n',
}


# ----------------------------------------------------------------- helpers ----
#
# Sites are written by conftest.write_site (a Material site with search and cnn-cost, the
# plugin's options as a dict) and built by conftest.mkdocs (`mkdocs build` in a subprocess).

Snapshot = dict[str, tuple[Any, ...]]


def snapshot(root: Path, ignore: tuple[Path, ...]) -> Snapshot:
    """(kind, size, mtime_ns, sha256) of every file and directory under root, except `ignore`d trees."""
    ignored = tuple(p.resolve() for p in ignore)
    out: Snapshot = {}
    for dirpath, dirnames, filenames in os.walk(root):
        here = Path(dirpath).resolve()
        dirnames[:] = sorted(d for d in dirnames if (here / d) not in ignored)
        for d in dirnames:
            out[str((here / d).relative_to(root.resolve())) + "/"] = ("dir",)
        for f in sorted(filenames):
            path = here / f
            if path in ignored:
                continue
            st = path.lstat()
            digest = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "-"
            out[str(path.relative_to(root.resolve()))] = ("file", st.st_size, st.st_mtime_ns, digest)
    return out


def diff(before: Snapshot, after: Snapshot, allowed: tuple[str, ...] = ()) -> list[str]:
    """What changed; a created directory whose path starts with one of `allowed` is not a change."""
    lines = [f"created: {p}" for p in sorted(after.keys() - before.keys())
             if not (p.endswith("/") and p.startswith(allowed))]
    lines += [f"deleted: {p}" for p in sorted(before.keys() - after.keys())]
    lines += [f"changed: {p} {before[p]} -> {after[p]}" for p in sorted(before.keys() & after.keys())
              if before[p] != after[p]]
    return lines


def html_files(site: Path) -> dict[str, bytes]:
    return {str(p.relative_to(site)): p.read_bytes() for p in sorted(site.rglob("*.html"))}


def total_params(html: str, block_id: str) -> str:
    """The text of the Params cell of the totals row of block `block_id` (or why there is none)."""
    soup = BeautifulSoup(html, "html.parser")
    block = soup.find(id=f"cnn-cost-{block_id}")
    if block is None:
        return "<no block with this id>"
    row = block.select_one("tr.cnn-cost-total")
    if row is None:
        return "<no table>"
    return " ".join(row.find_all("td")[3].get_text(" ").split())


# ----------------------------------------------- (a) writes stay in their place ----


def isolated_env(tmp_path: Path) -> dict[str, str]:
    """HOME and TMPDIR inside tmp_path (so they are snapshotted too); bytecode writing as Python's default."""
    home, tmp = tmp_path / "home", tmp_path / "tmp"
    home.mkdir(exist_ok=True)
    tmp.mkdir(exist_ok=True)
    env = build_env(HOME=str(home), TMPDIR=str(tmp))
    for name in ("PYTHONDONTWRITEBYTECODE", "XDG_CACHE_HOME", "XDG_CONFIG_HOME", "XDG_DATA_HOME"):
        env.pop(name, None)
    return env


# PyTorch itself (not the plugin) creates an empty `$TMPDIR/torchinductor_<user>/` the first time
# a recurrent layer (LSTM here) runs on meta tensors; that one directory in TMPDIR is tolerated.
TORCH_TMP = "tmp/torchinductor_"


def check_builds_write_only_site_and_cache(tmp_path: Path, project: Path, cache: Path) -> None:
    env = isolated_env(tmp_path)
    site = project / "site"
    ignore = (site, cache)
    # creating the site and cache directories creates their missing parents (.cache/ of .cache/cnn-cost)
    parents = tuple(str(p.relative_to(tmp_path)) + "/" for d in ignore for p in d.parents
                    if p.is_relative_to(project) and p != project)
    allowed = (*parents, TORCH_TMP)

    for run in ("cold", "warm"):
        before = snapshot(tmp_path, ignore)
        built = mkdocs(project, env=env)
        assert built.code == 0, f"{run} build failed:\n{built.out}"
        assert diff(before, snapshot(tmp_path, ignore), allowed) == [], f"{run} build wrote outside site and cache"
        assert any(cache.glob("*.json")), "the cache was not written where configured"
        assert "545,098" in built.html("index.html")

    # a failing build (a wrong number) keeps its hands off the sources too
    page = project / "docs" / "index.md"
    page.write_text(page.read_text(encoding="utf-8").replace("params: 545,098", "params: 545,099"),
                    encoding="utf-8")
    before = snapshot(tmp_path, ignore)
    built = mkdocs(project, env=env)
    assert built.code != 0, built.out
    assert "params: expected 545,099, computed 545,098" in built.out
    assert diff(before, snapshot(tmp_path, ignore), allowed) == [], "the failing build wrote outside site and cache"


def test_build_writes_only_site_and_cache(tmp_path: Path) -> None:
    """Default cache_dir (.cache/cnn-cost beside mkdocs.yml) and default site_dir."""
    project = write_site(tmp_path / "project", PAGES)
    check_builds_write_only_site_and_cache(tmp_path, project, project / ".cache" / "cnn-cost")


IMPORTED_MODULE = """\
from torch import nn


def Tiny(channels):
    return nn.Sequential(nn.Conv2d(3, channels, 3), nn.ReLU())
"""


def test_build_with_imported_model_writes_only_site_and_cache(tmp_path: Path) -> None:
    """`imports: [site_models]`: the module is imported from the project directory."""
    pages = {
        **PAGES,
        "imported.md": """
            # Imported

            ```cnn-cost
            input: 3x32x32
            model: site_models.Tiny(8)
            expect:
              params: 224
            ```
            """,
    }
    project = write_site(tmp_path / "project", pages, {"imports": ["site_models"], "cache_dir": "build-cache"})
    (project / "site_models.py").write_text(IMPORTED_MODULE, encoding="utf-8")
    check_builds_write_only_site_and_cache(tmp_path, project, project / "build-cache")


# ------------------------------------------------------ (b) a damaged cache ----
#
# The cache holds two kinds of JSON entry, one file per key: results (`<key>.json`: the numbers
# of one block, or its error) and views (`views/<key>.json`: the HTML of a block that rendered
# without problems, with its id and the key of its result). Both carry `format` and `key`.

CACHE_BLOCK = """
    ```cnn-cost
    id: {name}
    input: 3x32x32
    layers:
      conv: Conv2d(3, {c}, 3, padding=1)
      pool: MaxPool2d(2, 2)
      flat: Flatten()
      fc: Linear({c} * 16 * 16, 10)
    expect:
      params: {params:,}
      conv.params: {conv:,}
      output: [1, 10]
    ```

    `{name}` has `#!cnn {name}.params` parameters.
    """

TAMPERED = 999_999
RESULT, VIEW = "result", "view"


def params_of(c: int) -> tuple[int, int]:
    """(total, conv) parameters of CACHE_BLOCK with c channels: (27c + c) + (256c·10 + 10)."""
    conv = 27 * c + c
    return conv + 2560 * c + 10, conv


def kind_of(data: Any) -> str:
    return VIEW if isinstance(data, dict) and "html" in data else RESULT


def tamper(entry: dict[str, Any], total: int) -> dict[str, Any]:
    """The entry with consistent, well-typed, wrong numbers: the block's parameters become TAMPERED."""
    e = copy.deepcopy(entry)
    if kind_of(e) == VIEW:
        e["html"] = e["html"].replace(f"{total:,}", f"{TAMPERED:,}")
        return e
    e["result"]["params"] = e["result"]["trainable"] = TAMPERED
    for row in e["result"]["rows"]:
        row["params"] = TAMPERED if row["type"] == "Conv2d" else 0
    return e


def dumps(value: Any) -> bytes:
    return json.dumps(value).encode()


def without(entry: dict[str, Any], name: str) -> dict[str, Any]:
    return {k: v for k, v in entry.items() if k != name}


# (raw bytes, parsed entry, the block's right total) -> damaged bytes, or None: leave this kind alone
Damage = Callable[[bytes, dict[str, Any], int], "bytes | None"]


def result_only(change: Callable[[dict[str, Any], int], Any]) -> Damage:
    return lambda raw, e, total: dumps(change(e, total)) if kind_of(e) == RESULT else None


def view_only(change: Callable[[dict[str, Any], int], Any]) -> Damage:
    return lambda raw, e, total: dumps(change(e, total)) if kind_of(e) == VIEW else None


def result_field(**changes: Any) -> Damage:
    return result_only(lambda e, total: {**tamper(e, total), "result": {**tamper(e, total)["result"], **changes}})


def row_field(**changes: Any) -> Damage:
    def change(e: dict[str, Any], total: int) -> dict[str, Any]:
        t = tamper(e, total)
        t["result"]["rows"][0].update(changes)
        return t

    return result_only(change)


def view_field(**changes: Any) -> Damage:
    return view_only(lambda e, total: {**tamper(e, total), **changes})


def error_entry(e: dict[str, Any], key: Any, error: Any) -> dict[str, Any]:
    return {"format": e["format"], "key": key, "error": error}


DAMAGE: dict[str, Damage] = {
    # truncated, empty, not JSON
    "truncated-half": lambda raw, e, total: raw[: len(raw) // 2],
    "truncated-one-byte": lambda raw, e, total: raw[:-1],
    "empty": lambda raw, e, total: b"",
    "random-bytes": lambda raw, e, total: random.Random(1).randbytes(4096),  # noqa: S311 - reproducible junk
    "nul-bytes": lambda raw, e, total: b"\0" * len(raw),
    "not-utf8": lambda raw, e, total: b"\xff\xfe" + raw,
    "deeply-nested-json": lambda raw, e, total: b"[" * 100_000 + b"]" * 100_000,
    "huge-integer": lambda raw, e, total: raw.replace(b'"format": ', b'"format": 1' + b"0" * 5000 + b", \"x\": ", 1),
    # valid JSON, wrong shape
    "json-null": lambda raw, e, total: b"null",
    "json-list": lambda raw, e, total: dumps([tamper(e, total)]),
    "json-string": lambda raw, e, total: dumps(str(TAMPERED)),
    # another format version, another key: even well-typed tampered numbers are ignored
    "format-older": lambda raw, e, total: dumps({**tamper(e, total), "format": e["format"] - 1}),
    "format-newer": lambda raw, e, total: dumps({**tamper(e, total), "format": e["format"] + 1}),
    "format-missing": lambda raw, e, total: dumps(without(tamper(e, total), "format")),
    "format-as-string": lambda raw, e, total: dumps({**tamper(e, total), "format": str(e["format"])}),
    "key-of-another-block": lambda raw, e, total: dumps({**tamper(e, total), "key": "0" * 64}),
    "key-missing": lambda raw, e, total: dumps(without(tamper(e, total), "key")),
    "error-with-another-key": lambda raw, e, total: dumps(
        error_entry(e, "0" * 64, {"message": "tampered", "line": 1, "column": 1})),
    # an older version's layout: no format field, flat numbers
    "older-layout": lambda raw, e, total: dumps({"version": "0.0.1", "key": e["key"], "params": TAMPERED}),
    # results with the right key and format but a field of the wrong type or shape
    "result-is-list": result_only(lambda e, total: {**tamper(e, total), "result": [TAMPERED]}),
    "result-missing": result_only(lambda e, total: without(tamper(e, total), "result")),
    "rows-is-string": result_field(rows="conv"),
    "row-missing-field": result_field(rows=[{"params": TAMPERED}]),
    "outputs-wrong-shape": result_field(outputs=[["conv"]]),
    "params-as-string": result_field(params=str(TAMPERED)),
    "params-as-float": result_field(params=float(TAMPERED)),
    "params-as-bool": result_field(params=True),
    "params-null": result_field(params=None),
    "output-of-strings": result_field(output=["1", "10"]),
    "row-params-as-string": row_field(params=str(TAMPERED)),
    "row-formula-not-list": row_field(formula=7),
    "row-name-as-int": row_field(name=0),
    "error-is-string": result_only(lambda e, total: error_entry(e, e["key"], "tampered")),
    "error-line-as-string": result_only(lambda e, total: error_entry(
        e, e["key"], {"message": "tampered", "line": "1", "column": None})),
    # views with the right key and format but a field of the wrong type
    "html-as-int": view_field(html=TAMPERED),
    "html-as-list": view_field(html=[f"{TAMPERED:,}"]),
    "html-missing": view_only(lambda e, total: without(tamper(e, total), "html") | {"HTML": "x"}),
    "id-as-int": view_field(id=TAMPERED),
    "view-result-key-as-int": view_field(result=TAMPERED),
}
SPECIAL = ["older-version-file", "entry-deleted"]


def cache_pages(names: list[str]) -> tuple[dict[str, str], dict[str, int]]:
    """One page with one block per name, each with its own channel count (so its own cache entries)."""
    text, channels = "# Cache\n", {}
    for i, name in enumerate(names):
        c = 4 + i
        total, conv = params_of(c)
        channels[name] = c
        text += textwrap.dedent(CACHE_BLOCK).format(name=name, c=c, params=total, conv=conv)
    return {"index.md": text}, channels


def cache_files(cache: Path, channels: dict[str, int]) -> dict[str, dict[str, Path]]:
    """Block name -> {kind: file}: results are found by their total, views by their block id."""
    by_params = {params_of(c)[0]: name for name, c in channels.items()}
    found: dict[str, dict[str, Path]] = {name: {} for name in channels}
    for path in sorted(cache.rglob("*.json")):
        data = json.loads(path.read_bytes())
        assert data["key"] == path.stem, path
        kind = kind_of(data)
        name = data["id"] if kind == VIEW else by_params[data["result"]["params"]]
        assert kind not in found[name], f"two {kind} entries for {name}: {found[name][kind]}, {path}"
        found[name][kind] = path
    missing = [name for name, kinds in found.items() if RESULT not in kinds]
    assert missing == [], f"no result entry for {missing}; cache: {sorted(map(str, cache.rglob('*')))}"
    return found


def check_page(html: str, channels: dict[str, int]) -> list[str]:
    """Every block shows its right total in its table and in its sentence; no red box, no tampered number."""
    soup = BeautifulSoup(html, "html.parser")
    problems = [f"red box: {' '.join(d.get_text(' ').split())}" for d in soup.select("div.admonition.failure")]
    if f"{TAMPERED:,}" in html or str(TAMPERED) in html or "tampered" in html:
        problems.append("a tampered value reached the page")
    sentences = {" ".join(p.get_text(" ").split()) for p in soup.find_all("p")}
    for name, c in channels.items():
        total = f"{params_of(c)[0]:,}"
        shown = total_params(html, name)
        if shown != total:
            problems.append(f"{name}: totals row shows {shown!r}, expected {total}")
        if f"{name} has {total} parameters." not in sentences:
            problems.append(f"{name}: the sentence does not say {total}")
    return problems


@pytest.mark.long  # two builds of a 41-block page per kind, about 15 s each: run with --long
@pytest.mark.parametrize("kinds", [(RESULT, VIEW), (RESULT,), (VIEW,)], ids=["both", "results", "views"])
def test_damaged_cache_entries_are_misses_and_rewritten(tmp_path: Path, kinds: tuple[str, ...]) -> None:
    """Damage the result entries, the view entries, or both, of one block per kind of damage."""
    names = [*DAMAGE, *SPECIAL]
    pages, channels = cache_pages(names)
    cache = tmp_path / "cache"
    project = write_site(tmp_path / "project", pages, {"cache_dir": str(cache)})

    clean = mkdocs(project)
    assert clean.code == 0, clean.out
    assert check_page(clean.html("index.html"), channels) == []
    files = cache_files(cache, channels)
    if VIEW in kinds:  # a clean build caches the view of every block that rendered without problems
        assert any(VIEW in k for k in files.values()), "the cache has no view entries: view caching is broken"
    pristine = {path: path.read_bytes() for kinds_ in files.values() for path in kinds_.values()}

    damaged: set[Path] = set()
    old_files: dict[Path, bytes] = {}
    for name in names:
        total = params_of(channels[name])[0]
        for kind in kinds:
            path = files[name].get(kind)
            if path is None:
                continue
            raw = pristine[path]
            if name in SPECIAL:
                path.unlink()
                damaged.add(path)
                if name == "older-version-file":  # an older release: another key, so another file
                    old_key = hashlib.sha256(b"torch=2.0.0;cnn-cost=0.0.1;format=0" + raw).hexdigest()
                    old = path.with_name(f"{old_key}.json")
                    old.write_bytes(dumps({**tamper(json.loads(raw), total), "key": old_key, "format": 0}))
                    old_files[old] = old.read_bytes()
                continue
            bad = DAMAGE[name](raw, json.loads(raw), total)
            if bad is not None:
                path.write_bytes(bad)
                damaged.add(path)
    damaged_results = {name for name in names if files[name][RESULT] in damaged}

    rebuilt = mkdocs(project)
    assert rebuilt.code == 0, rebuilt.out
    assert "Traceback" not in rebuilt.out
    # a damaged result is evaluated again (the sentence needs it even when the view is reused)
    evaluated = re.search(r"cnn-cost: (\d+) blocks, (\d+) evaluated", rebuilt.out)
    assert evaluated is not None, rebuilt.out
    assert (int(evaluated[1]), int(evaluated[2])) == (len(names), len(damaged_results)), rebuilt.out
    assert check_page(rebuilt.html("index.html"), channels) == []
    not_rewritten = sorted(str(p.relative_to(cache)) for p in pristine if
                           not p.is_file() or p.read_bytes() != pristine[p])
    assert not_rewritten == [], "entries not rewritten as a clean build writes them"
    for old, data in old_files.items():
        assert old.read_bytes() == data, "another key's file was touched"
    assert sorted(cache.rglob(".tmp-*")) == [], "temporary files left in the cache directory"


def test_well_typed_tampered_entry_with_right_key_is_trusted(tmp_path: Path) -> None:
    """What the cache does NOT protect against (documented here, not a guarantee).

    Keys hash a block's input (its text, the convention, the versions); an entry is checked
    for its key, format and field types, not for the truth of its numbers:

    - a result entry with well-typed false numbers (and no view) is used as computed: the
      claim `params: 12,334` then fails against the tampered number;
    - a tampered error entry fails the build with its message;
    - a view entry with tampered HTML is shown as is, claims are not re-checked, and the
      build passes: the page prints the false number next to "Verified at build time".

    Deleting the cache directory recovers.
    """
    pages, channels = cache_pages(["net"])
    cache = tmp_path / "cache"
    project = write_site(tmp_path / "project", pages, {"cache_dir": str(cache)})
    assert mkdocs(project).code == 0
    files = cache_files(cache, channels)["net"]
    pristine = {kind: path.read_bytes() for kind, path in files.items()}
    total = params_of(channels["net"])[0]
    result = json.loads(pristine[RESULT])

    def without_views() -> None:
        for path in cache.rglob("*.json"):
            if kind_of(json.loads(path.read_bytes())) == VIEW:
                path.unlink()

    without_views()
    files[RESULT].write_bytes(dumps(tamper(result, total)))
    built = mkdocs(project)
    assert built.code != 0
    assert f"params: expected {total:,}, computed {TAMPERED:,}" in built.out

    without_views()
    files[RESULT].write_bytes(dumps(error_entry(result, result["key"],
                                                {"message": "tampered error", "line": 1, "column": 1})))
    built = mkdocs(project)
    assert built.code != 0
    assert "tampered error" in built.out

    assert VIEW in files, "the cache has no view entry: view caching is broken"
    files[RESULT].write_bytes(pristine[RESULT])
    files[VIEW].parent.mkdir(exist_ok=True)
    files[VIEW].write_bytes(dumps(tamper(json.loads(pristine[VIEW]), total)))
    built = mkdocs(project)
    assert built.code == 0, built.out
    assert total_params(built.html("index.html"), "net") == f"{TAMPERED:,}"

    shutil.rmtree(cache)
    built = mkdocs(project)
    assert built.code == 0, built.out
    assert check_page(built.html("index.html"), channels) == []
    assert {kind: path.read_bytes() for kind, path in files.items()} == pristine


def test_unusable_cache_directory_does_not_fail_the_build(tmp_path: Path) -> None:
    """cache_dir is a file: nothing can be cached on disk, the build still gives the right numbers."""
    pages, channels = cache_pages(["net"])
    blocker = tmp_path / "cache"
    blocker.write_text("not a directory\n", encoding="utf-8")
    project = write_site(tmp_path / "project", pages, {"cache_dir": str(blocker)})
    built = mkdocs(project)
    assert built.code == 0, built.out
    assert check_page(built.html("index.html"), channels) == []
    assert blocker.read_text(encoding="utf-8") == "not a directory\n"


def test_entry_path_taken_by_a_directory_leaves_no_temporary_file(tmp_path: Path) -> None:
    """The entry's file name is taken by a directory: the build works, no `.tmp-*` file is left."""
    pages, channels = cache_pages(["net"])
    cache = tmp_path / "cache"
    project = write_site(tmp_path / "project", pages, {"cache_dir": str(cache)})
    assert mkdocs(project).code == 0
    for path in cache_files(cache, channels)["net"].values():
        path.unlink()
        path.mkdir()
    built = mkdocs(project)
    assert built.code == 0, built.out
    assert check_page(built.html("index.html"), channels) == []
    assert sorted(cache.rglob(".tmp-*")) == [], "temporary files left in the cache directory"
    assert sorted(cache.rglob("*.json")) == sorted(p for p in cache.rglob("*.json") if p.is_dir())


# ------------------------------------------------------ (c) reproducibility ----


def compare_sites(a: Path, b: Path) -> list[str]:
    """Differences between the page HTML of two builds (other files are not compared)."""
    pages_a, pages_b = html_files(a), html_files(b)
    problems = [f"only in one build: {p}" for p in sorted(pages_a.keys() ^ pages_b.keys())]
    problems += [f"differs: {p}" for p in sorted(pages_a.keys() & pages_b.keys()) if pages_a[p] != pages_b[p]]
    return problems


def pages_with_tables(site: Path) -> list[str]:
    return [p for p, data in html_files(site).items() if b"cnn-cost-total" in data]


def test_two_clean_builds_of_a_small_site_are_identical(tmp_path: Path) -> None:
    project = write_site(tmp_path / "project", PAGES, {"cache_dir": "cache-placeholder"})
    config = project / "mkdocs.yml"
    sites = []
    for run in ("one", "two"):
        cache = tmp_path / f"cache-{run}"
        text = re.sub(r"cache_dir: .*", f"cache_dir: {cache}", config.read_text(encoding="utf-8"))
        config.write_text(text, encoding="utf-8")
        built = mkdocs(project, site=tmp_path / f"site-{run}")
        assert built.code == 0, built.out
        assert any(cache.glob("*.json")), "the fresh cache was not used"
        sites.append(built.site)
    assert sorted(pages_with_tables(sites[0])) == ["guide/stem/index.html", "index.html"]
    assert compare_sites(*sites) == []


def test_two_clean_builds_of_the_guide_are_identical(guide: Built, tmp_path: Path) -> None:
    """The session's build of the guide and a second one, each with a fresh cache (conftest.build_guide)."""
    if guide.code != 0:
        tail = "\n".join(guide.out.splitlines()[-15:])
        pytest.skip(f"the guide does not build at the moment (test_build's business, not this test's):\n{tail}")
    again = build_guide(tmp_path)
    if again.code != 0:
        pytest.fail(f"the guide built once but not twice:\n{again.out}")
    for built in (guide, again):
        assert any((built.site.parent / "cache").glob("*.json")), "the cache_dir override did not take effect"
    with_blocks = pages_with_tables(guide.site)
    assert with_blocks, "no page of the guide has a cnn-cost table"
    problems = compare_sites(guide.site, again.site)
    assert [p for p in problems if any(page in p for page in with_blocks)] == []
    assert problems == []
    shutil.rmtree(again.site)  # the guide is big: keep the temp dir small
