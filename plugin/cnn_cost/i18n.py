"""The words around the numbers, in the reader's language: table headers, totals, notes, box titles.

English is the source text: `_("Total")` is "Total" unless the active locale has a translation.
The locale is the page's (`locale:` option, else the page's language under mkdocs-static-i18n,
else `theme.language`), made active with `using()` while a page renders, so that the renderer
needs no locale argument threaded through it. Numbers, formulas, code and the problems written
to the build log are not translated: the log stays greppable in one language, and a box in the
page shows the problem's own words after a translated title (`problem()` translates the common
"expected …, computed …" form).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Literal, get_args

Locale = Literal["en", "zh"]
LOCALES: tuple[Locale, ...] = get_args(Locale)

_current: ContextVar[Locale] = ContextVar("cnn_cost_locale", default="en")

ZH: dict[str, str] = {
    # table
    "Layer": "层",
    "Type": "类型",
    "Output shape": "输出形状",
    "Params": "参数量",
    "Formula": "公式",
    "Share of params": "参数占比",
    "Share of FLOPs": "FLOPs 占比",
    "Total": "合计",
    "FLOPs = 2 × MACs + bias, normalisation, pooling and activation operations":
        "FLOPs = 2 × MACs + 偏置、归一化、池化与激活的运算",
    "† not in the registry: parameters by <code>numel()</code>, FLOPs measured by "
    "<code>torch.utils.flop_counter</code>":
        "† 不在登记表中：参数量由 <code>numel()</code> 得出，FLOPs 由 <code>torch.utils.flop_counter</code> 实测",
    "The library columns show what each counting library reports for the same model, "
    "from per-layer rules checked against the libraries (see the reference page).":
        "各统计库的列给出该库对同一模型报告的数字，按逐层规则算出，规则已与各库实测核对（见参考手册）。",
    "‡ the same module called again: its parameters are counted once": "‡ 同一个模块再次被调用：其参数只计一次",
    # summary line
    "Parameters": "参数量",
    "trainable": "可训练",
    "buffers": "缓冲区",
    "memory {bytes} B ({human}) at {dtype}, {size} B per parameter":
        "内存 {bytes} B（{human}），{dtype} 每个参数 {size} B",
    "no <code>input</code>: MACs and FLOPs not computed": "没有 <code>input</code>：不计算 MACs 与 FLOPs",
    "✓ Verified at build time:": "✓ 构建时已验证：",
    # block frame
    "Block source ({lines} lines)": "块源码（{lines} 行）",
    "Block source ({lines} line)": "块源码（{lines} 行）",
    "Block source ({lines} lines; {claims} claims ✓ verified)": "块源码（{lines} 行；{claims} 项断言 ✓ 已验证）",
    "Block source ({lines} line; {claims} claims ✓ verified)": "块源码（{lines} 行；{claims} 项断言 ✓ 已验证）",
    "Block source ({lines} lines; {claims} claim ✓ verified)": "块源码（{lines} 行；{claims} 项断言 ✓ 已验证）",
    "Block source ({lines} line; {claims} claim ✓ verified)": "块源码（{lines} 行；{claims} 项断言 ✓ 已验证）",
    "cnn-cost: this block has a problem": "cnn-cost：这个块有一个问题",
    "cnn-cost: this block has {count} problems": "cnn-cost：这个块有 {count} 个问题",
    "A wrong number, on purpose: this block's claim (in its source, under expect:) does not hold":
        "故意写错的数字：这个块的断言（见块源码的 expect:）不成立",
    "A wrong number, on purpose: this block's claims (in its source, under expect:) do not hold":
        "故意写错的数字：这个块的断言（见块源码的 expect:）不成立",
    "Build error": "构建错误",
    "A deliberate mistake": "故意写错的示例",
    # an imported model's operations
    "never called: <code>{name}</code> ({count} parameters: in the total, on no row)":
        "从未被调用：<code>{name}</code>（{count} 个参数：计入合计，不在任何一行）",
    "Operation": "运算",
    "Calls": "调用次数",
    "Status": "状态",
    "Operations of the forward pass: {kinds} kinds, {calls} calls; torch.utils.flop_counter counts {flops} FLOPs":
        "前向传播中的运算：{kinds} 种，{calls} 次调用；torch.utils.flop_counter 计 {flops} FLOPs",
    "; {count} not counted (<code>uncounted: ok</code>)": "；{count} 种未计数（<code>uncounted: ok</code>）",
    ", computed at build time": "，构建时算出",
    "{ratio}×": "{ratio} 倍",
    "params": "参数量",
    "flops": "FLOPs",
    "macs": "MACs",
    "verified at build time": "构建时已验证",
    "does not hold": "不成立",
    # problems shown in the page
    "expected": "应为",
    "computed": "计算得",
    # figures
    "input {h}×{w}, padding {p}": "输入 {h}×{w}，填充 {p}",
    "padded: {h}×{w}": "填充后：{h}×{w}",
    "kernel {h}×{w}": "卷积核 {h}×{w}",
    "stride": "步幅",
    "dilation": "空洞率",
    "output {h}×{w}": "输出 {h}×{w}",
    "Convolution arithmetic of {name}": "{name} 的卷积运算",
    "A {h}×{w} input padded by {p} to {ph}×{pw}; a {kh}×{kw} kernel with stride {s} and dilation {d} gives a "
    "{oh}×{ow} output.":
        "{h}×{w} 的输入填充 {p} 后为 {ph}×{pw}；{kh}×{kw} 的卷积核以步幅 {s}、空洞率 {d} 滑动，得到 {oh}×{ow} 的输出。",
    "{groups} groups of {cin} in → {cout} out": "{groups} 组，每组 {cin} 入 → {cout} 出",
    "{groups} group of {cin} in → {cout} out": "{groups} 组，每组 {cin} 入 → {cout} 出",
    "params {n}": "参数量 {n}",
    "Channel groups of {name}": "{name} 的通道分组",
    "{name}: {cin} input channels in {groups} groups connected to {cout} outputs, {params} parameters":
        "{name}：{cin} 个输入通道分为 {groups} 组，连到 {cout} 个输出通道，{params} 个参数",
    "{metric} per layer of {name}": "{name} 各层的 {metric}",
    "{name}: {metric} per layer (total {total})": "{name}：各层的 {metric}（合计 {total}）",
    "{count} layers with 0 {metric}": "另有 {count} 层的 {metric} 为 0",
    "{count} layer with 0 {metric}": "另有 {count} 层的 {metric} 为 0",
    ", ": "，",
    "solid: the first position; dashed: the next, one stride on": "实线：第一个位置；虚线：下一个位置，相隔一个步幅",
    # calculator placeholder
    "(the {title} needs JavaScript)": "（{title}需要 JavaScript）",
    "Conv2d calculator (batch 1)": "Conv2d 计算器（batch 为 1）",
    "Linear calculator": "Linear 计算器",
}

SEARCH_WORDS = (
    "参数量", "计算量", "乘加次数", "浮点运算次数", "输出形状", "卷积核", "步幅", "填充", "空洞率", "分组数",
    "分组卷积",
    "深度卷积", "逐点卷积", "深度可分离卷积", "全连接层", "偏置", "批归一化", "池化", "激活函数", "激活值", "特征图",
    "感受野", "残差", "瓶颈", "通道数", "显存", "口径",
)
"""Words of this subject that jieba's dictionary splits ("参数量" into "参数" and "量"): given to it, Chinese
search finds them whole (cnn_cost.mkdocs_plugin.prepare_jieba)."""

CATALOGS: dict[Locale, dict[str, str]] = {"en": {}, "zh": ZH}


def _match(language: object) -> Locale | None:
    """The locale `language` names (`zh`, `zh-CN`, `zh_TW`, `zh-Hans` are `zh`), or None."""
    text = language.strip().lower().replace("_", "-") if isinstance(language, str) else ""
    return next((locale for locale in LOCALES if text == locale or text.startswith(locale + "-")), None)


def resolve(language: object) -> Locale:
    """The locale for a theme or page language; anything the package has no words for is English."""
    return _match(language) or "en"


def known(language: object) -> bool:
    """`language` names a locale the package has words for (`en`, `en-GB`, `zh`, `zh_CN`, ...)."""
    return _match(language) is not None


def current() -> Locale:
    return _current.get()


@contextmanager
def using(locale: Locale) -> Iterator[None]:
    """Render in `locale` inside the block."""
    token = _current.set(locale)
    try:
        yield
    finally:
        _current.reset(token)


def _(text: str, **values: object) -> str:
    """`text` in the active locale, with `{name}` fields filled from `values` (which are not translated)."""
    words = CATALOGS[_current.get()].get(text, text)
    return words.format(**values) if values else words


_EXPECTED = re.compile(r": expected (?P<claimed>.+?), computed (?P<computed>.+)$")


def problem(text: str) -> str:
    """A problem line as the page shows it: `path:line: block: x.params: expected 1, computed 2` keeps its
    place and claim, with the words around the numbers in the reader's language."""
    if _current.get() == "en":
        return text
    return _EXPECTED.sub(lambda m: f"：{_('expected')} {m['claimed']}，{_('computed')} {m['computed']}", text)


__all__ = ["CATALOGS", "LOCALES", "Locale", "current", "known", "problem", "resolve", "using"]
