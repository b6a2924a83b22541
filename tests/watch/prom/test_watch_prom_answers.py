"""How PrometheusQuery reads Prometheus' answers, including ones a healthy local Prometheus never gives.

An in-memory transport (httpx's ``MockTransport``) plays Prometheus here: it records what was asked
and answers with the API's documented shapes (overloaded, timed out, execution errors, a long range
in chunks). Everything a real Prometheus can be made to do is tested against the real one instead.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest

from finpilot.watch import MetricsUnavailableError, PrometheusQuery, QueryError

Handler = Callable[[httpx.Request], httpx.Response]
Down = MetricsUnavailableError


def fake(handler: Handler) -> PrometheusQuery:
    """A PrometheusQuery whose HTTP goes to ``handler``."""
    return PrometheusQuery("http://prom.test:9090", client=httpx.Client(transport=httpx.MockTransport(handler)))


def form(request: httpx.Request) -> dict[str, str]:
    """The POSTed form of a request, one value per key."""
    return {k: v[0] for k, v in parse_qs(request.content.decode()).items()}


def matrix(result: list[dict[str, Any]]) -> httpx.Response:
    """A successful range answer."""
    return httpx.Response(200, json={"status": "success", "data": {"resultType": "matrix", "result": result}})


def test_a_long_range_is_asked_in_chunks_on_the_grid_and_joined() -> None:
    asked: list[dict[str, str]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        params = form(request)
        asked.append(params)
        start, end, step = float(params["start"]), float(params["end"]), float(params["step"])
        n = round((end - start) / step) + 1
        assert n <= 11_000, "Prometheus would refuse this chunk"
        values = [[start + i * step, str(start + i * step)] for i in range(n)]
        return matrix([{"metric": {"__name__": "up", "job": "a"}, "values": values}])

    # 24 h at a 5 s step: 17,281 points, so two requests.
    with fake(handler) as query:
        found = query.range('up{job="a"}', 0.0, 86_400.0, 5.0)
    assert [(float(a["start"]), float(a["end"])) for a in asked] == [(0.0, 54_995.0), (55_000.0, 86_400.0)]
    assert all(a["query"] == 'up{job="a"}' and a["step"] == "5.0" for a in asked)
    assert len(found) == 1
    assert found[0].name == "up"
    assert found[0].labels == {"job": "a"}
    assert len(found[0].points) == 17_281
    assert all(t == v for t, v in found[0].points)


def test_the_promql_sent_for_each_call() -> None:
    sent: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(form(request)["query"])
        return matrix([])

    with fake(handler) as query:
        query.rate('http_total{code=~"5.."}', 0, 60, 15, 60)
        query.aggregate("avg", "depth", 0, 60, 15, by=("zone", "node"))
        query.aggregate("sum", "http_total", 0, 60, 15, rate_window=0.5)
        query.histogram_quantile(0.5, "lat_bucket", 0, 60, 15, 300, by=("route",))
    assert sent == [
        'rate(http_total{code=~"5.."}[60s])',
        "avg by (zone, node) (depth)",
        "sum by () (rate(http_total[500ms]))",
        "histogram_quantile(0.5, sum by (le, route) (rate(lat_bucket[300s])))",
    ]


@pytest.mark.parametrize(
    ("status", "body", "error", "match"),
    [
        (422, {"status": "error", "errorType": "execution", "error": "many-to-many matching"}, QueryError, "many-to"),
        (400, {"status": "error", "errorType": "bad_data", "error": "parse error"}, QueryError, "parse error"),
        (503, {"status": "error", "errorType": "timeout", "error": "query timed out"}, Down, "timed"),
        (503, {"status": "error", "errorType": "unavailable", "error": "x"}, Down, "unavailable"),
        (502, "<html>bad gateway</html>", Down, "HTTP 502 without a Prometheus API body"),
        (200, {"status": "success", "data": {"resultType": "vector", "result": []}}, Down, "matrix"),
        (200, {"status": "success", "data": {"resultType": "matrix", "result": [1]}}, Down, "series"),
    ],
)
def test_error_answers_become_named_errors(status: int, body: Any, error: type[Exception], match: str) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        content = body if isinstance(body, str) else json.dumps(body)
        return httpx.Response(status, content=content.encode())

    with fake(handler) as query, pytest.raises(error, match=match) as caught:
        query.range("up", 0, 60, 15)
    assert "http://prom.test:9090" in str(caught.value)


def test_special_and_bad_values() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        values = [[0, "NaN"], [15, "+Inf"], [30, "-Inf"], [45, "1e3"]]
        if form(request)["query"] == "bad":
            values = [[0, "many"]]
        return matrix([{"metric": {}, "values": values}])

    with fake(handler) as query:
        points = query.range("up", 0, 45, 15)[0].points
        assert [repr(v) for _, v in points] == ["nan", "inf", "-inf", "1000.0"]
        with pytest.raises(QueryError, match="'many'"):
            query.range("bad", 0, 45, 15)
