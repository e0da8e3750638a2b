"""The benchmark (`make bench`): the targets of issue 7, each a ratio measured in one run; writes
bench/results/latest.json, its committed copy bench/results/bench.json, and the README's section.

    python bench/run.py [--quick] [--parts vgg,first,guide,generated,exec] [--no-readme]

vgg        one VGG-16 block: ours against parse_block + a torch-free formula count (≤ 3×) and against
           torchinfo, thop, ptflops, fvcore and FlopCounterMode on the real model (≥ 50× faster); one process.
first      `import torch` + the first block against `import torch` alone (≤ 1.05×), fresh processes.
guide      cold build of the guide against plain + `import torch` + 2 ms per block; warm rebuild against
           the same site with the same HTML put in by a minimal hook (≤ 1.05×).
generated  the generated 1,000-block site: warm rebuild against the hook (≤ 1.05×); real `mkdocs serve`,
           write → page shows the change (≤ 1.5 s; ≤ 0.6 s with --dirty; first edit included); and, not a
           target, warm builds with `search_tables: false` against `true`, theme `mkdocs` and `material`,
           with the size of search/search_index.json.
exec       a 20-block site against the same blocks run by markdown-exec + torchinfo (cold ≤ 0.7×, warm ≤ 0.15×).
curve      (not by default) one block from 10 to 9,998 layers.
A missed target is profiled with pyinstrument and the finding goes beside it.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import shutil
import site
import subprocess
import sys
import sysconfig
import tempfile
import time
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

import report
import sites
from common import BENCH, PY, RESULTS, ROOT, loadavg, probe, relativize, run, run_json, stats, write_json

START, END = "<!-- bench:start -->", "<!-- bench:end -->"
PARTS = ("vgg", "first", "guide", "generated", "exec")
# repetitions: (full, quick)
REPEAT = {"vgg_rounds": (12, 2), "first_pairs": (10, 2), "guide_cold": (5, 1), "warm_pairs": (9, 1),
          "serve_edits": (5, 2), "exec_rounds": (5, 1), "search_rounds": (5, 2)}


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


def load() -> str:
    return ", ".join(f"{v:.1f}" for v in loadavg())


def conditions() -> str:
    return f"load {load()}, probe {probe() * 1000:.0f} ms"


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def meta() -> dict[str, Any]:
    return {
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform(),
        "torch": metadata.version("torch"), "mkdocs": metadata.version("mkdocs"),
        "markdown-exec": _version("markdown-exec"), "load_start": load(), "probe_start": probe(),
    }


# --------------------------------------------------------------- parts ----


def part_vgg(work: Path, n: dict[str, int]) -> dict[str, Any]:
    path = work / "vgg.json"
    result, data = run_json([PY, str(BENCH / "vgg.py"), str(path), str(n["vgg_rounds"])], path, timeout=900)
    if result.returncode:
        raise RuntimeError(result.output[-3000:])
    for name in ("ours", "baseline", "parse", "evaluate", "render"):
        s = data["series"][name]
        data["series"][name] = {"wall": stats(s["wall"]), "cpu": stats(s["cpu"])}
    for t in data["tools"].values():
        t["wall"], t["cpu"] = stats(t["wall"]), stats(t["cpu"])
    s = data["series"]
    log(f"vgg: ours {s['ours']['wall']['median'] * 1000:.1f} ms, baseline {s['baseline']['wall']['median'] * 1000:.1f}"
        " ms, " + ", ".join(f"{k} {v['wall']['median'] * 1000:.0f} ms" for k, v in data["tools"].items()))
    return data


def part_first(n: dict[str, int]) -> dict[str, Any]:
    env = sites.env_for([])
    runs: dict[str, list[dict[str, Any]]] = {"torch": [], "block": []}
    for i in range(n["first_pairs"]):
        for mode in (("torch", "block") if i % 2 == 0 else ("block", "torch")):
            for _ in range(3):  # a failure: the plugin's source half-saved by someone else; try again
                r = run([PY, str(BENCH / "first_block.py"), mode], env=env, cwd=BENCH)
                if r.returncode == 0:
                    break
                sites.FAILED.append({"config": f"first_block.py {mode}", "log_tail": r.output.splitlines()[-3:]})
                time.sleep(5)
            else:
                raise RuntimeError(f"first_block.py {mode} failed:\n{r.output[-3000:]}")
            inner = json.loads(r.output.strip().splitlines()[-1])
            runs[mode].append({"seconds": r.seconds, "cpu_seconds": r.cpu_seconds, **inner})
    out: dict[str, Any] = {}
    for mode, rs in runs.items():
        out[mode] = {"wall": stats([r["seconds"] for r in rs]), "cpu": stats([r["cpu_seconds"] for r in rs]),
                     "import_torch": stats([r["import_torch"] for r in rs])}
        if mode == "block":
            out[mode]["block"] = stats([r["block"] for r in rs])
    pairs = list(zip(runs["block"], runs["torch"], strict=True))
    # the target's ratio: in-process stopwatch, from the start of `import torch` to the end of the block, against
    # `import torch` in the other process. Spawn-to-exit times are beside it, but they favour the block's process:
    # the plugin calls gc.freeze() after importing torch, which makes the interpreter's exit cheaper.
    out["ratios"] = stats([(b["import_torch"] + b["block"]) / t["import_torch"] for b, t in pairs])
    out["process_ratios"] = stats([b["seconds"] / t["seconds"] for b, t in pairs])
    out["cpu_ratios"] = stats([b["cpu_seconds"] / t["cpu_seconds"] for b, t in pairs])
    log(f"first block: torch {out['torch']['wall']['median']:.2f} s, torch + block {out['block']['wall']['median']:.2f}"
        f" s, ratio {out['ratios']['median']:.3f}")
    return out


def _problems(runs: list[dict[str, Any]]) -> list[str]:
    return sorted({line for r in runs for line in r["problem_lines"]})


def part_guide(work: Path, n: dict[str, int]) -> dict[str, Any]:
    cache = work / "cache"
    configs = sites.guide_configs(work, cache)
    env = sites.env_for(configs["imports"])
    cold, plain, torch = [], [], []
    for i in range(n["guide_cold"]):
        order = ("cold", "plain", "torch") if i % 2 == 0 else ("torch", "plain", "cold")
        for what in order:
            if what == "cold":
                cold.append(sites.build_once(configs["plugin"], work, env,
                                             prepare=lambda: shutil.rmtree(cache, ignore_errors=True)))
            elif what == "plain":
                plain.append(sites.build_once(configs["plain"], work, env))
            else:
                torch.append(sites.torch_import_once(env))
    # the last cold run filled the cache: warm runs and the capture run find it
    blocks = next((r["summary"]["blocks"] for r in cold if r["summary"]), 0)
    allowance = [p["seconds"] + t["seconds"] + report.PER_BLOCK_ALLOWANCE * blocks for p, t in zip(plain, torch,
                                                                                                  strict=True)]
    data: dict[str, Any] = {"cold": {
        "cold": sites.series(cold), "plain": sites.series(plain), "blocks": blocks,
        "torch": {"import": stats([t["seconds"] for t in torch]),
                  "process": stats([t["process_seconds"] for t in torch])},
        "allowance": stats(allowance),
        "ratios": stats([c["seconds"] / a for c, a in zip(cold, allowance, strict=True)]),
    }}
    log(f"guide cold: {data['cold']['cold']['wall']['median']:.2f} s vs allowance "
        f"{data['cold']['allowance']['median']:.2f} s ({blocks} blocks)")
    data["warm"] = sites.warm_pairs(configs, n["warm_pairs"], work, env)
    w = data["warm"]
    log(f"guide warm: {w['warm']['wall']['median']:.2f} s vs hook {w['hook']['wall']['median']:.2f} s; "
        f"same output: {w['same_output']['identical']} (normalized {w['same_output']['identical_normalized']})")
    runs = cold + w["warm"]["runs"]
    problems = _problems(runs)
    cnn = max(r["cnn_cost_problems"] for r in runs)
    failed = [r["returncode"] for r in runs + plain + w["hook"]["runs"] if r["returncode"] != 0]
    data["problem_lines"] = problems
    data["configs"] = {k: str(v) for k, v in configs.items() if k != "imports"}
    data["imports"] = configs["imports"]
    data["cache_dir"] = str(cache)
    data["note"] = (
        "`mkdocs.yml` through temporary configs (`INHERIT`, absolute `docs_dir`, `strict: false`, the plugin with "
        "`on_error: warn` and its `cache_dir` in a temporary directory). plain: the `cnn-cost` plugin entry removed "
        "(the blocks stay code); hook: plain plus `bench/hooks/replay.py`, which puts in, through the same pymdownx "
        "fence and inline formatters, the HTML that a warm build of ours produced (recorded by "
        "`bench/hooks/capture.py`) and adds the plugin's stylesheet. Each build a fresh `mkdocs build` process, "
        "timed from spawn to exit. Cold runs (cache emptied before each) alternate with plain builds and "
        "`import torch` processes; then warm and hook builds alternate in pairs (ABBA). At bench time the guide "
        + ("built without any cnn-cost problem." if not cnn else
           f"did **not** build cleanly: {cnn} cnn-cost problem lines (all pages were still built here).")
        + (f" Non-zero exits: {failed}." if failed else "")
    )
    return data


def part_generated(work: Path, n: dict[str, int], quick: bool) -> dict[str, Any]:
    pages, per_page = (10, 20) if quick else (50, 20)
    cache = work / "cache"
    configs = sites.generate_site(work, pages, per_page, cache)
    env = sites.env_for([])
    cold = sites.build_once(configs["plugin"], work, env)
    data: dict[str, Any] = {"cold": sites.series([cold]), "pages": pages, "per_page": per_page,
                            "configs": {"plugin": str(configs["plugin"])}, "cache_dir": str(cache),
                            "docs": str(configs["docs"])}
    log(f"generated: cold {cold['seconds']:.2f} s; {cold['summary']}")
    data["warm"] = sites.warm_pairs(configs, n["warm_pairs"], work, env)
    w = data["warm"]
    log(f"generated warm: {w['warm']['wall']['median']:.2f} s vs hook {w['hook']['wall']['median']:.2f} s; "
        f"same output: {w['same_output']['identical']} (normalized {w['same_output']['identical_normalized']})")
    data["search_tables"] = part_search_tables(configs, work, env, n)
    data["problem_lines"] = _problems([cold, *w["warm"]["runs"],
                                       *(r for t in data["search_tables"].get("themes", {}).values()
                                         for v in ("true", "false") for r in t[v]["runs"])])
    data["note"] = (
        f"Generated in a temporary directory: {pages} pages × {per_page} blocks ({pages * per_page:,} blocks: four "
        "kinds of small CNN, `model:` and `layers:` forms, every block different, 2-3 claims each and one `#!cnn` "
        "reference), theme `mkdocs`, the plugin's cache in the temporary directory. One cold build fills the cache; "
        "then warm builds and the hook's builds (as for the guide) alternate in pairs (ABBA)."
        + (" **--quick: a smaller site.**" if quick else ""))
    edits = n["serve_edits"]
    page = min(7, pages - 1)
    try:
        for mode, dirty, first_edit in (("serve", False, 1), ("serve-dirty", True, 1 + edits)):
            sv = sites.serve_edits(configs["plugin"], configs["docs"], per_page, page,
                                   list(range(first_edit, first_edit + edits)), work, env, dirty)
            data[mode] = sv
            log(f"{mode}: write → page {[round(e['write_to_page_seconds'], 2) for e in sv['edits']]} s")
    except (RuntimeError, OSError) as exc:
        data["serve_error"] = str(exc)
        log(f"serve failed: {exc}")
    return data


def part_search_tables(configs: dict[str, Any], work: Path, env: dict[str, str], n: dict[str, int]) -> dict[str, Any]:
    """Informational (no target): warm builds of the generated site with `search_tables: false` against
    `true`, for the site's theme and for Material's, on the cache the generated part filled."""
    started = time.perf_counter()
    try:
        data = sites.search_tables_runs(sites.search_configs(work, configs["plugin"]), n["search_rounds"], work, env)
    except (RuntimeError, OSError, KeyError, ValueError, subprocess.SubprocessError) as exc:
        log(f"search_tables failed: {exc}")
        return {"error": f"{type(exc).__name__}: {str(exc)[-1500:]}"}
    failed = [(f"{t}/{v}", r["returncode"]) for t, d in data["themes"].items() for v in ("true", "false")
              for r in d[v]["runs"] if r["returncode"]]
    data["failed"] = failed
    data["material"] = _version("mkdocs-material")
    data["seconds"] = time.perf_counter() - started
    data["note"] = (
        "What `search_tables: false` saves on a warm build of the same generated site, and in "
        "`search/search_index.json`. The plugin's config of this site with `search_tables: true` and `false`, for "
        "its theme (`mkdocs`, whose `search` is MkDocs' built-in plugin: `false` drops only the hidden comma-less "
        f"numbers, the tables stay in the index) and for theme `material` (mkdocs-material "
        f"{data['material']}, whose own `search` plugin skips the tables, marked `data-search-exclude`); "
        "everything else the same, all four on the one cache the builds above filled. First one untimed build "
        "with `false` per theme (the plugin's rendered HTML is keyed by the option: the first adds that of "
        f"`false`), then {data['rounds']} round(s) of one build of each of the four, each a fresh `mkdocs build` "
        "process, in an order that reverses every round; every timed build "
        + ("reused every block's rendered HTML" if all(d["all_reused"] for d in data["themes"].values())
           else "**did not** reuse every block's rendered HTML")
        + ". false ÷ true divides the two builds of a theme in the same round. Tables in the index: how many "
        f"times the tables' “{sites.TABLE_MARK}” header occurs in the index's text (MkDocs' built-in search holds "
        "each page's text twice, whole and by section: counted by section)."
        + (f" Non-zero exits: {failed}." if failed else ""))
    for theme, d in data["themes"].items():
        log(f"search_tables {theme}: true {d['true']['wall']['median']:.2f} s, false {d['false']['wall']['median']:.2f}"
            f" s (false ÷ true {d['ratios']['median']:.3f}, CPU {d['cpu_ratios']['median']:.3f}); index "
            f"{d['index']['true']['bytes']} → {d['index']['false']['bytes']} bytes")
    log(f"search_tables: {data['seconds']:.0f} s")
    return data


def part_exec(work: Path, n: dict[str, int]) -> dict[str, Any]:
    cache = work / "cache"
    configs = sites.generate_exec_sites(work, 2, 10, cache)
    env = sites.env_for([])
    runs: dict[str, list[dict[str, Any]]] = {"exec": [], "ours_cold": [], "ours_warm": [], "hook": []}
    discarded: list[dict[str, Any]] = []
    orders = (("exec", "ours_cold", "ours_warm", "hook"), ("ours_cold", "hook", "ours_warm", "exec"))
    for i in range(n["exec_rounds"]):
        for what in orders[i % 2]:
            if what == "ours_cold":
                runs[what].append(sites.build_once(configs["ours"], work, env,
                                                   prepare=lambda: shutil.rmtree(cache, ignore_errors=True)))
            elif what == "ours_warm":
                runs[what].append(sites.warm_build(configs["ours"], work, env, discarded))
            elif what == "hook":
                if i == 0:
                    sites.build_once(configs["capture"], work, env)  # records the HTML the hook puts in
                runs[what].append(sites.build_once(configs["hook"], work, env))
            else:
                runs[what].append(sites.build_once(configs["exec"], work, env))
    out: dict[str, Any] = {k: sites.series(v) for k, v in runs.items()}
    out["discarded_warm"] = discarded
    out["ratios"] = {kind: stats([o["seconds"] / e["seconds"] for o, e in zip(runs[key], runs["exec"], strict=True)])
                     for kind, key in (("cold", "ours_cold"), ("warm", "ours_warm"), ("hook", "hook"))}
    out["same_output"] = sites.compare_sites(sites.site_dir(configs["ours"]), sites.site_dir(configs["hook"]))
    html = (sites.site_dir(configs["exec"]) / "page-00" / "index.html").read_text(encoding="utf-8")
    ran = html.count("Total params")
    failed = [(k, r["returncode"]) for k, v in runs.items() for r in v if r["returncode"]]
    out["problem_lines"] = _problems([r for v in runs.values() for r in v])
    out["configs"] = {k: str(v) for k, v in configs.items()}
    out["cache_dir"] = str(cache)
    out["note"] = (
        "Generated in a temporary directory: 2 pages × 10 blocks, the first 20 blocks of the generated site "
        "(claims included), written twice with the same models: as `cnn-cost` fences for our plugin, and as "
        "markdown-exec blocks (`python exec=\"on\" source=\"above\" result=\"text\"`) that build the model in "
        "PyTorch, run `torchinfo.summary(..., col_names=(\"output_size\", \"num_params\", \"mult_adds\"))`, assert "
        "the total parameter count and print the table; theme `mkdocs`, `search`, no `#!cnn` references (the prose "
        f"is the same in both). markdown-exec {metadata.version('markdown-exec')} has no cache, so its warm build is "
        "its cold build. Each build a fresh `mkdocs build` process; per round one markdown-exec build, one cold build "
        "of ours (cache emptied), one warm, and, for reference, one of the replay hook's variant of our site (the "
        "floor of any plugin on a warm build, as for the guide), in an order that alternates. "
        f"Check: the first markdown-exec page shows {ran} torchinfo tables."
        + (f" Non-zero exits: {failed}." if failed else ""))
    log(f"exec: markdown-exec {out['exec']['wall']['median']:.2f} s, ours cold "
        f"{out['ours_cold']['wall']['median']:.2f} s, warm {out['ours_warm']['wall']['median']:.2f} s")
    return out


def part_curve(work: Path, quick: bool) -> dict[str, Any]:
    path = work / "curve.json"
    _, data = run_json([PY, str(BENCH / "curve.py"), str(path), "1000" if quick else "9998"], path, timeout=1200)
    data["note"] = (
        "Not a target of issue 7. Two series of (layer, ReLU) pairs, each block parsed, evaluated and rendered as "
        "the plugin does: `conv`, Conv2d(8, 8, 3, padding=1) + ReLU on 8x8x8 as a repeated list; `linear`, "
        "Linear(8, 8) + ReLU on 8 features, every layer written out. Medians of up to 5 runs in one process.")
    return data


# ------------------------------------------------------------ profiles ----


def profile(kind: str, name: str, *args: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    out, txt = RESULTS / f"profile-{name}.json", RESULTS / f"profile-{name}.txt"
    _, data = run_json([PY, str(BENCH / "profiles.py"), kind, str(out), str(txt), *args], out, timeout=900,
                       env=env, cwd=BENCH)
    data["text"] = str(txt.relative_to(ROOT))
    return data


def _profile_target(name: str, results: dict[str, Any], work: Path) -> str:
    if name == "vgg":
        data = profile("block", "vgg")
        return report.finding(data, "ours on the VGG-16 block, warm", per=data["repeat"]) + f" (`{data['text']}`)"
    if name == "first-block":
        data = profile("block", "first-block", "first")
        return report.finding(data, "the first block of a process, after `import torch`") + f" (`{data['text']}`)"
    builds = {"cold-guide": ("guide", True, "one cold build of the guide"),
              "warm-guide": ("guide", False, "one warm build of the guide"),
              "warm-generated": ("generated", False, "one warm build of the generated site"),
              "exec-cold": ("exec", True, "one cold build of the 20-block site"),
              "exec-warm": ("exec", False, "one warm build of the 20-block site")}
    if name in builds:
        key, cold, what = builds[name]
        part = results[key]
        config = part["configs"]["ours" if key == "exec" else "plugin"]
        env = sites.env_for(part.get("imports", []))
        if not cold:
            sites.build_once(Path(config), work, env)  # the cache holds the current plugin code's results
        data = profile("build", name, config, *([part["cache_dir"]] if cold else []), env=env)
        return report.finding(data, what + ", in-process") + f" (`{data['text']}`)"
    if name in ("serve", "serve-dirty"):
        gen = results["generated"]
        out, txt = RESULTS / f"profile-{name}.json", RESULTS / f"profile-{name}.txt"
        env = sites.env_for([])
        sv = sites.serve_edits(Path(gen["configs"]["plugin"]), Path(gen["docs"]), gen["per_page"],
                               min(7, gen["pages"] - 1), [90, 91], work, env, name == "serve-dirty",
                               worker=[PY, str(BENCH / "profiles.py"), "serve", str(out), str(txt)])
        data = json.loads(out.read_text(encoding="utf-8"))
        return report.finding_serve(data, sv) + f" (`{txt.relative_to(ROOT)}`)"
    raise KeyError(name)


def profile_missed(results: dict[str, Any], work: Path) -> None:
    done: dict[str, tuple[str, str]] = {}
    for target in results["targets"]:
        if target["met"]:
            continue
        name = target["profile"]
        if name in done:
            target["finding"] = f"the same profile as in the row “{done[name][0]}”"
            continue
        log(f"profiling {name} (target {target['id']} missed)")
        try:
            target["finding"] = _profile_target(name, results, work)
        except (RuntimeError, OSError, KeyError, ValueError) as exc:
            target["finding"] = f"profiling failed: {exc}"
        done[name] = (target["target"], target["finding"])
    results["profiles"] = {name: text for name, (_, text) in done.items()}


def plugin_source_hash() -> str:
    """The plugin's Python source, hashed (the plugin's cache key holds such a hash)."""
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


def run_part(part: str, results: dict[str, Any], work: Path, n: dict[str, int], quick: bool) -> None:
    if part == "vgg":
        results["vgg"] = part_vgg(work, n)
    elif part == "first":
        results["first"] = part_first(n)
    elif part == "guide":
        results["guide"] = part_guide(work / "guide", n)
    elif part == "generated":
        results["generated"] = part_generated(work / "generated", n, quick)
    elif part == "exec":
        if _version("markdown-exec") is None:
            results["exec_error"] = "markdown-exec is not installed (`pip install markdown-exec`)"
            log(f"exec skipped: {results['exec_error']}")
            return
        results["exec"] = part_exec(work / "exec", n)
    elif part == "curve":
        results["curve"] = part_curve(work, quick)


def rerender(path: Path, readme: bool) -> None:
    results = json.loads(path.read_text(encoding="utf-8"))
    findings = {t["id"]: t.get("finding") for t in results.get("targets", [])}
    results["targets"] = report.targets(results)
    for t in results["targets"]:
        if not t["met"] and findings.get(t["id"]):
            t["finding"] = findings[t["id"]]
    text = report.markdown(results)
    write_json(RESULTS / "latest.json", results)
    (RESULTS / "latest.md").write_text(text, encoding="utf-8")
    if readme:
        write_json(RESULTS / "bench.json", results)
        update_readme(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer runs, a smaller generated site (a smoke test)")
    parser.add_argument("--parts", default=",".join(PARTS), help=f"comma-separated, of {', '.join(PARTS)}, curve")
    parser.add_argument("--no-readme", action="store_true", help="do not write the README section")
    parser.add_argument("--render", metavar="JSON", help="measure nothing: write the README section again from a "
                        "results file (e.g. bench/results/bench.json), with the targets recomputed")
    args = parser.parse_args()
    if args.render:
        rerender(Path(args.render), readme=not args.no_readme)
        return
    chosen = [p.strip() for p in args.parts.split(",") if p.strip()]
    unknown = set(chosen) - {*PARTS, "curve"}
    if unknown:
        parser.error(f"unknown parts: {', '.join(sorted(unknown))}")
    n = {k: v[1 if args.quick else 0] for k, v in REPEAT.items()}

    started = time.perf_counter()
    RESULTS.mkdir(parents=True, exist_ok=True)
    for old in RESULTS.glob("profile-*"):  # the profiles of this run's misses only
        old.unlink()
    work = Path(tempfile.mkdtemp(prefix="cnn-cost-bench-"))
    results: dict[str, Any] = {"meta": meta(), "quick": args.quick, "repetitions": n, "loads": []}
    log(f"working in {work}; load average {results['meta']['load_start']}; parts {', '.join(chosen)}")
    hashes: list[tuple[str, str]] = [("start", plugin_source_hash())]
    results["plugin_source"] = hashes
    try:
        for part in chosen:
            part_started, before = time.perf_counter(), conditions()
            try:
                run_part(part, results, work, n, args.quick)
            except (RuntimeError, OSError, KeyError, ValueError, subprocess.SubprocessError) as exc:
                results.setdefault("part_errors", {})[part] = f"{type(exc).__name__}: {str(exc)[-1500:]}"
                log(f"part {part} failed: {exc}")
            results["loads"].append([part, f"{before} → {conditions()} ({time.perf_counter() - part_started:.0f} s)"])
            hashes.append((f"after {part}", plugin_source_hash()))
            if sites.FAILED:
                results.setdefault("failed_runs", {})[part] = list(sites.FAILED)
                sites.FAILED.clear()
        problems = [p for k in ("guide", "generated", "exec") for p in results.get(k, {}).get("problem_lines", [])]
        if problems:
            results["plugin_problems"] = problems[:10]
        results["targets"] = report.targets(results)
        profile_missed(results, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    hashes.append(("end", plugin_source_hash()))
    results["meta"]["load_end"] = load()
    results["meta"]["probe_end"] = probe()
    results["meta"]["bench_seconds"] = time.perf_counter() - started
    # no machine paths in what is written: the repository's become relative, the temporary ones <tmp>
    paths = [(str(work), "<tmp>"), *((p + "/", "") for p in site.getsitepackages()),
             (sysconfig.get_paths()["stdlib"], "<stdlib>"), (str(ROOT) + "/", ""), (str(ROOT), "."),
             (sys.prefix, "<venv>")]
    results = relativize(results, paths)
    write_json(RESULTS / "latest.json", results)
    text = report.markdown(results)
    (RESULTS / "latest.md").write_text(text, encoding="utf-8")
    if not args.no_readme:
        write_json(RESULTS / "bench.json", results)
        update_readme(text)
    for t in results.get("targets", []):
        log(f"{'MET   ' if t['met'] else 'MISSED'} {t['target']}: {t['measured']}")
    log(f"done in {results['meta']['bench_seconds']:.0f} s; results in bench/results/latest.json")


if __name__ == "__main__":
    main()
