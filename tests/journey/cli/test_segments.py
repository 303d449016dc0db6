"""`journey segments ...` end to end on a ClickHouse server database: define from YAML,
refresh, list, report, members, import a CRM export; bad input gets one line naming the place."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from journey.cli import main
from storage.server import ServerStore
from tests.analyzer.segments.bases import customers, load
from tests.helpers import server_database

pytestmark = pytest.mark.integration

DEFINITIONS = """\
version: 1
segments:
  - name: young
    category: demographic
    description: under 35
    refresh: 1h
    rule: {trait: age_band, in: ["18-24", "25-34"]}
  - name: vip
    rule:
      any:
        - {trait: tier, eq: vip}
        - {did: Order Completed, at_least: 3}
  - name: value
    rfm: {purchase_event: Order Completed}
"""


@pytest.fixture(scope="module")
def database(clickhouse_server: Any) -> Iterator[tuple[ServerStore, str]]:
    with server_database(clickhouse_server) as (store, url):
        load(store, customers(5, people=200), 5)
        yield store, url


def cli(url: str, *args: str) -> Any:
    return CliRunner().invoke(main, ["segments", *args], env={"JOURNEY_CLICKHOUSE_URL": url})


def test_define_refresh_list_report(database: tuple[ServerStore, str], tmp_path: Path) -> None:
    store, url = database
    file = tmp_path / "segments.yaml"
    file.write_text(DEFINITIONS)
    result = cli(url, "define", str(file))
    assert result.exit_code == 0, result.output
    assert "young: version 1" in result.output
    result = cli(url, "refresh", "--format", "json")
    assert result.exit_code == 0, result.output
    refreshed = json.loads(result.output)
    members = {s["segment"]: s["members"] for s in refreshed["segments"]}
    assert set(members) == {"young", "vip", "value"}
    assert 0 < members["young"]["young"] < refreshed["base"]
    assert sum(members["value"].values()) > 0
    assert cli(url, "refresh", "young").exit_code == 0  # a second refresh: movement
    listed = json.loads(cli(url, "list", "--format", "json").output)
    assert [r["segment"] for r in listed] == ["value", "vip", "young"]
    assert listed[2]["schedule"] == "1:00:00" and listed[2]["members"] == members["young"]["young"]
    report = json.loads(cli(url, "report", "young", "--format", "json").output)
    assert [p["members"] for p in report["sizes"]["young"]] == [members["young"]["young"]] * 2
    stayed = {(m["from_segment"], m["to_segment"]): m["people"] for m in report["movement"]}
    assert stayed[("young", "young")] == members["young"]["young"]
    criteria = {c["name"]: c for c in report["quality"]["young"]}
    assert set(criteria) == {"measurable", "reachable", "substantial", "distinct", "stable"}
    assert criteria["stable"]["evidence"]["mean_jaccard"] == 1.0
    assert criteria["reachable"]["evidence"]["identified"] == 1.0  # traits come from identify
    value = json.loads(cli(url, "report", "value", "--format", "json", "--no-quality").output)
    assert sum(v["customers"] for v in value["value"]) == sum(members["value"].values())
    table = cli(url, "report", "young")
    assert table.exit_code == 0 and "quality" in table.output and "mean_jaccard" in table.output
    page = tmp_path / "value.html"
    written = cli(url, "report", "value", "--no-quality", "--format", "html", "--output", str(page))
    assert written.exit_code == 0 and str(page) in written.output
    sizes, shares = (
        json.loads(m)
        for m in re.findall(r"class='journey-figure'[^>]*>(.*?)</script>", page.read_text(), re.S)
    )
    drawn = {t["name"]: t["y"][-1] for t in sizes["data"]}  # members at the latest refresh
    assert drawn == {group: n for group, n in members["value"].items()}
    assert [t["name"] for t in shares["data"]] == ["customers", "revenue"]
    people = cli(url, "members", "young", "--format", "csv", "--limit", "5")
    assert people.exit_code == 0 and len(people.output.splitlines()) == 6


def test_import_makes_traits_that_segments_use(
    database: tuple[ServerStore, str], tmp_path: Path
) -> None:
    store, url = database
    csv = tmp_path / "crm.csv"
    csv.write_text(
        "user_id,tier,score,newsletter\n"
        "u-5-1,vip,12,true\n"
        ",vip,3,false\n"  # no id: rejected, the rest load
        "u-5-2,vip,,\n"
        "u-5-3,basic,7.5,\n"
    )
    result = cli(url, "import", str(csv))
    assert result.exit_code == 0, result.output
    assert "3 of 4 rows imported" in result.output
    assert "line 3: user_id: empty" in result.output
    again = cli(url, "import", str(csv))  # the same file twice changes nothing
    assert again.exit_code == 0
    traits = store.execute(
        f"SELECT user_id, traits FROM (SELECT user_id, traits FROM {store.database}.events "
        "WHERE source = 'import:crm.csv' LIMIT 1 BY event_id) ORDER BY user_id"
    )
    assert [(u, json.loads(t)) for u, t in traits] == [
        ("u-5-1", {"tier": "vip", "score": 12, "newsletter": True}),
        ("u-5-2", {"tier": "vip"}),
        ("u-5-3", {"tier": "basic", "score": 7.5}),
    ]
    file = tmp_path / "vip.json"
    file.write_text(
        json.dumps(
            {"version": 1, "segments": [{"name": "vips", "rule": {"trait": "tier", "eq": "vip"}}]}
        )
    )
    result = cli(url, "refresh", "vips", "--file", str(file), "--format", "json")
    assert result.exit_code == 0, result.output
    (vips,) = json.loads(result.output)["segments"]
    assert vips["members"] == {"vips": 2}


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ("version: 2\nsegments: []\n", "version: this Journey reads format version 1"),
        (
            "version: 1\nsegments:\n  - {name: a, rule: {trait: x, gte: high}}\n",
            "segments[0].rule.gte: a number",
        ),
        (
            "version: 1\nsegments:\n  - name: a\n    rule: {all: [{did: Buy, in_last_days: 0}]}\n",
            "segments[0].rule.all[0].in_last_days: a whole number of days from 1 to 3650",
        ),
        (
            "version: 1\nsegments:\n  - {name: a, rule: {attribute: shoe_size, eq: 3}}\n",
            "segments[0].rule.attribute: 'shoe_size' is not one of",
        ),
        (
            "version: 1\nsegments:\n  - {name: a, rule: {trait: x, matches: '(('}}\n",
            "segments[0].rule.matches: not a regular expression",
        ),
        ("version: 1\nsegments: [\n", "not valid yaml"),
        (  # nested anchors, 50 aliases a level: `define` hung (killed after 90 s) before
            "a0: &a0 [x]\n"
            + "".join(f"a{n}: &a{n} [{', '.join([f'*a{n - 1}'] * 50)}]\n" for n in range(1, 6))
            + "version: 1\nsegments:\n  - {name: a, rule: {trait: x, in: *a5}}\n",
            "more than 100 YAML aliases",
        ),
    ],
)
def test_bad_definitions_name_the_place(
    database: tuple[ServerStore, str], tmp_path: Path, document: str, message: str
) -> None:
    _, url = database
    file = tmp_path / "bad.yaml"
    file.write_text(document)
    result = cli(url, "define", str(file))
    assert result.exit_code == 1
    assert message in result.output
    assert "Traceback" not in result.output


def test_unknown_names_and_files(database: tuple[ServerStore, str], tmp_path: Path) -> None:
    _, url = database
    result = cli(url, "refresh", "nope")
    assert result.exit_code == 1 and "no segment 'nope' is defined" in result.output
    result = cli(url, "report", "nope")
    assert result.exit_code == 1 and "no segment 'nope' is defined" in result.output
    result = cli(url, "import", str(tmp_path / "missing.csv"))
    assert result.exit_code == 1 and "cannot read" in result.output
    (tmp_path / "x.csv").write_text("email,tier\na@b.c,vip\n")
    result = cli(url, "import", str(tmp_path / "x.csv"))
    assert result.exit_code == 1 and "no column 'user_id'" in result.output


def test_reports_take_segments(database: tuple[ServerStore, str], tmp_path: Path) -> None:
    store, url = database
    file = tmp_path / "segments.yaml"
    file.write_text(DEFINITIONS)
    assert cli(url, "refresh", "--file", str(file)).exit_code == 0
    since = ["--since", "2025-12-01", "--until", "2026-06-02"]
    steps = ["--step", "Product Viewed", "--step", "Order Completed", "--window", "30d"]

    def report(*args: str) -> Any:
        return CliRunner().invoke(
            main, ["report", *args, *since, "--format", "json"], env={"JOURNEY_CLICKHOUSE_URL": url}
        )

    funnel = report("funnel", *steps, "--breakdown", "segment:young,value")
    assert funnel.exit_code == 0, funnel.output
    groups = {g["value"] for g in json.loads(funnel.output)["breakdown"]}
    assert "young" in groups and any(g.startswith("value/") for g in groups)
    only = report("funnel", *steps, "--in-segment", "young")
    young = next(g for g in json.loads(funnel.output)["breakdown"] if g["value"] == "young")
    assert json.loads(only.output)["steps"] == young["steps"]
    assert report("paths", "--in-segment", "young").exit_code == 0
    retained = report(
        "retention",
        "--start-event",
        "Product Viewed",
        "--return-event",
        "Order Completed",
        "--period",
        "month",
        "--in-segment",
        "value/Champions",
    )
    assert retained.exit_code == 0, retained.output
    pains = report("painpoints", *steps, "--segment", "segment=young", "--min-sample", "5")
    assert pains.exit_code == 0, pains.output
    assert json.loads(pains.output)["segment"] == "young"
    missing = report("funnel", *steps, "--in-segment", "nobody")
    assert missing.exit_code == 2 and "--in-segment" in missing.output
    assert "'nobody' has no refreshed membership" in missing.output


def test_the_schema_of_segment_and_alert_documents_is_printed_for_editors() -> None:
    import json

    import schemas
    from journey.cli import main

    for group, name in (("segments", schemas.SEGMENT_DOCUMENT), ("alerts", schemas.ALERT_DOCUMENT)):
        result = CliRunner().invoke(main, [group, "schema"])
        assert result.exit_code == 0, result.output
        assert json.loads(result.output) == schemas.load(name)


SETS = """\
version: 1
touchpoints:
  - name: interest
    description: looking at products or buying
    any_of:
      - Product Viewed
      - {event: Order Completed, where: [{field: type, op: eq, value: track}]}
"""


def test_touchpoint_sets_from_the_cli(database: tuple[ServerStore, str], tmp_path: Path) -> None:
    """`journey touchpoints define|list|show|drop`, a set as a funnel step and as a journey map
    stage, and one line naming the place for a bad document or an unknown set."""
    _, url = database
    env = {"JOURNEY_CLICKHOUSE_URL": url}

    def run(*args: str) -> Any:
        return CliRunner().invoke(main, list(args), env=env)

    file = tmp_path / "sets.yaml"
    file.write_text(SETS)
    defined = run("touchpoints", "define", str(file))
    assert defined.exit_code == 0 and defined.output == "interest: version 1\n", defined.output
    listed = json.loads(run("touchpoints", "list", "--format", "json").output)["touchpoints"]
    assert [(s["name"], s["version"], len(s["any_of"])) for s in listed] == [("interest", 1, 2)]
    assert json.loads(run("touchpoints", "show", "interest").output)["description"].startswith(
        "looking"
    )
    since = ["--since", "2025-12-01", "--until", "2026-06-02", "--format", "json"]
    steps_args = ["--step", "set:interest", "--step", "Order Completed", "--window", "30d"]
    funnel = run("report", "funnel", *steps_args, *since)
    assert funnel.exit_code == 0, funnel.output
    steps = json.loads(funnel.output)["steps"]
    assert steps[0]["event"] == "interest" and steps[1]["people"] > 0
    stages = ["--stage", "set:interest", "--stage", "Order Completed"]
    mapped = run("report", "journey_map", *stages, "--min-sample", "5", *since)  # window 30d
    assert mapped.exit_code == 0, mapped.output
    everyone = json.loads(mapped.output)["groups"][0]
    assert [s["people"] for s in everyone["stages"]] == [s["people"] for s in steps]

    file.write_text(SETS.replace("- Product Viewed", "- {where: []}"))
    bad = run("touchpoints", "define", str(file))
    assert bad.exit_code == 1
    assert "touchpoints[0].any_of[0]: an event name, or filters saying which events" in bad.output
    assert run("touchpoints", "drop", "interest").output == "interest: dropped\n"
    refused = run("report", "funnel", "--step", "set:interest", "--step", "Order Completed", *since)
    assert refused.exit_code != 0 and "set:interest: no touchpoint set" in refused.output
