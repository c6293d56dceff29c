"""A third-party plugin distribution (an attack, a text detector that requires a built-in one,
an image detector, and finding kinds of its own) is found through its entry points and used by
real scans: each detector only in scans of its modality, next to the built-ins."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

PLUGIN = '''
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import ClassVar

from regurgitate import (Attack, AttackContext, Detector, Finding, GenerationSettings, Item,
                         Payload, Prior, Prompt)


@dataclass(frozen=True)
class Shout(Payload):
    kind: ClassVar[str] = "shout"
    version: ClassVar[int] = 1
    word: str
    pii_seen: int = 0


@dataclass(frozen=True)
class EchoAttack(Attack):
    words: tuple[str, ...] = ("hello", "world")
    max_new_tokens: int = 6
    name: str = field(default="echo", init=False)

    def prompts(self, ctx: AttackContext) -> list[Prompt]:
        settings = GenerationSettings(max_new_tokens=self.max_new_tokens, greedy=True)
        return [Prompt(id=f"echo:{i}", attack=self.name, text=f"Say {w.upper()} and mail a@b.io:",
                       settings=settings) for i, w in enumerate(self.words)]


class ShoutDetector(Detector):
    name = "shout"
    requires = ("pii",)

    def detect(self, items: Sequence[Item], prior: Prior) -> list[Finding]:
        out = []
        for it in items:
            word = it.prompt.as_text().split()[1]
            pii = prior.findings("pii", it.generation_id)
            out.append(Finding(it.generation_id, self.name, Shout(word=word, pii_seen=len(pii))))
        return out


@dataclass(frozen=True)
class Brightness(Payload):
    kind: ClassVar[str] = "brightness"
    version: ClassVar[int] = 1
    mean: float
    copy_findings: int = 0


class BrightnessDetector(Detector):
    """The mean pixel value of each generated image (and how many copy findings it has)."""

    name = "brightness"
    modality: ClassVar[str] = "image"
    requires = ("image_copy",)

    def detect(self, items: Sequence[Item], prior: Prior) -> list[Finding]:
        from regurgitate.images.imageio import decode

        out = []
        for it in items:
            if not it.generation.image:
                continue
            mean = float(decode(bytes(it.generation.image)).mean())
            copies = len(prior.findings("image_copy", it.generation_id))
            out.append(Finding(it.generation_id, self.name,
                               Brightness(mean=round(mean, 3), copy_findings=copies)))
        return out
'''

ENTRY_POINTS = '''
[regurgitate.attacks]
echo = regurgitate_demo_plugin:EchoAttack

[regurgitate.detectors]
shout = regurgitate_demo_plugin:ShoutDetector
brightness = regurgitate_demo_plugin:BrightnessDetector

[regurgitate.findings]
shout = regurgitate_demo_plugin:Shout
brightness = regurgitate_demo_plugin:Brightness
'''


@pytest.fixture()
def plugin_path(tmp_path: Path) -> Path:
    """A plugin distribution installed into a directory of its own (as
    ``pip install --target DIR`` lays it out): the module and its .dist-info."""
    site = tmp_path / "site"
    (site / "regurgitate_demo_plugin").mkdir(parents=True)
    (site / "regurgitate_demo_plugin" / "__init__.py").write_text(textwrap.dedent(PLUGIN))
    info = site / "regurgitate_demo_plugin-0.3.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: regurgitate-demo-plugin\n"
                                   "Version: 0.3\n")
    (info / "entry_points.txt").write_text(ENTRY_POINTS)
    (info / "RECORD").write_text("")
    return site


def _cli(args: list[str], plugin: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(plugin), "HF_HUB_OFFLINE": "1", "COLUMNS": "200",
           "REGURGITATE_CACHE": str(cwd / "cache")}
    return subprocess.run([sys.executable, "-m", "regurgitate.cli.main", *args], cwd=cwd,
                          env=env, capture_output=True, text=True, timeout=600)


def test_plugin_attack_and_detector_run_in_a_scan(plugin_path: Path, tmp_path: Path) -> None:
    from regurgitate import reference

    listed = _cli(["plugins"], plugin_path, tmp_path)
    assert listed.returncode == 0, listed.stderr
    assert "regurgitate_demo_plugin:ShoutDetector" in listed.stdout
    assert "regurgitate-demo-plugin 0.3" in listed.stdout
    assert "regurgitate.detectors.verbatim:VerbatimDetector" in listed.stdout

    db = tmp_path / "run.db"
    scan = _cli(["scan", "--target", f"hf:{reference.model_dir()}", "--attack", "echo",
                 "--set", "echo.words=red,blue", "--run", str(db), "--no-html"],
                plugin_path, tmp_path)
    assert scan.returncode == 0, scan.stderr[-3000:]
    # the plugin's finding kind, which no built-in summary knows, is in the terminal's table
    assert "Finding kinds" in scan.stdout and "│ shout" in scan.stdout
    out = tmp_path / "run.jsonl"
    exported = _cli(["export", str(db), "--output", str(out)], plugin_path, tmp_path)
    assert exported.returncode == 0, exported.stderr
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["prompt_id"] for r in rows] == ["echo:0", "echo:1"]
    for row in rows:
        shouts = [f for f in row["findings"] if f["kind"] == "shout"]
        pii = [f for f in row["findings"] if f["kind"] == "pii"]
        assert len(shouts) == 1 and shouts[0]["detector"] == "shout"
        # the plugin detector ran after the pii detector it requires and saw its findings
        assert shouts[0]["data"] == {"word": row["prompt"].split()[1], "pii_seen": len(pii)}
        # the plugin's image detector is not run on text
        assert not [f for f in row["findings"] if f["kind"] == "brightness"]
    assert {r["prompt"].split()[1] for r in rows} == {"RED", "BLUE"}


def test_plugin_image_detector_runs_next_to_the_built_ins(plugin_path: Path,
                                                         tmp_path: Path) -> None:
    db = tmp_path / "images.db"
    scan = _cli(["scan", "--target", "reference-image", "--set", "carlini.per_caption=2",
                 "--set", "carlini.captions=2", "--set", "brightness.nonsense=1",
                 "--run", str(db), "--no-html"], plugin_path, tmp_path)
    # its options are checked like a built-in's
    assert scan.returncode == 2 and "unknown option 'nonsense'" in scan.stderr, scan.stderr
    scan = _cli(["scan", "--target", "reference-image", "--set", "carlini.per_caption=2",
                 "--set", "carlini.captions=2", "--run", str(db), "--no-html"],
                plugin_path, tmp_path)
    assert scan.returncode == 0, scan.stderr[-3000:]
    assert "Generated images (ok / failed)" in scan.stdout
    assert "│ brightness" in scan.stdout  # the plugin's image kind, in the kinds table
    out = tmp_path / "images.jsonl"
    exported = _cli(["export", str(db), "--output", str(out)], plugin_path, tmp_path)
    assert exported.returncode == 0, exported.stderr
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == 4
    for row in rows:
        kinds = sorted(f["kind"] for f in row["findings"])
        assert kinds == ["brightness", "image_copy"]  # no text detector on images
        (bright,) = (f for f in row["findings"] if f["kind"] == "brightness")
        # it ran after the built-in image_copy detector it requires, and saw its finding
        assert bright["data"]["copy_findings"] == 1 and 0 <= bright["data"]["mean"] <= 255

