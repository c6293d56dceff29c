"""Budgets shared across the attacks (issue 41: `scan --max-generations 20` spent all 20 on
divergence) and default run files named after what the run is."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from regurgitate.cli.main import main
from regurgitate.scan.budget import Budget, generation_order, round_robin
from regurgitate.scan.run_names import audit_run_name, scan_run_name
from regurgitate.store import RunStore
from regurgitate.types import GenerationSettings, Prompt


def _p(attack: str, i: int) -> Prompt:
    return Prompt(id=f"{attack}-{i}", attack=attack, text="x", settings=GenerationSettings())


def test_round_robin_takes_one_prompt_of_each_attack_in_turn() -> None:
    prompts = [_p("a", i) for i in range(5)] + [_p("b", i) for i in range(2)] + [_p("c", 0)]
    order = [p.id for p in round_robin(prompts)]
    assert order == ["a-0", "b-0", "c-0", "a-1", "b-1", "a-2", "a-3", "a-4"]
    assert Counter(p.attack for p in round_robin(prompts)[:6]) == {"a": 3, "b": 2, "c": 1}


def test_default_run_files_are_named_after_the_run(tmp_path: Path) -> None:
    assert scan_run_name("reference") == "reference.db"  # plain `scan` keeps its file
    other = scan_run_name("reference", index=tmp_path / "my-index")
    assert other != "reference.db" and other.startswith("reference-my-index-")
    assert scan_run_name("reference", "divergence,discoverable") == \
        "reference-divergence-discoverable.db"
    a, b = tmp_path / "a" / "book.txt", tmp_path / "b" / "book.txt"
    assert audit_run_name("reference", a) != audit_run_name("reference", b)
    assert audit_run_name("reference", a).startswith("audit-reference-book-")
    assert len(scan_run_name("x" * 300, "y" * 300, "z" * 300)) <= 103


def test_a_small_generation_budget_runs_every_default_attack(
        cache_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exc:  # stopped at the budget: exit 0 or incomplete
        main(["scan", "--max-generations", "8", "--no-html", "-q"])
        raise SystemExit(0)
    assert exc.value.code in (0, None)
    with RunStore.open(tmp_path / "regurgitate-out" / "reference.db", create=False) as store:
        done = Counter(it.prompt.attack for it in store.generations())
        attacks = store.spec().attacks  # type: ignore[union-attr]
    assert sum(done.values()) == 8
    assert set(done) == set(attacks) and len(attacks) > 1


def test_a_refused_resume_names_both_index_paths_whole(tmp_path: Path) -> None:
    from regurgitate.errors import StoreError
    from regurgitate.types import RunSpec

    long_a = str(tmp_path / ("a-very-long-folder-name-" * 3) / "index-one")
    long_b = str(tmp_path / ("a-very-long-folder-name-" * 3) / "index-two")
    with RunStore.open(tmp_path / "r.db") as store:
        store.init_run(RunSpec("reference", ("divergence",), long_a))
        with pytest.raises(StoreError) as exc:
            store.init_run(RunSpec("reference", ("divergence",), long_b))
    assert long_a in exc.value.message and long_b in exc.value.message


def test_help_says_budgets_count_the_whole_run_and_are_shared(
        capsys: pytest.CaptureFixture[str]) -> None:
    for command in ("scan", "audit"):
        try:
            main([command, "--help"])
        except SystemExit as exc:
            assert not exc.code
        text = "".join(capsys.readouterr().out.replace("│", " ").split())
        assert "countedoverthewholerun" in text and "round-robin" in text


def test_without_a_limit_each_attacks_prompts_stay_together_for_batching() -> None:
    """Only a budget reorders the prompts (mixed batches changed the default scan's outputs),
    and its order does not depend on the budget's value, so a run resumed with a larger budget
    batches as a straight one."""
    prompts = [_p(a, i) for a in "abc" for i in range(4)]
    assert generation_order(prompts, Budget()) == prompts
    small = generation_order(prompts, Budget(max_generations=6))
    assert Counter(p.attack for p in small[:6]) == {"a": 2, "b": 2, "c": 2}
    assert small == generation_order(prompts, Budget(max_generations=9))
    assert small == generation_order(prompts, Budget(max_tokens=100)) == round_robin(prompts)
