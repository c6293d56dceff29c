"""Components in one local file, used without packaging (``--plugins FILE.py`` or
``REGURGITATE_PLUGINS``), with the same checks as installed ones; a broken one is named in one
line and the run keeps what finished."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from tests.conftest import RunCli

LOCAL = '''
from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from regurgitate import Attack, AttackContext, Generation, GenerationSettings, Prompt, Target


@dataclass(frozen=True)
class HelloAttack(Attack):
    """Says hello a few times."""

    #: how many prompts
    count: int = 5
    name: str = field(default="hello", init=False)

    def prompts(self, ctx: AttackContext) -> list[Prompt]:
        settings = GenerationSettings(max_new_tokens=4, greedy=True)
        return [Prompt(id=f"hello:{i}", attack=self.name, text=f"hello {i}", settings=settings)
                for i in range(self.count)]


class ShortTarget(Target):
    """Answers every prompt, but drops one answer from the batch holding ``hello 3``.

    :param batch_size: prompts per call
    """

    scheme: ClassVar[str] = "short"
    needs_location: ClassVar[bool] = False

    def __init__(self, location: str = "", *, batch_size: int = 2) -> None:
        self.batch_size = batch_size

    def generate(self, prompts):
        gens = [Generation(prompt_id=p.id, text="hi there", completion_tokens=2)
                for p in prompts]
        return gens[1:] if any(p.text == "hello 3" for p in prompts) else gens


class TextOnlyTarget(Target):
    """Answers with text only: no token ids, no counts."""

    scheme: ClassVar[str] = "textonly"
    needs_location: ClassVar[bool] = False

    def __init__(self, location: str = "") -> None:
        pass

    def generate(self, prompts):
        return [Generation(prompt_id=p.id, text="one two three four") for p in prompts]
'''


@pytest.fixture()
def local_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "my_plugin.py"
    path.write_text(textwrap.dedent(LOCAL), encoding="utf-8")
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.setenv("REGURGITATE_PLUGINS", "")  # restored after the test
    return path


def test_a_local_file_is_checked_and_used(local_file: Path, tmp_path: Path,
                                          run_cli: RunCli) -> None:
    code, out, err = run_cli(["--plugins", str(local_file), "plugins", "--check"])
    assert code == 0, out + err
    assert "attack:hello" in out and "target:short" in out
    code, out, _ = run_cli(["--plugins", str(local_file), "plugins"])
    assert f"local plugin {local_file}" in out

    # a target that returns the wrong number of generations is named in one line; the
    # batch before it stays in the run
    db = tmp_path / "run.db"
    code, out, err = run_cli(["--plugins", str(local_file), "scan", "--target",
                              "short:?batch_size=2", "--attack", "hello", "--run", str(db),
                              "--no-html"])
    assert code != 0
    assert "returned 1 generations for 2 prompts" in err and "ShortTarget" in err
    assert "Traceback" not in err
    out_file = tmp_path / "x.jsonl"
    code, out, err = run_cli(["export", str(db), "--output", str(out_file)])
    assert code == 0, err
    rows = [json.loads(line) for line in out_file.read_text().splitlines()]
    assert [r["prompt_id"] for r in rows] == ["hello:0", "hello:1"]


def test_a_broken_local_plugin_is_named_in_one_line(tmp_path: Path, run_cli: RunCli,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REGURGITATE_PLUGINS", "")  # restored after the test
    bad = tmp_path / "bad_plugin.py"
    bad.write_text("raise RuntimeError('boom at import')\n", encoding="utf-8")
    code, out, err = run_cli(["--plugins", str(bad), "plugins"])
    assert code == 2
    assert "bad_plugin.py" in err and "boom at import" in err and "Traceback" not in err


def test_a_name_registered_twice_is_refused(tmp_path: Path, run_cli: RunCli,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REGURGITATE_PLUGINS", "")  # restored after the test
    twin = tmp_path / "twin_plugin.py"
    twin.write_text(textwrap.dedent('''
        from dataclasses import dataclass, field
        from regurgitate import Attack

        @dataclass(frozen=True)
        class Twin(Attack):
            name: str = field(default="divergence", init=False)

            def prompts(self, ctx):
                return []
    '''), encoding="utf-8")
    code, out, err = run_cli(["--plugins", str(twin), "scan", "--attack", "divergence",
                              "--run", str(tmp_path / "r.db"), "--no-html"])
    assert code == 2
    assert "two plugins register the attack 'divergence'" in err
    assert "twin_plugin.py" in err


def test_unknown_token_counts_are_unknown_and_refuse_a_token_budget(
        local_file: Path, tmp_path: Path, run_cli: RunCli) -> None:
    # no index and no token_counter(): nothing can count this target's tokens
    base = ["--plugins", str(local_file), "scan", "--target", "textonly", "--attack", "hello",
            "--detector", "divergence", "--no-html"]
    code, out, err = run_cli([*base, "--run", str(tmp_path / "a.db"), "--max-tokens", "50"])
    assert code == 2 and "--max-tokens and --max-cost cannot be enforced" in err, out + err
    assert "textonly" in err
    code, out, err = run_cli([*base, "--run", str(tmp_path / "b.db")])
    assert code == 0, out + err
    line = next(ln for ln in out.splitlines() if "Generated tokens" in ln)
    assert "unknown" in line and " 0" not in line
