"""Publishing resumes: against a unit-level stand-in of the Marketplace Catalog API whose change
sets take time (PREPARING, then APPLYING, then SUCCEEDED) and lock the product while they run,
a publication waits (bounded) for another change set, and a second run of the same release
resumes the change set the first one started instead of starting another.

The stand-in follows the Catalog API reference: StartChangeSet answers ResourceInUseException
while a change set holds the entity, and the same ClientRequestToken returns the same change set;
ListChangeSets filters by EntityId, ChangeSetName and Status (a filter matches when any of its
values does; every filter must match)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.cdk.test_marketplace import FakeTime, mp

PRODUCT = "prod-abcdefghijklm"
VERSION = "v1.2.3"


@dataclass
class Catalog:
    time: FakeTime
    duration: float = 5400.0  # how long a change set runs (a scan "can take hours")
    change_sets: dict[str, dict[str, Any]] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)
    starts: int = 0

    def add(self, name: str, *, started: float, entity: str = PRODUCT) -> str:
        change_set_id = f"cs-{len(self.change_sets) + 1}"
        self.change_sets[change_set_id] = {"name": name, "entity": entity, "started": started}
        return change_set_id

    def status(self, change_set_id: str) -> str:
        elapsed = self.time.clock() - self.change_sets[change_set_id]["started"]
        if elapsed >= self.duration:
            return "SUCCEEDED"
        return "PREPARING" if elapsed < self.duration / 2 else "APPLYING"

    def __call__(self, args: Sequence[str]) -> Any:
        args = list(args)
        assert args[:2] == ["marketplace-catalog", args[1]] and args[3] == "us-east-1"
        if args[1] == "list-change-sets":
            filters = json.loads(args[args.index("--filter-list") + 1])
            return {"ChangeSetSummaryList": [s for s in self.summaries() if _match(s, filters)]}
        if args[1] == "start-change-set":
            self.starts += 1
            token = args[args.index("--client-request-token") + 1]
            if token in self.tokens:
                return {"ChangeSetId": self.tokens[token]}
            held = [
                i
                for i, c in self.change_sets.items()
                if c["entity"] == PRODUCT and self.status(i) != "SUCCEEDED"
            ]
            if held:
                raise mp.AwsError("ResourceInUseException", f"{PRODUCT} is locked by {held[0]}")
            name = args[args.index("--change-set-name") + 1]
            self.tokens[token] = self.add(name, started=self.time.clock())
            return {"ChangeSetId": self.tokens[token]}
        if args[1] == "describe-change-set":
            change_set_id = args[args.index("--change-set-id") + 1]
            return {"ChangeSetId": change_set_id, "Status": self.status(change_set_id)}
        raise AssertionError(args)

    def summaries(self) -> list[dict[str, Any]]:
        return [
            {
                "ChangeSetId": i,
                "ChangeSetName": c["name"],
                "Status": self.status(i),
                "EntityIdList": [c["entity"]],
                "StartTime": f"{c['started']:012.0f}",
            }
            for i, c in self.change_sets.items()
        ]


def _match(summary: dict[str, Any], filters: list[dict[str, Any]]) -> bool:
    fields = {
        "EntityId": summary["EntityIdList"],
        "ChangeSetName": [summary["ChangeSetName"]],
        "Status": [summary["Status"]],
    }
    return all(set(fields[f["Name"]]) & set(f["ValueList"]) for f in filters)


def publish(catalog: Catalog, *, timeout: float = 7200.0, busy: float = 3600.0) -> Any:
    logged: list[str] = []
    outcome = mp.publish(
        Path("/tmp/changeset.json"),
        product_id=PRODUCT,
        version=VERSION,
        attempt=1,
        timeout=timeout,
        interval=60.0,
        retry_delay=60.0,
        busy_timeout=busy,
        run=catalog,
        sleep=catalog.time.sleep,
        clock=catalog.time.clock,
        log=logged.append,
    )
    return outcome, logged


def test_a_rerun_resumes_the_change_set_the_first_run_started() -> None:
    catalog = Catalog(FakeTime())
    first, _ = publish(catalog, timeout=1800.0)  # the stage gave up while it was scanning
    assert first.status == "TIMEOUT"
    assert catalog.starts == 1
    second, logged = publish(catalog)  # the stage is run again
    assert second.succeeded and second.change_set_id == first.change_set_id
    assert catalog.starts == 1  # nothing new was started
    assert any(line.startswith(f"resuming change set {first.change_set_id}") for line in logged)
    third, _ = publish(catalog)  # and once more, after it succeeded: nothing to do
    assert third.succeeded and catalog.starts == 1


def test_a_publication_waits_for_another_change_set_then_starts() -> None:
    catalog = Catalog(FakeTime())
    catalog.add("an edit in the portal", started=catalog.time.clock() - 3000.0)
    outcome, logged = publish(catalog)
    assert outcome.succeeded and outcome.change_set_id == "cs-2"
    assert catalog.starts == 1  # started once the product was free, not into a lock
    assert any("held by change set(s) cs-1" in line for line in logged)
    assert sum(catalog.time.sleeps) >= 2400.0 + 5400.0  # the rest of cs-1, then all of cs-2


def test_the_wait_for_another_change_set_is_bounded() -> None:
    catalog = Catalog(FakeTime(), duration=100_000.0)
    catalog.add("a scan that never ends", started=catalog.time.clock())
    before = catalog.time.clock()
    outcome, _ = publish(catalog, busy=3600.0)
    assert outcome.status == "BUSY" and outcome.change_set_id == "cs-1"
    assert catalog.time.clock() - before <= 3600.0
    assert catalog.starts == 0
    lines = mp.report(outcome, attempt=1)
    assert lines[-1].startswith("error: change set cs-1 (of 1 change set(s) on the product)")
    assert "run this stage again" in lines[-1]


def test_other_products_and_finished_change_sets_do_not_hold_it() -> None:
    catalog = Catalog(FakeTime())
    catalog.add("another product", started=catalog.time.clock(), entity="prod-other")
    catalog.add("long done", started=catalog.time.clock() - 99_999.0)
    # Only the other product's change set is running: it does not lock this one.
    outcome, logged = publish(catalog)
    assert outcome.succeeded and outcome.change_set_id == "cs-3"
    assert not any("held by" in line for line in logged)
