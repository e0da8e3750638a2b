"""The benchmark (`make bench`): measures, writes bench/results/*.json and the README's table.

    python bench/run.py [--quick] [--parts 1234] [--no-readme]

1. one VGG-16 block: our parse + evaluate against torchinfo, thop, ptflops, FlopCounterMode, fvcore;
2. the guide: `mkdocs build` plain, cold and warm, each in a fresh process;
3. a generated site of 50 pages x 20 blocks: the same, the plugin's per-block time, and a real
   `mkdocs serve` rebuild after one block changes;
4. the cost of one block from 10 to 9,998 layers.
Targets that are missed are profiled with pyinstrument and the finding goes beside the figure.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

import report
import sites
from common import BENCH, PY, RESULTS, ROOT, loadavg, run_json, write_json
from vgg import TOOLS

START, END = "<!-- bench:start -->", "<!-- bench:end -->"


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


def meta() -> dict[str, Any]:
    return {
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform(),
        "torch": metadata.version("torch"), "mkdocs": metadata.version("mkdocs"),
        "load_start": ", ".join(f"{x:.1f}" for x in loadavg()),
    }


# --------------------------------------------------------------- parts ----


def part_vgg(work: Path, quick: bool) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for tool in TOOLS:
        runs = (5 if quick else 20) if tool == "ours" else (1 if quick else 3)
        path = work / f"vgg-{tool}.json"
        result, data = run_json([PY, str(BENCH / "vgg.py"), tool, str(runs), str(path)], path, timeout=900)
        data["process_seconds"] = result.seconds
        out[tool] = data
        log(f"vgg {tool}: {data['median_seconds'] * 1000:.1f} ms median, "
            f"{data['first_extra_bytes'] / 1e6:.1f} MB, {data['counts']}")
    return out


def part_guide(work: Path, quick: bool) -> dict[str, Any]:
    work.mkdir(parents=True, exist_ok=True)
    cache = work / "cache"
    configs = sites.guide_configs(work, cache)
    env = sites.env_for(configs["imports"])
    data = sites.build_trials(configs, cache, work, n_cold=1 if quick else 2, n_warm=2 if quick else 3, env=env)
    runs = [r for v in ("cold", "warm") for r in data[v]["runs"]]
    problems = sorted({line for r in runs for line in r["problem_lines"]})
    cnn = max(r["cnn_cost_problems"] for r in runs)
    failed = [r["returncode"] for r in runs + data["plain"]["runs"] if r["returncode"] != 0]
    status = ("built without any cnn-cost problem" if not cnn else
              f"did **not** build cleanly: {cnn} cnn-cost problem lines (would fail with `on_error: fail`; "
              "all pages were still built here)")
    data["note"] = (
        "`/work/main/mkdocs.yml` through a temporary config (`INHERIT`, absolute `docs_dir`, `strict: false`, the "
        "plugin with `on_error: warn` and `cache_dir` in a temporary directory); plain: the same config with the "
        "`cnn-cost` plugin entry removed, so the blocks stay code. Each build a fresh `mkdocs build` process, "
        "timed from spawn to exit; cold runs first (cache emptied before each), then plain and warm alternately. "
        f"At bench time the guide {status}; {sum(r['warnings'] for r in data['plain']['runs'][:1])} warnings in a "
        "plain build." + (f" Non-zero exits: {failed}." if failed else "")
    )
    data["problem_lines"] = problems
    data["configs"] = {k: str(v) for k, v in configs.items() if k != "imports"}
    data["imports"] = configs["imports"]
    o = data["cold"]["runs"][-1]["summary"]
    log(f"guide: plain {data['plain']['median_seconds']:.2f} s, cold {data['cold']['median_seconds']:.2f} s, "
        f"warm {data['warm']['median_seconds']:.2f} s; {o}")
    return data


def part_generated(work: Path, quick: bool) -> dict[str, Any]:
    pages, per_page = (10, 20) if quick else (50, 20)
    cache = work / "cache"
    configs = sites.generate_site(work, pages, per_page, cache)
    env = sites.env_for([])
    data = sites.build_trials(configs, cache, work, n_cold=1, n_warm=2 if quick else 3, env=env)
    cold = data["cold"]["runs"][-1]["summary"]
    if cold:
        first = cold["first_block_seconds"] or 0.0
        data["per_block"] = {
            "evaluated": cold["evaluated"], "eval_seconds": cold["eval_seconds"],
            "per_block": cold["eval_seconds"] / max(cold["evaluated"], 1), "first_block_seconds": first,
            "per_block_after_first": (cold["eval_seconds"] - first) / max(cold["evaluated"] - 1, 1),
        }
    data["note"] = (
        f"Generated in a temporary directory: {pages} pages × {per_page} blocks ({pages * per_page:,} blocks: four "
        "kinds of small CNN, `model:` and `layers:` forms, every block different, 2-3 claims each and one `#!cnn` "
        "reference), theme `mkdocs`, the plugin's cache in the temporary directory; plain: the same without the "
        "plugin. Fresh `mkdocs build` process per run; the cold build ran once (cache emptied), then plain and "
        "warm alternately." + ("" if all(r["returncode"] == 0 for v in ("cold", "warm", "plain")
                                        for r in data[v]["runs"]) else " Some builds exited non-zero (see JSON).")
    )
    log(f"generated: plain {data['plain']['median_seconds']:.2f} s, cold {data['cold']['median_seconds']:.2f} s, "
        f"warm {data['warm']['median_seconds']:.2f} s; {cold}")
    try:
        data["serve"] = sites.serve_edits(configs, per_page, page=min(7, pages - 1), block=0, edits=3,
                                          work=work, env=env)
        log(f"serve: {[round(e['write_to_page_seconds'], 2) for e in data['serve']['edits']]} s")
    except (RuntimeError, OSError) as exc:
        data["serve_error"] = str(exc)
        log(f"serve failed: {exc}")
    return data


def part_curve(work: Path, quick: bool) -> dict[str, Any]:
    path = work / "curve.json"
    _, data = run_json([PY, str(BENCH / "curve.py"), str(path), "1000" if quick else "9998"], path, timeout=1200)
    data["note"] = (
        "Two series of (layer, ReLU) pairs, each block parsed, evaluated and rendered to HTML as the plugin does. "
        "`conv`: Conv2d(8, 8, 3, padding=1) + ReLU on 8x8x8, written as a repeated list "
        "(`nn.Sequential(*[nn.Conv2d(8, 8, 3, padding=1), nn.ReLU()] * n)`, short text); `linear`: Linear(8, 8) + "
        "ReLU on 8 features, every layer written out (the text grows with the model). The largest size is 9,998 "
        "layers, not 10,000: with the enclosing Sequential that is 9,999 of the parser's limit of 10,000 layers "
        "per block (the written-out text, 95 kB, also stays under the 100,000-character limit). Times are medians "
        "of up to 5 runs (fewer for the large sizes, at least one), in one fresh process after torch is imported "
        "and a small block has been evaluated once.")
    for name, points in data["series"].items():
        log(f"curve {name}: " + ", ".join(f"{p['layers']}: {p['per_layer_ms']:.2f} ms/layer" for p in points))
    return data


# ------------------------------------------------------------ profiles ----


def profile(kind: str, name: str, *args: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    out, txt = RESULTS / f"profile-{name}.json", RESULTS / f"profile-{name}.txt"
    _, data = run_json([PY, str(BENCH / "profiles.py"), kind, str(out), str(txt), *args], out, timeout=900,
                       env=env)
    data["text"] = str(txt.relative_to(ROOT))
    return data


def _build_profile(name: str, results: dict[str, Any], work: Path, quick: bool) -> str:
    """Profile one cold or warm build. The generated site is profiled on a 5-page (100-block) copy unless
    --quick; before a warm profile, one unprofiled build fills the cache with the current code."""
    kind, site = name.split("-", 1)
    env = sites.env_for(results[site].get("imports", []))
    config, cache = results[site]["configs"]["plugin"], results[site]["cache_dir"]
    blocks = results[site].get("overheads", {}).get("blocks")
    where = ""
    if site == "generated" and not quick:
        root = work / "gen-profile"
        if not root.exists():
            sites.generate_site(root, 5, 20, root / "cache")
        config, cache, blocks, where = str(root / "mkdocs-plugin.yml"), str(root / "cache"), 100, \
            " of a 5-page (100-block) copy"
    if kind == "warm":
        sites.build_once(Path(config), work, env)
    data = profile("build", name, config, *([cache] if kind == "cold" else []), env=env)
    text = report.finding_build(data, blocks if kind == "cold" else None)
    return text.replace(f"one {kind} build", f"one {kind} build{where}") + f" (`{data['text']}`)"


def profile_missed(results: dict[str, Any], work: Path, quick: bool) -> None:
    for target in results["targets"]:
        if target["met"]:
            continue
        name = target["profile"]
        log(f"profiling missed target {name}")
        try:
            if name == "vgg":
                data = profile("vgg", name)
                target["finding"] = report.finding_block(data) + f" (`{data['text']}`)"
            elif name.startswith(("warm-", "cold-")):
                target["finding"] = _build_profile(name, results, work, quick)
            elif name == "linear":
                sizes = results["curve"]["sizes"]
                small = profile("curve", "linear-small", str(sizes[-2]))
                large = profile("curve", "linear-large", str(sizes[-1]))
                target["finding"] = report.finding_curve(small, large, sizes[-2], sizes[-1]) + \
                    f" (`{small['text']}`, `{large['text']}`)"
            results.setdefault("profiles", {})[name] = target.get("finding")
        except (RuntimeError, OSError, KeyError) as exc:
            target["finding"] = f"profiling failed: {exc}"


def plugin_source_hash() -> str:
    """The same files as the plugin's own cache-key hash (cnn_cost.cache.code_hash), read without importing."""
    digest = hashlib.sha256()
    for path in sorted((ROOT / "plugin" / "cnn_cost").rglob("*.py")):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


# -------------------------------------------------------------- README ----


def update_readme(text: str) -> None:
    readme = ROOT / "README.md"
    content = readme.read_text(encoding="utf-8")
    start, end = content.find(START), content.find(END)
    if start < 0 or end < start:
        raise SystemExit(f"README.md has no {START} ... {END} markers")
    readme.write_text(content[: start + len(START)] + "\n" + text + content[end:], encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer runs, smaller site and curve (a smoke test)")
    parser.add_argument("--parts", default="1234", help="which parts to run, e.g. 24")
    parser.add_argument("--no-readme", action="store_true", help="do not write the README table")
    args = parser.parse_args()

    started = time.perf_counter()
    RESULTS.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="cnn-cost-bench-"))
    results: dict[str, Any] = {"meta": meta(), "quick": args.quick}
    log(f"working in {work}; load average {results['meta']['load_start']}")
    try:
        hashes: list[tuple[str, str]] = [("start", plugin_source_hash())]
        results["plugin_source"] = hashes
        results["torch_import"] = sites.torch_import_seconds(2 if args.quick else 3, sites.env_for([]))
        log(f"import torch: {results['torch_import']['import_torch_median']:.2f} s")
        if "1" in args.parts:
            results["vgg"] = part_vgg(work, args.quick)
            hashes.append(("after part 1", plugin_source_hash()))
        if "2" in args.parts:
            results["guide"] = part_guide(work / "guide", args.quick)
            results["guide"]["cache_dir"] = str(work / "guide" / "cache")
            if results["guide"]["problem_lines"]:
                results["plugin_problems"] = results["guide"]["problem_lines"][:10]
            hashes.append(("after part 2", plugin_source_hash()))
        if "3" in args.parts:
            results["generated"] = part_generated(work / "generated", args.quick)
            results["generated"]["configs"] = {"plugin": str(work / "generated" / "mkdocs-plugin.yml")}
            results["generated"]["cache_dir"] = str(work / "generated" / "cache")
            hashes.append(("after part 3", plugin_source_hash()))
        if "4" in args.parts:
            results["curve"] = part_curve(work, args.quick)
            hashes.append(("after part 4", plugin_source_hash()))
        results["targets"] = report.targets(results)
        profile_missed(results, work, args.quick)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    results["plugin_source"].append(("end", plugin_source_hash()))
    results["meta"]["load_end"] = ", ".join(f"{x:.1f}" for x in loadavg())
    results["meta"]["bench_seconds"] = time.perf_counter() - started
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
    write_json(RESULTS / f"bench-{stamp}.json", results)
    write_json(RESULTS / "latest.json", results)
    text = report.markdown(results)
    (RESULTS / "latest.md").write_text(text, encoding="utf-8")
    if not args.no_readme:
        update_readme(text)
    for t in results["targets"]:
        log(f"{'MET   ' if t['met'] else 'MISSED'} {t['target']}: {t['measured']}")
    log(f"done in {results['meta']['bench_seconds']:.0f} s; results in {RESULTS / 'latest.json'}")
    json.dumps(results, default=str)  # fail here, not later, if something is not serialisable
    sys.stdout.flush()


if __name__ == "__main__":
    main()
