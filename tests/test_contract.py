"""The stage contract: typed payloads round-trip through the store, detectors are ordered by
what they require and get earlier findings passed in, one registry and one option parser."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

import pytest

from regurgitate import registry
from regurgitate.detectors import (
    Detector,
    DetectorContext,
    Prior,
    order_detectors,
)
from regurgitate.errors import ConfigError
from regurgitate.findings import (
    DiscoverableProbe,
    DivergedOutput,
    Finding,
    MembershipSignals,
    NearVerbatimMatch,
    Payload,
    PIIHit,
    SourcePassage,
    UnknownPayload,
    VerbatimSpan,
    payload_kinds,
)
from regurgitate.options import parse_bool
from regurgitate.reports.polish import timestamp
from regurgitate.scan.assembly import default_detectors
from regurgitate.scan.pipeline import detect_pending
from regurgitate.store import RunStore
from regurgitate.targets.base import Target
from regurgitate.types import Generation, GenerationSettings, Item, Prompt, RunSpec

PAYLOADS: tuple[Payload, ...] = (
    VerbatimSpan(tokens=60, count=2, text="a span", documents=(3, 4), token_start=2,
                 token_end=62, sources=(SourcePassage(doc_id=3, name="d3", before="<",
                                                      match="a span", after=">"),)),
    NearVerbatimMatch(doc_id=1, name=None, source_text="x", generated_text="y",
                      edit_similarity=0.91, lcs_chars=40, rouge_l=0.9, tokens=55,
                      near_verbatim=True),
    DiscoverableProbe(exact=False, matched_prefix_tokens=3, suffix_tokens=50,
                      edit_similarity=0.2, approximate=False, passage_id="p-7"),
    DivergedOutput(word="poem", repeats=40, diverged_chars=300),
    PIIHit(type="email", value="a@b.io", in_verbatim=True),
    MembershipSignals(loss=2.0, perplexity=7.39, zlib=0.01, min_k=-4.0,
                      min_k_plus_plus=float("nan"), tokens=12),
)


PLUGGED = '''
from dataclasses import dataclass
from typing import ClassVar

from regurgitate.findings import Payload


@dataclass(frozen=True)
class Plugged(Payload):
    """A finding kind defined outside regurgitate (as an image plugin would)."""

    kind: ClassVar[str] = "test-plugged"
    version: ClassVar[int] = 2
    distance: float
    label: str = ""

    @classmethod
    def upgrade(cls, data: dict, from_version: int) -> dict:
        if from_version == 1:  # version 1 called the distance "d"
            data = {"distance": data.pop("d"), **data}
        return data
'''


@pytest.fixture
def plugged(tmp_path, monkeypatch) -> type[Payload]:
    """A distribution on sys.path that registers the finding kind ``test-plugged``, the way
    an installed plugin does (entry points are read from sys.path at each lookup)."""
    import importlib
    import sys

    site = tmp_path / "site"
    dist = site / "plugged_kind-1.0.dist-info"
    dist.mkdir(parents=True)
    (site / "plugged_kind.py").write_text(PLUGGED)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: plugged-kind\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(
        "[regurgitate.findings]\ntest-plugged = plugged_kind:Plugged\n")
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.delitem(sys.modules, "plugged_kind", raising=False)
    cls: type[Payload] = importlib.import_module("plugged_kind").Plugged
    return cls


def _store(tmp_path, n: int = 3) -> tuple[RunStore, list[int]]:
    store = RunStore.open(tmp_path / "run.db")
    store.init_run(RunSpec(target="t", attacks=("a",), index=None))
    prompts = [Prompt(id=f"a:{i}", attack="a", text="x", settings=GenerationSettings())
               for i in range(n)]
    store.add_prompts(prompts)
    ids = store.add_generations([Generation(prompt_id=p.id, text=f"text {i} a@b.io")
                                 for i, p in enumerate(prompts)])
    return store, ids


def test_every_payload_kind_round_trips_through_the_store(tmp_path, plugged) -> None:
    store, ids = _store(tmp_path)
    with store:
        findings = [Finding(ids[0], "d", p, start=i, end=i + 1, score=0.5)
                    for i, p in enumerate((*PAYLOADS, plugged(distance=0.1, label="x")))]
        store.add_findings(findings, detector="d", generation_ids=ids[:1])
        back = list(store.findings())
    assert [f.kind for f in back] == [f.kind for f in findings]
    for got, want in zip(back, findings, strict=True):
        assert type(got.payload) is type(want.payload)
        if isinstance(want.payload, MembershipSignals):  # nan != nan
            assert got.payload.signals()["loss"] == 2.0
            continue
        assert got == want
    assert set(payload_kinds()) >= {p.kind for p in PAYLOADS} | {"test-plugged"}


def test_older_and_unknown_payloads_read_back(tmp_path, plugged) -> None:
    store, ids = _store(tmp_path)
    with store:
        store.add_findings([], detector="d", generation_ids=ids[:1])
        conn = store._conn
        rows = [(ids[0], "d", "test-plugged", '{"d":0.25,"label":"old"}', 1),
                (ids[0], "d", "from-a-plugin-not-installed", '{"x":[1,2]}', 3),
                (ids[0], "d", "test-plugged", '{"distance":1.0}', 9)]
        conn.executemany("INSERT INTO findings (generation_id, detector, kind, data,"
                         " payload_version) VALUES (?, ?, ?, ?, ?)", rows)
        old, unknown, newer = (f.payload for f in store.findings())
    assert old == plugged(distance=0.25, label="old")
    assert isinstance(unknown, UnknownPayload) and unknown.kind_name() == \
        "from-a-plugin-not-installed" and unknown.data == {"x": [1, 2]}
    # a payload version newer than this code knows is kept raw, never misread
    assert isinstance(newer, UnknownPayload) and newer.stored_version == 9


def test_an_imported_but_unregistered_payload_class_is_not_a_kind(tmp_path) -> None:
    # only the registry names finding kinds: a class that is merely imported is not one
    @dataclass(frozen=True)
    class Stray(Payload):
        kind: ClassVar[str] = "test-stray"
        x: int = 0

    store, ids = _store(tmp_path)
    with store:
        store.add_findings([Finding(ids[0], "d", Stray(x=3))], detector="d",
                           generation_ids=ids[:1])
        (back,) = store.findings()
    assert "test-stray" not in payload_kinds()
    assert isinstance(back.payload, UnknownPayload) and back.payload.data == {"x": 3}


class _Spans(Detector):
    name = "spans"

    def detect(self, items: Sequence[Item], prior: Prior) -> list[Finding]:
        return [Finding(it.generation_id, self.name, VerbatimSpan(tokens=4, count=1,
                                                                  text=it.generation.text[:4]),
                        0, 4) for it in items]


class _Reader(Detector):
    name = "reader"
    requires = ("spans",)

    def __init__(self) -> None:
        self.seen: list[tuple[int, int]] = []

    def detect(self, items: Sequence[Item], prior: Prior) -> list[Finding]:
        self.seen += [(it.generation_id, len(prior.findings("spans", it.generation_id)))
                      for it in items]
        return []


class _Loop(Detector):
    name = "loop"
    requires = ("reader",)

    def detect(self, items: Sequence[Item], prior: Prior) -> list[Finding]:
        return []


def test_detectors_are_ordered_by_what_they_require() -> None:
    spans, reader = _Spans(), _Reader()
    assert [d.name for d in order_detectors([reader, spans])] == ["spans", "reader"]
    with pytest.raises(ConfigError, match="requires 'spans', which is not in this scan"):
        order_detectors([reader])
    looped = _Spans()
    looped.requires = ("loop",)
    with pytest.raises(ConfigError, match="cycle: .*spans"):
        order_detectors([reader, looped, _Loop()])
    with pytest.raises(ConfigError, match="two detectors"):
        order_detectors([spans, _Spans()])


def test_pipeline_passes_earlier_findings_in_also_after_a_resume(tmp_path) -> None:
    store, ids = _store(tmp_path, n=5)
    with store:
        # an earlier run got "spans" through the first three generations only
        detect_pending(store, [_Spans()])
        store.add_generations([])
        for gid in ids[3:]:
            store._conn.execute("DELETE FROM detected WHERE generation_id = ?", (gid,))
        reader = _Reader()
        written = detect_pending(store, [reader, _Spans()], batch_size=2)
    assert sorted(reader.seen) == [(gid, 1) for gid in ids]
    assert len(written) == 2  # spans for the two generations not processed before


def test_default_detectors_come_from_the_registry() -> None:
    names = [d.name for d in default_detectors(DetectorContext())]
    assert set(names) == {"pii", "divergence", "discoverable", "membership"}  # no index
    with pytest.raises(ConfigError, match="needs a reference-corpus index"):
        default_detectors(DetectorContext(), names=["verbatim"])
    with pytest.raises(ConfigError, match="did you mean 'near_verbatim'"):
        default_detectors(DetectorContext(), names=["near_verbatin"])
    with pytest.raises(ConfigError, match="unknown option 'names_modle'.*names_model"):
        default_detectors(DetectorContext(), {"pii": {"names_modle": "x"}})


def test_registries_list_the_builtins_from_entry_points() -> None:
    entries = {r.group: r.entries() for r in registry.all_registries()}
    assert set(entries["regurgitate.targets"]) >= {"hf", "openai", "vllm", "reference"}
    assert set(entries["regurgitate.attacks"]) >= {"divergence", "corpus-prompts",
                                                   "discoverable", "sample-rank"}
    assert set(entries["regurgitate.detectors"]) >= {"verbatim", "near_verbatim", "pii",
                                                     "divergence", "discoverable", "membership"}
    hf = entries["regurgitate.targets"]["hf"]
    assert [e.source.split()[0] for e in hf] == ["regurgitate"]


@pytest.mark.parametrize(("raw", "value"), [("1", True), ("true", True), ("Yes", True),
                                            ("ON", True), ("0", False), ("off", False)])
def test_one_boolean_syntax_everywhere(raw: str, value: bool) -> None:
    from regurgitate.detectors import NearVerbatimDetector
    from regurgitate.options import convert_options
    from regurgitate.targets import parse_spec

    assert parse_bool(raw) is value
    assert parse_spec(f"hf:/m?chat={raw}").options == {"chat": value}
    assert convert_options(NearVerbatimDetector, {"flagged_only": raw}, owner="x",
                         skip=1) == {"flagged_only": value}
    with pytest.raises(ConfigError, match="bad value 'maybe' for option 'flagged_only'"):
        convert_options(NearVerbatimDetector, {"flagged_only": "maybe"}, owner="x", skip=1)


def test_prepare_scan_takes_the_command_line_and_builds_registered_detectors(
        tmp_path, monkeypatch) -> None:
    from regurgitate.scan.request import ScanRequest
    from regurgitate.scan.setup import prepare_scan

    monkeypatch.chdir(tmp_path)  # the default run directory is created in the working dir
    target = "openai:http://127.0.0.1:9/v1?model=m&api_key_env="
    req = ScanRequest(target=target, attacks="divergence", run=None, write_html=False,
                      command=("scan", "--target", target, "--set", "pii.names_model="),
                      options={"pii": {"names_model": ""}}, cache_dir=tmp_path)
    prepared = prepare_scan(req)
    assert prepared.resume_command.startswith(f"regurgitate scan --target '{target}' --set")
    assert "--run regurgitate-out/" in prepared.resume_command
    assert [d.name for d in prepared.detectors] == ["discoverable", "divergence",
                                                    "membership", "pii"]
    with pytest.raises(ConfigError, match="not in this scan: nope"):
        prepare_scan(ScanRequest(target=target, attacks="divergence",
                                 options={"nope": {"x": "1"}}, write_html=False))


class _Scripted(Target):
    """A target that answers every prompt with the same repeat-then-diverge text."""

    name = "scripted"

    def generate(self, prompts: Sequence[Prompt]) -> list[Generation]:
        text = "poem poem poem poem and then the keeper wrote to jane@example.org every night"
        return [Generation(prompt_id=p.id, text=text, completion_tokens=20) for p in prompts]


def test_scan_writes_run_times_and_typed_findings_the_report_shows(tmp_path) -> None:
    from regurgitate.attacks.divergence import DivergenceAttack
    from regurgitate.reports import load_run, render_html
    from regurgitate.scan.pipeline import run_scan

    spec = RunSpec(target="scripted", attacks=("divergence",), index=None)
    with RunStore.open(tmp_path / "run.db") as store:
        outcome = run_scan(store=store, spec=spec, target=_Scripted(),
                           attacks=[DivergenceAttack(words=("poem",), repeats=(1,))],
                           detectors=default_detectors(DetectorContext()), index=None)
        assert outcome.generated == 3 and store.get_meta("status") == "finished"
        started, finished = store.get_meta("started_at"), store.get_meta("finished_at")
        run = load_run(store)
    assert started and finished and started <= finished
    assert run.extra["started_at"] == started and run.extra["finished_at"] == finished
    kinds = {f.kind: type(f.payload) for f in run.findings}
    assert kinds == {"divergence": DivergedOutput, "pii": PIIHit}
    page = render_html(run)
    # shown in the report's one timestamp format (reports/polish.py)
    assert f"<dt>Run started</dt><dd>{timestamp(started)}</dd>" in page
    assert f"<dt>Run finished</dt><dd>{timestamp(finished)}</dd>" in page


def test_registry_checks_what_an_entry_point_names(tmp_path, monkeypatch) -> None:
    info = tmp_path / "bad_plugin-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: bad-plugin\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(
        "[regurgitate.detectors]\nnot_a_detector = json:dumps\nmissing = json:nothing_here\n"
        "verbatim = json:loads\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    reg = registry.detectors()
    with pytest.raises(ConfigError, match="not a subclass of Detector"):
        reg.load("not_a_detector")
    with pytest.raises(ConfigError, match="does not exist"):
        reg.load("missing")
    with pytest.raises(ConfigError, match="two plugins register the detector "
                                          "'verbatim'.*bad-plugin 1.0"):
        reg.load("verbatim")
