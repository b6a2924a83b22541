"""``finpilot watch``: scrape targets, list them, and query the metrics store.

The store is ``<data_dir>/metrics.db`` (``watch.metrics`` in ``finpilot.yaml`` sets its retention,
downsampling and tolerances). ``scrape`` exits 1 when a target was down, so a script can gate on
it. In ``--json`` output a value that is NaN or infinite is the string ``"NaN"``, ``"+Inf"`` or
``"-Inf"`` (JSON has no such numbers; Prometheus' HTTP API spells them the same way).
"""

from __future__ import annotations

import math
import time
from typing import Annotated, Any

import typer
from rich.markup import escape

from finpilot.cli._context import settings_for
from finpilot.cli._errors import EXIT_FAILED
from finpilot.cli._output import JsonFlag, busy, out, print_json, table
from finpilot.watch import (
    EmbeddedQuery,
    ScrapeReport,
    ScrapeTarget,
    ScrapeTargetError,
    Series,
    configured_targets,
    open_metrics_store,
    parse_duration,
    scraper_for,
)


def _number(value: float) -> float | str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return value


def _report_json(report: ScrapeReport) -> dict[str, Any]:
    write = report.write
    return {
        "target": report.target.key,
        "url": report.target.url,
        "up": report.up,
        "duration_s": round(report.duration_s, 6),
        "samples": report.samples,
        "accepted": write.accepted if write else 0,
        "duplicates": write.duplicates if write else 0,
        "rejected": dict(write.rejected) if write else {},
        "error": report.error,
    }


def scrape_cmd(
    ctx: typer.Context,
    target: Annotated[
        list[str] | None,
        typer.Option("--target", help="A URL serving Prometheus text; repeat it. Default: watch.metrics.targets."),
    ] = None,
    job: Annotated[str, typer.Option("--job", help="The job label of the --target URLs.")] = "finpilot",
    once: Annotated[bool, typer.Option("--once", help="Scrape every target once and stop (the default).")] = False,
    duration: Annotated[str | None, typer.Option("--duration", help="Keep scraping this long, e.g. 60s or 5m.")] = None,
    interval: Annotated[
        str | None, typer.Option("--interval", help="Time between scrapes; default watch.metrics.interval_s.")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Scrape targets into the metrics store; exit 1 if a target was down in the last round."""
    settings = settings_for(ctx)
    # --target replaces the configured list rather than adding to it: a one-off scrape of one URL.
    targets = [ScrapeTarget(url, job=job) for url in target] if target else configured_targets(settings)
    if not targets:
        raise ScrapeTargetError(
            "no scrape target", field="target", fix="pass --target URL or list watch.metrics.targets in finpilot.yaml"
        )
    seconds = None if once or duration is None else parse_duration(duration, field="--duration")
    every = None if interval is None else parse_duration(interval, field="--interval")
    store = open_metrics_store(settings)
    scraper = scraper_for(settings, store, targets=targets, interval_s=every)
    try:
        with busy("scraping"):
            rounds = scraper.run_for(seconds) if seconds is not None else [scraper.scrape_once()]
    finally:
        scraper.stop()
        store.close()
    last = rounds[-1]
    if as_json:
        print_json({"store": store.describe(), "rounds": len(rounds), "targets": [_report_json(r) for r in last]})
    else:
        grid = table("target", "up", "samples", "stored", "refused", "error", title=f"Scrape ({len(rounds)} rounds)")
        for r in last:
            refused = ", ".join(f"{k} {v}" for k, v in (r.write.rejected if r.write else {}).items())
            grid.add_row(
                escape(r.target.key),
                "yes" if r.up else "[red]no[/]",
                str(r.samples),
                str(r.write.accepted if r.write else 0),
                refused,
                escape(r.error or ""),
            )
        out().print(grid)
    if not all(r.up for r in last):
        raise typer.Exit(EXIT_FAILED)


def targets_cmd(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """List the configured targets and every target's last scrape and refused samples."""
    settings = settings_for(ctx)
    store = open_metrics_store(settings)
    try:
        health = {h.target: h for h in store.health()}
        refused = store.rejections()
    finally:
        store.close()
    configured = {t.key: t for t in configured_targets(settings)}
    rows: list[dict[str, Any]] = []
    for key in sorted(set(configured) | set(health)):
        h = health.get(key)
        rows.append(
            {
                "target": key,
                "url": configured[key].url if key in configured else None,
                "configured": key in configured,
                "up": h.up if h else None,
                "last_scrape": h.last_scrape if h else None,
                "last_success": h.last_success if h else None,
                "last_error": h.last_error if h else None,
                "samples": h.samples if h else None,
                "rejected": refused.get(key, {}),
            }
        )
    if as_json:
        print_json({"store": store.describe(), "targets": rows})
        return
    grid = table("target", "up", "last scrape", "last error", "refused", title="Scrape targets")
    for row in rows:
        up = "?" if row["up"] is None else ("yes" if row["up"] else "[red]no[/]")
        when = "" if row["last_scrape"] is None else time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(row["last_scrape"]))
        grid.add_row(
            escape(row["target"]),
            up,
            when,
            escape(row["last_error"] or ""),
            ", ".join(f"{k} {v}" for k, v in row["rejected"].items()),
        )
    out().print(grid)


def query_cmd(
    ctx: typer.Context,
    selector: Annotated[str, typer.Argument(help='A PromQL selector, e.g. payments_requests_total{status=~"5.."}.')],
    since: Annotated[str, typer.Option("--since", help="How far back the range starts, e.g. 1h.")] = "1h",
    step: Annotated[str, typer.Option("--step", help="Resolution of the range, e.g. 15s.")] = "15s",
    rate: Annotated[str | None, typer.Option("--rate", help="Take rate(selector[RATE]), e.g. 1m.")] = None,
    sum_by: Annotated[
        str | None, typer.Option("--sum-by", help="Sum by these labels (comma-separated; '' sums everything).")
    ] = None,
    quantile: Annotated[
        float | None,
        typer.Option(
            "--quantile", help="histogram_quantile(Q, sum by (le) (rate(_bucket[RATE or 5m]))).", min=0, max=1
        ),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Read a range from the metrics store: raw values, rates, sums by labels, or histogram quantiles."""
    settings = settings_for(ctx)
    end = time.time()
    start = end - parse_duration(since, field="--since")
    every = parse_duration(step, field="--step")
    window = None if rate is None else parse_duration(rate, field="--rate")
    by = tuple(x.strip() for x in sum_by.split(",") if x.strip()) if sum_by is not None else None
    store = open_metrics_store(settings)
    try:
        query = EmbeddedQuery(store)
        if quantile is not None:
            found = query.histogram_quantile(quantile, selector, start, end, every, window or 300.0, by=by or ())
            shown = f"histogram_quantile({quantile:g}, sum by (le{''.join(', ' + b for b in by or ())}) ..."
        elif by is not None:
            found = query.aggregate("sum", selector, start, end, every, by=by, rate_window=window)
            shown = f"sum by ({', '.join(by)})"
        elif window is not None:
            found = query.rate(selector, start, end, every, window)
            shown = "rate"
        else:
            found = query.range(selector, start, end, every)
            shown = "range"
    finally:
        store.close()
    if as_json:
        print_json(
            {
                "store": store.describe(),
                "selector": selector,
                "start": start,
                "end": end,
                "step": every,
                "series": [_series_json(s) for s in found],
            }
        )
        return
    _show_series(found, f"{shown} {selector}")


def _series_json(s: Series) -> dict[str, Any]:
    return {"name": s.name, "labels": dict(s.labels), "points": [[t, _number(v)] for t, v in s.points]}


def _show_series(found: list[Series], title: str) -> None:
    grid = table("series", "points", "first", "last", "min", "max", title=escape(title))
    for s in found:
        labels = ", ".join(f'{k}="{v}"' for k, v in sorted(s.labels.items()))
        values = [v for _, v in s.points if math.isfinite(v)]
        grid.add_row(
            escape(f"{s.name}{{{labels}}}"),
            str(len(s.points)),
            f"{s.points[0][1]:.6g}" if s.points else "",
            f"{s.points[-1][1]:.6g}" if s.points else "",
            f"{min(values):.6g}" if values else "",
            f"{max(values):.6g}" if values else "",
        )
    out().print(grid)


def add_metrics_commands(app: typer.Typer) -> None:
    """Add the metrics commands to the ``watch`` group."""
    app.command("scrape")(scrape_cmd)
    app.command("targets")(targets_cmd)
    app.command("query")(query_cmd)
