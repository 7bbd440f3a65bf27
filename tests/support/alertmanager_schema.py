"""Alertmanager webhook bodies generated from the documented schema (docs/configuration.md, `<webhook_config>`):

    {"version": "4", "groupKey": <string>, "truncatedAlerts": <int>, "status": "<resolved|firing>",
     "receiver": <string>, "groupLabels": <object>, "commonLabels": <object>, "commonAnnotations": <object>,
     "externalURL": <string>,
     "alerts": [{"status": "<resolved|firing>", "labels": <object>, "annotations": <object>,
                 "startsAt": "<rfc3339>", "endsAt": "<rfc3339>", "generatorURL": <string>, "fingerprint": <string>}]}

Every key that real senders leave out is optional here: `groupKey` (v3 releases), per-alert `status` (older
senders), `fingerprint`, `generatorURL` and `truncatedAlerts` (before 0.21). Version "3" bodies have the same shape.
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

STATUS = st.sampled_from(["firing", "resolved"])
LABEL_NAME = st.from_regex(r"[a-zA-Z_][a-zA-Z0-9_]{0,20}", fullmatch=True)
LABEL_VALUE = st.text(min_size=0, max_size=40)
LABELS = st.dictionaries(LABEL_NAME, LABEL_VALUE, max_size=6)
RFC3339 = st.datetimes(timezones=st.timezones()).map(lambda moment: moment.isoformat())
ZERO_TIME = "0001-01-01T00:00:00Z"


def _optional(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(st.none(), strategy)


@st.composite
def alert(draw: st.DrawFn) -> dict[str, Any]:
    labels = draw(LABELS)
    labels.setdefault("alertname", draw(st.text(min_size=1, max_size=30)))
    body: dict[str, Any] = {
        "labels": labels,
        "annotations": draw(st.dictionaries(LABEL_NAME, st.text(max_size=200), max_size=4)),
        "startsAt": draw(RFC3339),
        "endsAt": draw(st.one_of(st.just(ZERO_TIME), RFC3339)),
    }
    optional = {
        "status": draw(_optional(STATUS)),
        "generatorURL": draw(_optional(st.sampled_from(["http://prometheus:9090/graph?g0.expr=up", "?orgId=1", ""]))),
        "fingerprint": draw(_optional(st.from_regex(r"[0-9a-f]{16}", fullmatch=True))),
    }
    body.update({key: value for key, value in optional.items() if value is not None})
    return body


@st.composite
def webhook_body(draw: st.DrawFn, max_alerts: int = 8) -> dict[str, Any]:
    alerts = draw(st.lists(alert(), min_size=1, max_size=max_alerts))
    group_labels = draw(st.dictionaries(LABEL_NAME, LABEL_VALUE, max_size=3))
    status = "firing" if any(item.get("status", "firing") == "firing" for item in alerts) else "resolved"
    body: dict[str, Any] = {
        "version": draw(st.sampled_from(["4", "3"])),
        "status": draw(st.one_of(st.just(status), STATUS)),
        "receiver": draw(st.sampled_from(["signalcraft", "web\\.hook", "team-ä"])),
        "groupLabels": group_labels,
        "commonLabels": group_labels,
        "commonAnnotations": {},
        "externalURL": draw(st.sampled_from(["http://alertmanager:9093", ""])),
        "alerts": alerts,
    }
    group_key = draw(_optional(st.text(min_size=1, max_size=80)))
    if group_key is not None:
        body["groupKey"] = group_key
    truncated = draw(_optional(st.integers(min_value=0, max_value=5000)))
    if truncated is not None:
        body["truncatedAlerts"] = truncated
    return body
