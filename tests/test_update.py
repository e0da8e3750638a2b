"""`cnn-cost update`: wrong claimed numbers rewritten to the computed ones, touching only those values; run as a
subprocess on temp files (the diff and the file after, exactly), and in-process where a failure is forced."""

from __future__ import annotations

import os
import subprocess
import sys
import types
from fractions import Fraction
from pathlib import Path

import pytest

from cnn_cost import atomic, cli
from cnn_cost.claims import parse_claim, rewritten


def run(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "cnn_cost.cli", *args], capture_output=True, text=True,
                          timeout=300, check=False, cwd=cwd)


# The net: Conv2d(3, 8, 3) has 224 parameters and 194,400 MACs, Linear(7200, 10) 72,010 and 72,000;
# in all 72,234 parameters, 266,400 MACs, 532,800 FLOPs, 288,936 B, output [1, 10].
PAGE = """\
# Costs

```cnn-cost
# a comment before everything
id: net      # the net
input: 3x32x32
model: |
  nn.Sequential(
      nn.Conv2d(3, 8, 3), nn.ReLU(),   # params: 225 is no claim
      nn.Flatten(), nn.Linear(8 * 30 * 30, 10))
expect:
  params:    72_000       # exact, with underscores
  "0.params": '225'       # quoted key and value
  macs: 266.4K            # holds: untouched
  flops: ≈ 4.52M
  memory: 0.29 MB         # holds
  output: [ 1,11 ]        # odd spacing
  3.output: 1x9
  0.macs: 194,400
```

The net has `#!cnn net.params = 1,000` parameters, `#!cnn net.macs / net.params = 3.2` MACs per
parameter, and its output is `#!cnn net.output`.

> ```cnn-cost
> id: quoted
> model: nn.Linear(8, 4)
> expect: {params: 37, trainable: 36}
> ```

- In a list:

    ```cnn-cost
    input: 8
    model: nn.Linear(8, 4)
    expect:
      params: "~50"
      output:
        - 1
        - 5
    ```

```cnn-cost
id: demo
xfail: true
model: nn.Linear(8, 4)
expect:
  params: 35
```

```cnn-cost
id: bad
model: nn.Linear(8, 4
expect:
  params: 35
```

```cnn-cost
id: mismatch
input: 3x32x32
model: nn.Sequential(nn.Conv2d(3, 8, 3), nn.Linear(10, 5))
expect:
  params: 1
```

```cnn-cost
id: typo
model: nn.Linear(8, 4)
expect:
  parms: 36
  params: 35
```

````markdown
```cnn-cost
model: nn.Linear(8, 4)
expect:
  params: 35
```
````
"""

# every change, each a value written over: nothing else of the file moves
CHANGES = [
    ("  params:    72_000       # exact", "  params:    72_234       # exact"),
    ("""  "0.params": '225'  """, """  "0.params": '224'  """),
    ("  flops: ≈ 4.52M\n", "  flops: ≈ 0.53M\n"),
    ("  output: [ 1,11 ]  ", "  output: [ 1,10 ]  "),
    ("  3.output: 1x9\n", "  3.output: 1x10\n"),
    ("`#!cnn net.params = 1,000`", "`#!cnn net.params = 72,234`"),
    ("`#!cnn net.macs / net.params = 3.2`", "`#!cnn net.macs / net.params = 3.7`"),
    ("> expect: {params: 37, trainable: 36}", "> expect: {params: 36, trainable: 36}"),
    ('      params: "~50"\n', '      params: "~40"\n'),
    ("        - 1\n        - 5\n", "        - 1\n        - 4\n"),
    ("  parms: 36\n  params: 35\n", "  parms: 36\n  params: 36\n"),
]

DIFF = """\
--- a/page.md
+++ b/page.md
@@ -9,23 +9,23 @@
       nn.Conv2d(3, 8, 3), nn.ReLU(),   # params: 225 is no claim
       nn.Flatten(), nn.Linear(8 * 30 * 30, 10))
 expect:
-  params:    72_000       # exact, with underscores
-  "0.params": '225'       # quoted key and value
+  params:    72_234       # exact, with underscores
+  "0.params": '224'       # quoted key and value
   macs: 266.4K            # holds: untouched
-  flops: ≈ 4.52M
+  flops: ≈ 0.53M
   memory: 0.29 MB         # holds
-  output: [ 1,11 ]        # odd spacing
-  3.output: 1x9
+  output: [ 1,10 ]        # odd spacing
+  3.output: 1x10
   0.macs: 194,400
 ```

-The net has `#!cnn net.params = 1,000` parameters, `#!cnn net.macs / net.params = 3.2` MACs per
+The net has `#!cnn net.params = 72,234` parameters, `#!cnn net.macs / net.params = 3.7` MACs per
 parameter, and its output is `#!cnn net.output`.

 > ```cnn-cost
 > id: quoted
 > model: nn.Linear(8, 4)
-> expect: {params: 37, trainable: 36}
+> expect: {params: 36, trainable: 36}
 > ```

 - In a list:
@@ -34,10 +34,10 @@
     input: 8
     model: nn.Linear(8, 4)
     expect:
-      params: "~50"
+      params: "~40"
       output:
         - 1
-        - 5
+        - 4
     ```

 ```cnn-cost
@@ -68,7 +68,7 @@
 model: nn.Linear(8, 4)
 expect:
   parms: 36
-  params: 35
+  params: 36
 ```

 ````markdown
""".replace("\n\n", "\n \n")  # a context line of an empty line is one space

LEFT_ALONE = [
    "page.md:43: cnn-cost block 'demo': xfail: true, wrong on purpose (block not updated)",
    "page.md:53:17: cnn-cost block 'bad': invalid layer expression: '(' was never closed (block not updated)",
    "page.md:61:42: cnn-cost block 'mismatch': layer 1, Linear(10, 5), expects 10 input features (last dimension), "
    "got 30; layer 0 gives [1, 8, 30, 30] (block not updated)",
    "page.md:70: cnn-cost block 'typo': unknown claim 'parms' (did you mean 'params'?) (claim not updated)",
]


def expected(text: str = PAGE) -> str:
    for old, new in CHANGES:
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    return text


def test_update_rewrites_only_the_wrong_values(tmp_path: Path):
    page = tmp_path / "page.md"
    page.write_text(PAGE, encoding="utf-8")
    done = run(tmp_path, "update", "page.md")
    assert done.stdout == DIFF
    assert page.read_text(encoding="utf-8") == expected()
    assert done.stderr.splitlines()[:-1] == LEFT_ALONE
    assert done.stderr.splitlines()[-1] == "cnn-cost: 11 claims updated in 1 of 1 files, 3 problems left"
    assert done.returncode == 1  # problems are left
    after = run(tmp_path, "check", "page.md")  # no wrong number is left: only the blocks update may not touch
    assert after.returncode == 1
    assert "expected" not in after.stderr
    assert after.stderr.count("cnn-cost block") == 3


def test_check_passes_after_update_and_a_second_update_changes_nothing(tmp_path: Path):
    keep = ("```cnn-cost\nid: demo", "```cnn-cost\nid: bad", "```cnn-cost\nid: mismatch", "```cnn-cost\nid: typo")
    blocks = PAGE.split("\n\n")
    only_wrong = "\n\n".join(b for b in blocks if not b.startswith(keep))  # the page without its bad blocks
    page = tmp_path / "page.md"
    page.write_text(only_wrong, encoding="utf-8")
    assert run(tmp_path, "check", "page.md").returncode == 1
    done = run(tmp_path, "update", "page.md")
    assert done.returncode == 0, done.stderr
    assert "cnn-cost: 10 claims updated in 1 of 1 files, 0 problems left" in done.stderr
    checked = run(tmp_path, "check", "page.md")
    assert checked.returncode == 0, checked.stderr
    again = run(tmp_path, "update", "page.md")
    assert again.returncode == 0 and again.stdout == ""
    assert "cnn-cost: 0 claims updated in 0 of 1 files, 0 problems left" in again.stderr


def test_dry_run_prints_the_diff_and_writes_nothing(tmp_path: Path):
    page = tmp_path / "page.md"
    page.write_text(PAGE, encoding="utf-8")
    done = run(tmp_path, "update", "--dry-run", "page.md")
    assert done.returncode == 1
    assert done.stdout == DIFF
    assert page.read_text(encoding="utf-8") == PAGE
    assert "cnn-cost: 11 claims would be updated (dry run: nothing written) in 1 of 1 files" in done.stderr
    clean = tmp_path / "clean.md"
    clean.write_text("# Net\n\n```cnn-cost\nmodel: nn.Linear(8, 4)\nexpect:\n  params: 36\n```\n", encoding="utf-8")
    nothing = run(tmp_path, "update", "-n", "clean.md")
    assert nothing.returncode == 0, nothing.stderr
    assert nothing.stdout == ""


def test_the_diff_applies_with_patch(tmp_path: Path):
    page = tmp_path / "page.md"
    page.write_text(PAGE, encoding="utf-8")
    patch = run(tmp_path, "update", "--dry-run", "page.md").stdout
    applied = subprocess.run(["git", "apply", "-"], input=patch, cwd=tmp_path, capture_output=True, text=True,
                             check=False, timeout=60)
    assert applied.returncode == 0, applied.stderr
    assert page.read_text(encoding="utf-8") == expected()


def test_crlf_endings_permissions_and_no_final_newline_are_kept(tmp_path: Path):
    page = tmp_path / "page.md"
    text = PAGE.rstrip("\n").replace("\n", "\r\n")
    page.write_bytes(text.encode("utf-8"))
    page.chmod(0o640)
    done = run(tmp_path, "update", "page.md")
    assert done.returncode == 1, done.stderr  # the problems of PAGE
    assert page.read_bytes() == expected(PAGE.rstrip("\n")).replace("\n", "\r\n").encode("utf-8")
    assert page.stat().st_mode & 0o777 == 0o640
    assert "\\ No newline at end of file" not in done.stdout  # the last line is unchanged: not in the diff


SITE_INDEX = """\
# The site's first page

```cnn-cost
model: nn.Linear(8, 4)
input: 8
id: fc
expect:
  params: 35
```

The other page's block has `#!cnn other.md#small.params = 8` parameters.
"""

SITE_OTHER = "```cnn-cost\nid: small\nmodel: nn.Linear(2, 3)\nexpect:\n  params: 9\n```\n"


def test_without_paths_update_reads_the_site(tmp_path: Path):
    from conftest import write_site

    root = write_site(tmp_path / "site", {"index.md": SITE_INDEX, "other.md": SITE_OTHER})
    done = run(root, "update")
    assert done.returncode == 0, done.stderr
    assert "--- a/docs/index.md\n+++ b/docs/index.md\n" in done.stdout
    assert "docs/other.md" not in done.stdout
    index = (root / "docs" / "index.md").read_text(encoding="utf-8")
    assert index == SITE_INDEX.replace("params: 35", "params: 36").replace("params = 8`", "params = 9`")
    assert (root / "docs" / "other.md").read_text(encoding="utf-8") == SITE_OTHER
    assert run(root, "check").returncode == 0


REFERENCES = ("```cnn-cost\nid: fc\nmodel: nn.Linear(8, 4)\n```\n\n"
              "It has `#!cnn fd.params = 35` and `#!cnn fc.parms = 1`.\n")
IN_PLACE = ("```cnn-cost\nid: fc\ninput: 8\nmodel: nn.Linear(8, 4)\nexpect:\n  params: |\n    35\n"
            "  output: [1,\n    5]\n  macs: 33\n```\n")


@pytest.mark.parametrize(("text", "after", "messages"), [
    (REFERENCES, REFERENCES, [  # a reference to no block, a path that names nothing: reported, not invented
        "page.md:6: `#!cnn fd.params = 35`: no block with id 'fd' on this page (ids: fc) (not updated)",
        "page.md:6: `#!cnn fc.parms = 1`: unknown claim 'parms' (did you mean 'params'?) (not updated)"]),
    (IN_PLACE, IN_PLACE.replace("macs: 33", "macs: 32"), [  # values it cannot rewrite in place; the others are
        "page.md:6: cnn-cost block 'fc': params: written as a YAML block scalar (claim not updated)",
        "page.md:8: cnn-cost block 'fc': output: written over several lines or with YAML escapes "
        "(claim not updated)"]),
])
def test_what_update_cannot_rewrite_is_reported(tmp_path: Path, text: str, after: str, messages: list[str]):
    page = tmp_path / "page.md"
    page.write_text(text, encoding="utf-8")
    done = run(tmp_path, "update", "page.md")
    assert done.returncode == 1
    assert page.read_text(encoding="utf-8") == after
    assert done.stderr.splitlines()[:-1] == messages


# --------------------------------------------------------------- failures mid-way, in-process ----


@pytest.fixture
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _os_with(**replaced: object) -> types.SimpleNamespace:
    """The `os` module as cnn_cost.atomic sees it, with some functions replaced (os itself is left alone)."""
    return types.SimpleNamespace(**{**vars(os), **replaced})


def test_a_write_that_fails_half_way_leaves_the_original(in_tmp: Path, monkeypatch: pytest.MonkeyPatch,
                                                          capsys: pytest.CaptureFixture[str]):
    page = in_tmp / "page.md"
    page.write_text(PAGE, encoding="utf-8")

    class HalfWritten:
        def __init__(self, fd: int, *args: object, **kwargs: object) -> None:
            self.fh = os.fdopen(fd, *args, **kwargs)  # type: ignore[call-overload]

        def __enter__(self) -> HalfWritten:
            return self

        def __exit__(self, *exc: object) -> None:
            self.fh.close()

        def write(self, text: str) -> None:
            self.fh.write(text[: len(text) // 2])
            self.fh.flush()
            raise OSError(28, "No space left on device")

    monkeypatch.setattr(atomic, "os", _os_with(fdopen=HalfWritten))
    assert cli.main(["update", "page.md"]) == 1
    err = capsys.readouterr().err
    assert "page.md: cannot write (left as it was): [Errno 28] No space left on device" in err
    assert page.read_text(encoding="utf-8") == PAGE
    assert sorted(p.name for p in in_tmp.iterdir()) == ["page.md"]  # no temporary file left


def test_each_file_is_replaced_whole_or_not_at_all(in_tmp: Path, monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str]):
    first, second = in_tmp / "a.md", in_tmp / "b.md"
    for page in (first, second):
        page.write_text(PAGE, encoding="utf-8")
    calls: list[str] = []

    def replace(src: str, dst: str) -> None:
        calls.append(dst)
        if len(calls) == 2:
            raise OSError(5, "Input/output error")
        os.replace(src, dst)

    monkeypatch.setattr(atomic, "os", _os_with(replace=replace))
    assert cli.main(["update", "a.md", "b.md"]) == 1
    assert first.read_text(encoding="utf-8") == expected()
    assert second.read_text(encoding="utf-8") == PAGE
    assert "b.md: cannot write (left as it was): [Errno 5] Input/output error" in capsys.readouterr().err
    assert sorted(p.name for p in in_tmp.iterdir()) == ["a.md", "b.md"]


# ------------------------------------------------------------------ the claim's own style ----


@pytest.mark.parametrize(("path", "raw", "computed", "written"), [
    ("params", "545,099", 545_098, "545,098"),
    ("params", "545_099", 545_098, "545_098"),
    ("params", "545\u2009099", 545_098, "545\u2009098"),
    ("params", "545 099", 545_098, "545 098"),
    ("params", "5450", 545_098, "545098"),  # written without separators: kept without
    ("params", "896", 1_792, "1,792"),  # three digits show no style: commas, as the tables
    ("params", "36.0", 37, "37.0"),
    ("macs", "61.2M", 61_264_904, "61.3M"),  # the precision written
    ("macs", "61.26M", 62_000_000, "62.00M"),
    ("macs", "~60M", 123_456_789, "~120M"),  # round tens of millions
    ("macs", "~1,800", 2_345, "~2,300"),
    ("macs", "≈ 1.70 G", 2_345_678_901, "≈ 2.35 G"),
    ("macs", "2.5k", 7_777, "7.8k"),
    ("macs", "2.5M", 266_400, "0.3M"),  # kept in M while it does not read 0
    ("macs", "1.2M", 400, "400"),  # would read 0.0M: the exact count
    ("macs", "900K", 2_500_000, "3M"),  # would read 2,500K: the suffix that fits, halves up
    ("memory", "233.71 MiB", 2_345_678, "2.24 MiB"),  # a size keeps its unit
    ("memory", "2,180,392 B", 2_180_393, "2,180,393 B"),
    ("memory", "~2.2MB", 5_432_100, "~5.4MB"),
    ("output", "[1, 10]", (1, 4), "[1, 4]"),
    ("output", "[ 1,10 ]", (2, 3), "[ 2,3 ]"),
    ("output", "1x10", (1, 4, 5), "1x4x5"),
    ("output", "1 × 10", (1, 4), "1 × 4"),
])
def test_the_number_is_written_in_the_claims_style(path: str, raw: str, computed: int | tuple[int, ...],
                                                     written: str):
    claim = parse_claim(path, raw)
    assert not claim.holds(computed)
    assert rewritten(claim, computed) == written
    assert parse_claim(path, written).holds(computed)


def test_a_ratio_keeps_its_decimals():
    claim = parse_claim("a.macs / a.params", "3.2", kind="ratio")
    assert rewritten(claim, Fraction(266_400, 72_234)) == "3.7"

