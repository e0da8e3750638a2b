"""Targets (met or missed), findings from profiles, and the README's Markdown."""

from __future__ import annotations

import itertools
import math
from typing import Any

MB = 1_000_000  # "MB" in the targets: 10^6 bytes
WARM_LIMIT = 0.05  # a warm rebuild adds under 5% to the plain build
PER_BLOCK_ALLOWANCE = 0.010  # a cold build adds at most the torch import plus 10 ms per block
VGG_TIME_LIMIT = 0.020
VGG_MEMORY_LIMIT = 10 * MB
LINEAR_SLOPE_LIMIT = 1.15  # log-log slope of time against layers, between the two largest sizes


# -------------------------------------------------------------- format ----


def ms(seconds: float | None) -> str:
    if seconds is None or math.isnan(seconds):
        return "n/a"
    return f"{seconds * 1000:,.1f} ms" if seconds < 10 else f"{seconds:,.1f} s"


def sec(seconds: float | None) -> str:
    if seconds is None or math.isnan(seconds):
        return "n/a"
    return f"{seconds:.2f} s"


def mb(n: float | None) -> str:
    return "n/a" if n is None else f"{n / MB:,.1f} MB"


def num(n: int | None) -> str:
    return "n/a" if n is None else f"{n:,}"


def pct(x: float) -> str:
    return f"{x * 100:+.1f}%"


def yes_no(flag: bool) -> str:
    return "**met**" if flag else "**missed**"


# ------------------------------------------------------------- targets ----


def slope(points: list[dict[str, Any]], key: str = "total") -> float | None:
    if len(points) < 2:
        return None
    a, b = points[-2], points[-1]
    if a[key] <= 0 or b[key] <= 0:
        return None
    return math.log(b[key] / a[key]) / math.log(b["layers"] / a["layers"])


def site_overheads(site: dict[str, Any], torch_import: float) -> dict[str, Any]:
    plain = site["plain"]["median_seconds"]
    warm = site["warm"]["median_seconds"]
    cold = site["cold"]["median_seconds"]
    blocks = next((r["summary"]["blocks"] for r in site["cold"]["runs"] if r["summary"]), 0)
    return {
        "plain": plain, "warm": warm, "cold": cold, "blocks": blocks,
        "warm_added": warm - plain, "warm_ratio": (warm - plain) / plain,
        "warm_cpu_ratio": (site["warm"]["median_cpu_seconds"] - site["plain"]["median_cpu_seconds"])
        / site["plain"]["median_cpu_seconds"],
        "warm_torch": any(r["torch_imported"] for r in site["warm"]["runs"]),
        "cold_added": cold - plain,
        "cold_allowance": torch_import + PER_BLOCK_ALLOWANCE * blocks,
        "cold_per_block_after_import": (cold - plain - torch_import) / blocks if blocks else None,
    }


def targets(results: dict[str, Any]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    ti = results.get("torch_import", {}).get("import_torch_median")
    for key in ("guide", "generated"):
        site = results.get(key)
        if not site or ti is None:
            continue
        o = site_overheads(site, ti)
        site["overheads"] = o
        label = "the guide" if key == "guide" else f"generated {o['blocks']:,}-block site"
        out.append({
            "id": f"warm-{key}", "profile": f"warm-{key}",
            "target": f"Warm rebuild, no block changed ({label}): adds < 5% to the plain build, imports no torch",
            "measured": f"{sec(o['warm'])} vs plain {sec(o['plain'])}: {pct(o['warm_ratio'])} "
                        f"(CPU {pct(o['warm_cpu_ratio'])}); torch imported: {'yes' if o['warm_torch'] else 'no'}",
            "met": o["warm_ratio"] < WARM_LIMIT and not o["warm_torch"],
        })
        out.append({
            "id": f"cold-{key}", "profile": f"cold-{key}",
            "target": f"Cold build ({label}): adds ≤ torch import + 10 ms per block",
            "measured": f"{sec(o['cold'])} vs plain {sec(o['plain'])}: +{sec(o['cold_added'])}; allowed "
                        f"{sec(o['cold_allowance'])} (`import torch` {sec(ti)} + {o['blocks']} × 10 ms)",
            "met": o["cold_added"] <= o["cold_allowance"],
        })
    vgg = results.get("vgg", {}).get("ours")
    if vgg:
        out.append({
            "id": "vgg", "profile": "vgg",
            "target": "VGG-16 block: < 20 ms and < 10 MB extra memory",
            "measured": f"{ms(vgg['median_seconds'])} (median of {vgg['runs']}; time "
                        f"{'met' if vgg['median_seconds'] < VGG_TIME_LIMIT else 'missed'}), "
                        f"{mb(vgg['first_extra_bytes'])} peak extra RSS (memory "
                        f"{'met' if vgg['first_extra_bytes'] < VGG_MEMORY_LIMIT else 'missed'})",
            "met": vgg["median_seconds"] < VGG_TIME_LIMIT and vgg["first_extra_bytes"] < VGG_MEMORY_LIMIT,
        })
    curve = results.get("curve")
    if curve:
        parts, ok = [], True
        for name, points in curve["series"].items():
            s, c = slope(points), slope(points, "cpu")
            if s is None:
                continue
            a, b = points[-2], points[-1]
            parts.append(f"{name}: slope {s:.2f} (CPU {c:.2f}) from {a['layers']:,} to {b['layers']:,} layers, "
                         f"{a['per_layer_ms']:.2f} → {b['per_layer_ms']:.2f} ms per layer")
            ok = ok and s <= LINEAR_SLOPE_LIMIT
        out.append({
            "id": "linear", "profile": "linear",
            "target": "Cost grows linearly with layers (log-log slope ≤ 1.15 between the two largest sizes)",
            "measured": "; ".join(parts), "met": ok,
        })
    return out


# ------------------------------------------------------------ findings ----


def _share(part: float, total: float) -> str:
    return f"{part / total * 100:.0f}%" if total else "n/a"


def finding_block(profile: dict[str, Any]) -> str:
    p = profile["parts"]
    total = p["total"]
    forward = p["forward by module"]
    ranked = sorted(forward.items(), key=lambda kv: -kv[1]["seconds"])[:3]
    mods = ", ".join(
        f"{name}.forward {_share(v['seconds'], total)}"
        + (f" ({_share(v['python_refs_seconds'], v['seconds'])} of it in torch/_refs, _prims, _decomp Python code)"
           if v["python_refs_seconds"] > 0.2 * v["seconds"] else "")
        for name, v in ranked
    )
    each = total / profile["repeat"]
    return (
        f"pyinstrument, {profile['repeat']} warm runs ({ms(each)} each under the profiler): "
        f"meta forward {_share(p['evaluate: meta forward (model(x) with hooks)'], total)} — {mods}; "
        f"module construction on meta {_share(p['evaluate: module construction on meta (_Builder.build)'], total)}; "
        f"signature checks {_share(p['evaluate: signature checks (_Builder.check)'], total)}; "
        f"parse_block {_share(p['parse_block'], total)} (YAML {_share(p['parse: YAML (_compose)'], total)}); "
        f"render {_share(p['render (block_html)'], total)}."
    )


def finding_build(profile: dict[str, Any], blocks: int | None) -> str:
    p = profile["parts"]
    total = p["total"]
    plugin = p["cnn_cost (all plugin frames)"]
    skip = ("total", "cnn_cost (all plugin frames)", "evaluate", "import torch",
            "import torch._dynamo (lazy, first meta ReLU)")
    items = [(k, v) for k, v in p.items() if k not in skip and "not the plugin" not in k and v > 0.005]
    items.sort(key=lambda kv: -kv[1])
    listed = "; ".join(f"{k} {sec(v)}" for k, v in items[:6])
    evaluate = ""
    if p.get("evaluate", 0) > 0.005:
        imports = p["import torch"] + p["import torch._dynamo (lazy, first meta ReLU)"]
        rest = p["evaluate"] - imports
        evaluate = (f"evaluate {sec(p['evaluate'])}, of which `import torch` {sec(p['import torch'])} and the lazy "
                    f"`torch._dynamo` import (pulled in by the first ReLU on the meta device) "
                    f"{sec(p['import torch._dynamo (lazy, first meta ReLU)'])}"
                    + (f", the rest {ms(rest / blocks)} per block" if blocks else "") + "; ")
    s = profile.get("summary")
    ran = f"; {s['evaluated']} of {s['blocks']} blocks evaluated, {s['from_cache']} from cache" if s else ""
    return (f"pyinstrument, one {'cold' if profile.get('cold') else 'warm'} build in-process "
            f"({sec(total)} under the profiler{ran}): plugin frames {sec(plugin)} ({_share(plugin, total)}): "
            f"{evaluate}{listed}.")


def finding_curve(small: dict[str, Any], large: dict[str, Any], n_small: int, n_large: int) -> str:
    keys = ["parse_block", "evaluate: signature checks (_Builder.check)",
            "evaluate: module construction on meta (_Builder.build)", "evaluate: meta forward (model(x) with hooks)",
            "render (block_html)"]
    rows = []
    for k in keys:
        a = small["parts"][k] / small["repeat"] / n_small * 1000
        b = large["parts"][k] / large["repeat"] / n_large * 1000
        rows.append(f"{k}: {a:.3f} → {b:.3f} ms per layer")
    return f"pyinstrument at {n_small:,} and {n_large:,} layers: " + "; ".join(rows) + "."


# ------------------------------------------------------------ Markdown ----


def _counts(counts: dict[str, Any]) -> str:
    return "<br>".join(f"{k}: {num(v)}" for k, v in counts.items())


def markdown(results: dict[str, Any]) -> str:
    meta = results["meta"]
    lines = [
        f"Measured by `bench/run.py` (what `make bench` runs) on {meta['date']}, in "
        f"{sec(meta.get('bench_seconds'))}: "
        f"{meta['cpus']} CPUs, Python {meta['python']}, torch {meta['torch']}, mkdocs {meta['mkdocs']}. "
        f"Load average at start {meta['load_start']}, at end {meta.get('load_end', 'n/a')}: other processes shared "
        "the machine, so wall times carry noise; CPU times are given beside them. Full data: "
        "`bench/results/latest.json` (not committed), profiles: `bench/results/profile-*.txt`.",
        "",
    ]
    hashes = results.get("plugin_source", [])
    changes = [f"{a[0]} → {b[0]}" for a, b in itertools.pairwise(hashes) if a[1] != b[1]]
    discarded = sum(len(results.get(k, {}).get("discarded_warm", [])) for k in ("guide", "generated"))
    if changes or discarded:
        lines += [f"The plugin's source (`plugin/cnn_cost/**/*.py`, work in progress in the same checkout) changed "
                  f"while the bench ran ({', '.join(changes) or 'not between parts'}; \"end\" follows the profiles). "
                  "The cache key holds a hash of that source, so such a change empties the cache in effect: "
                  f"{discarded} warm run(s) that found the cache invalidated and evaluated blocks were discarded "
                  "and repeated (in the JSON under `discarded_warm`).", ""]
    tr = results.get("torch_import")
    if tr:
        lines += [f"`import torch` in a fresh process: {sec(tr['import_torch_median'])} (median of "
                  f"{len(tr['import_torch_seconds'])}); `import torch._dynamo` after it, which the first `ReLU` on "
                  f"the meta device pulls in: {sec(tr['import_dynamo_median'])} more.", ""]
    tlist = results.get("targets", [])
    if tlist:
        lines += ["### Targets", "", "| target | measured | result | finding (where missed) |", "|---|---|---|---|"]
        for t in tlist:
            lines.append(f"| {t['target']} | {t['measured']} | {yes_no(t['met'])} | {t.get('finding', '')} |")
        lines.append("")

    vgg = results.get("vgg")
    if vgg:
        lines += ["### 1. One VGG-16 block (3x224x224, 1000 classes)", "",
                  "Each tool in a fresh process: torch imported, a tiny model run once (lazy imports), then the "
                  "first VGG-16 call measured for peak extra RSS (kernel VmHWM reset before the call), then "
                  "repeated calls for wall time. Ours parses the block text and evaluates it on the meta device; "
                  "the others run the real CPU model (with weights).", "",
                  "| tool | wall, median (runs) | CPU, median | first call | peak extra RSS | counts, as the tool "
                  "labels them |", "|---|---|---|---|---|---|"]
        for tool, d in sorted(vgg.items(), key=lambda kv: kv[0] != "ours"):  # ours first
            name = f"{tool} {d['version']}" if tool != "ours" else f"**ours** (cnn-cost {d['version']})"
            lines.append(f"| {name}<br>`{d['call']}` | {ms(d['median_seconds'])} ({d['runs']}) | "
                         f"{ms(d.get('cpu_median_seconds'))} | {ms(d['first_seconds'])} | "
                         f"{mb(d['first_extra_bytes'])} | {_counts(d['counts'])} |")
        ours = vgg.get("ours")
        builds = [d for t, d in vgg.items() if t != "ours"]
        if ours:
            lines += ["", f"Ours, split: parse_block {ms(ours['parse_median_seconds'])}, evaluate "
                          f"{ms(ours['evaluate_median_seconds'])} (medians). The tiny warm-up block, the first "
                          f"evaluation in the process, took {ms(ours['warmup_seconds'])} and "
                          f"{mb(ours['warmup_extra_bytes'])} (the lazy torch imports)."]
        if builds:
            b = builds[0]
            lines += [f"The other tools first need the real model: building VGG-16 on CPU took "
                      f"{ms(b['model_build_seconds'])} and {mb(b['model_build_extra_bytes'])} of RSS "
                      f"(in the {b['tool']} process), not counted in their columns."]
        lines.append("")

    for key, title in (("guide", "2. The guide (`mkdocs build` of mkdocs.yml)"),
                       ("generated", "3. A generated site of many small blocks")):
        site = results.get(key)
        if not site:
            continue
        o = site.get("overheads", {})
        lines += [f"### {title}", "", site["note"], "",
                  "| build | runs | wall, median (min) | CPU, median | plugin log (last run) | torch imported |",
                  "|---|---|---|---|---|---|"]
        for variant, label in (("plain", "plain (no plugin: blocks stay code)"),
                               ("cold", "cold (plugin, empty cache_dir)"), ("warm", "warm (plugin, cache filled)")):
            v = site[variant]
            last = v["runs"][-1]
            s = last["summary"]
            log = (f"{s['blocks']} blocks, {s['evaluated']} evaluated ({sec(s['eval_seconds'])}), "
                   f"{s['from_cache']} from cache; pages {sec(s['pages_seconds'])}"
                   + (f"; first block + torch import {sec(s['first_block_seconds'])}"
                      if s["first_block_seconds"] else "")) if s else "—"
            torch = "—" if variant == "plain" else ", ".join("yes" if r["torch_imported"] else "no" for r in v["runs"])
            lines.append(f"| {label} | {len(v['runs'])} | {sec(v['median_seconds'])} ({sec(v['min_seconds'])}) | "
                         f"{sec(v['median_cpu_seconds'])} | {log} | {torch} |")
        if o:
            lines += ["", f"Added to the plain build: cold +{sec(o['cold_added'])}, warm {o['warm_added']:+.2f} s "
                          f"({pct(o['warm_ratio'])})."]
            if o.get("cold_per_block_after_import") is not None:
                lines[-1] += (f" Cold, less one `import torch`: {ms(o['cold_per_block_after_import'])} per block "
                              f"over {o['blocks']} blocks.")
        per = site.get("per_block")
        if per:
            lines += [f"From the plugin's log (cold run): {per['evaluated']} blocks evaluated in "
                      f"{sec(per['eval_seconds'])}, {ms(per['per_block'])} per block; without the first block "
                      f"(which imports torch, {sec(per['first_block_seconds'])}): "
                      f"{ms(per['per_block_after_first'])} per block."]
        serve = site.get("serve")
        if serve:
            lines += ["", f"Serve-style rebuild, measured with the {serve['method']} on 127.0.0.1 (started with the "
                          f"cache filled: ready in {sec(serve['startup_seconds'])}); one block on one page "
                          "changed per edit, timed from the file write until the served page shows it:", "",
                      "| edit | write → page shows it | write → change detected | rebuild | plugin log |",
                      "|---|---|---|---|---|"]
            for e in serve["edits"]:
                s = e["summary"]
                log = (f"{s['evaluated']} evaluated ({sec(s['eval_seconds'])}), {s['from_cache']} from cache; "
                       f"pages {sec(s['pages_seconds'])}") if s else "—"
                lines.append(f"| {e['edit']} | {sec(e['write_to_page_seconds'])} | "
                             f"{sec(e['write_to_detected_seconds'])} | {sec(e['rebuild_seconds'])} | {log} |")
            lines += ["", "The first edit evaluates the first block of the server process, so it pays the torch "
                          "import; mkdocs' file watcher polls every 0.5 s and waits 0.1 s for more changes, and the "
                          "rebuild renders every page again."]
        lines.append("")

    curve = results.get("curve")
    if curve:
        lines += ["### 4. Cost curve: one block as the model grows", "", curve["note"], "",
                  "| series | layers | runs | parse | evaluate | render | total | per layer | CPU per layer |",
                  "|---|---|---|---|---|---|---|---|---|"]
        for name, points in curve["series"].items():
            for p in points:
                lines.append(f"| {name} | {p['layers']:,} | {p['runs']} | {ms(p['parse'])} | {ms(p['evaluate'])} | "
                             f"{ms(p['render'])} | {ms(p['total'])} | {p['per_layer_ms']:.2f} ms | "
                             f"{p['cpu_per_layer_ms']:.2f} ms |")
        lines.append("")
    problems = results.get("plugin_problems")
    if problems:
        lines += ["### Plugin problems seen by the benchmark", ""] + [f"- {p}" for p in problems] + [""]
    return "\n".join(lines).rstrip() + "\n"
