"""The command line a newcomer meets: help, attack and option listings, hints (issue 22 §3)."""

from __future__ import annotations

import re
import shutil
import socket
from pathlib import Path

import pytest

from regurgitate import reference
from tests.cli.conftest import RunCli

COMMANDS = [["check"], ["dedup"], ["scan"], ["report"], ["export"], ["serve"], ["plugins"],
            ["index"], ["index", "build"], ["index", "info"], ["index", "serve"],
            ["index", "build-sharded"], ["index", "build-images"], ["runs"], ["runs", "list"],
            ["runs", "show"]]


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_dash_h_is_help_on_every_command(run_cli: RunCli, command: list[str]) -> None:
    code, out, err = run_cli([*command, "-h"])
    assert code == 0, err
    assert "Usage: regurgitate " + " ".join(command) in " ".join(out.split())
    assert run_cli([*command, "--help"])[1] == out


def test_completion_options_are_offered(run_cli: RunCli) -> None:
    code, out, _ = run_cli(["--help"])
    assert code == 0
    assert "--install-completion" in out and "--show-completion" in out


def test_help_text_is_not_broken_where_the_docstring_was(run_cli: RunCli) -> None:
    # the docstring breaks "a run in" / "./regurgitate-out/" across source lines; the help
    # wraps at the terminal width only, so the two words can sit on one line
    from regurgitate.cli.main import unwrap
    from regurgitate.cli.scan_cmd import scan

    help_text = unwrap(scan.__doc__)
    assert help_text is not None
    assert "a run in ./regurgitate-out/ and" in help_text
    assert "\n\n" in help_text  # paragraphs stay paragraphs
    assert all("\n" not in p for p in help_text.split("\n\n"))
    _, out, _ = run_cli(["scan", "--help"])
    assert re.search(r"run in\s+\n", out) is None


def test_scan_help_lists_the_registered_attacks_by_modality(run_cli: RunCli) -> None:
    from regurgitate import registry

    _, out, _ = run_cli(["scan", "--help"])
    flat = " ".join(out.replace("│", " ").split())
    assert ("text: audit, corpus-prompts, discoverable, divergence, repeated-token, sample-rank, "
            "special-chars") in flat
    assert "image: carlini, img2img, recorded-images" in flat
    for name in registry.attacks().names():  # every registered attack, none hand-listed
        assert name in flat


def test_listings_group_attacks_by_their_declared_modality() -> None:
    from regurgitate import registry
    from regurgitate.cli.modality import attacks_by_modality, modality_of

    groups = attacks_by_modality()
    assert {"carlini", "recorded-images"} <= set(groups["image"])
    assert {"divergence", "discoverable"} <= set(groups["text"])
    for name in registry.attacks().names():
        cls = registry.attacks().load(name)
        assert modality_of(name, cls) == cls.modality  # what the class says, nothing else
    assert modality_of("plugin-that-failed-to-import", None) == "text"


def test_unknown_attack_on_a_text_target_offers_text_attacks_only(run_cli: RunCli) -> None:
    code, _, err = run_cli(["scan", "--target", "hf:org/none", "--attack", "divergenc"])
    assert code == 2
    assert "unknown attack 'divergenc'" in err
    assert "did you mean 'divergence'" in err
    assert "carlini" not in err and "recorded-images" not in err
    code, _, err = run_cli(["scan", "--target", "hf:org/none", "--attack", "carlini"])
    assert code == 2
    assert "the attack 'carlini' prompts image models" in err and "text attacks:" in err


def test_plugins_options_lists_an_attacks_typed_options(run_cli: RunCli) -> None:
    code, out, err = run_cli(["plugins", "--options", "corpus-prompts"])
    assert code == 0, err
    rows = {line.split("│")[1].strip(): [c.strip() for c in line.split("│")[2:4]]
            for line in out.splitlines() if line.count("│") >= 4}
    assert rows["num_prompts"] == ["int", "64"]
    assert rows["temperature"] == ["float", "1.0"]
    assert "--set corpus-prompts.OPTION=VALUE" in out


def test_plugins_options_follow_the_components_parameters() -> None:
    # the listing is the parameters create() parses, not a list kept beside them
    from regurgitate import registry
    from regurgitate.detectors.membership import _membership_options
    from regurgitate.option_docs import describe
    from regurgitate.options import option_spec

    docs = describe(registry.detectors().load("membership"))
    assert [d.name for d in docs] == list(option_spec(_membership_options).types)
    k = next(d for d in docs if d.name == "k")
    assert (k.type, k.default) == ("float", "0.2")
    assert "lowest-scored tokens" in k.help
    # objects a detector gets from the scan (an index, a scorer) are not --set options
    near = [d.name for d in describe(registry.detectors().load("near_verbatim"))]
    assert "index" not in near and "threshold" in near
    disc = [d.name for d in describe(registry.detectors().load("discoverable"))]
    assert disc == ["approx_threshold"]


def test_plugins_options_of_a_target_and_of_a_shared_name(run_cli: RunCli) -> None:
    code, out, _ = run_cli(["plugins", "--options", "hf"])
    assert code == 0
    assert "--target hf:LOCATION?OPTION=VALUE" in out and "batch_size" in out
    rows = [line.split("│")[1].strip() for line in out.split("┡")[1].splitlines()
            if line.startswith("│")]
    assert "model" not in rows and "device" in rows  # the location is not an option
    code, out, _ = run_cli(["plugins", "--options", "discoverable"])
    assert code == 0
    assert "attack discoverable" in out and "detector discoverable" in out
    assert "prefix_tokens" in out and "approx_threshold" in out
    code, _, err = run_cli(["plugins", "--options", "divergenc"])
    assert code == 2 and "did you mean 'divergence'" in err


def test_an_attacks_option_without_the_attack_names_attack(run_cli: RunCli,
                                                           cache_dir: Path) -> None:
    code, _, err = run_cli(["scan", "--attack", "divergence",
                            "--set", "discoverable.preset=pythia"])
    assert code == 2
    flat = " ".join(err.split())
    assert "'discoverable' is not among this scan's attacks (divergence)" in flat
    assert "--attack divergence,discoverable" in flat
    assert "unknown option 'preset' for detector" not in flat


def test_an_unreachable_hub_fails_fast_in_one_line(run_cli: RunCli,
                                                   monkeypatch: pytest.MonkeyPatch,
                                                   tmp_path: Path) -> None:
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")  # nothing listens there
    for proxy in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy"):
        monkeypatch.delenv(proxy, raising=False)  # a proxy would answer for it
    from regurgitate.runtimes import hub

    probes: list[tuple[str, float]] = []
    real = hub.reachable

    def counted(url: str, timeout: float = hub.PROBE_SECONDS) -> bool:
        probes.append((url, timeout))
        return real(url, timeout)

    monkeypatch.setattr(hub, "reachable", counted)
    code, _, err = run_cli(["scan", "--target", "hf:someorg/nomodel", "--attack", "divergence",
                            "--run", str(tmp_path / "r.db"), "--no-html"])
    assert code == 5
    # fast: one probe of the hub, bounded by its timeout, and no download tried after it
    assert probes == [("http://127.0.0.1:9", hub.PROBE_SECONDS)] and hub.PROBE_SECONDS <= 5
    lines = err.strip().splitlines()
    assert lines[0].startswith("error: the Hugging Face hub (127.0.0.1) can't be reached")
    assert "\\n" not in err
    assert "HF_HUB_OFFLINE=1" in lines[1] and "local model directory" in lines[1]


def test_hf_hub_offline_is_honoured(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from regurgitate.errors import TargetError
    from regurgitate.runtimes import hub

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path))
    calls: list[str] = []
    monkeypatch.setattr(hub, "reachable", lambda *a, **k: calls.append("probe") or True)
    with pytest.raises(TargetError, match="HF_HUB_OFFLINE is set"):
        hub.resolve_model("someorg/nomodel")
    assert calls == []  # the hub is never asked


def test_a_hub_that_accepts_but_never_answers_is_bounded(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # a proxy or sandbox may accept the connection and then say nothing
    from regurgitate.runtimes.hub import reachable

    for proxy in ("http_proxy", "HTTP_PROXY", "all_proxy"):
        monkeypatch.delenv(proxy, raising=False)

    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)  # connections queue; none is ever answered
        port = server.getsockname()[1]
        # it returns (bounded by its own timeout: pytest-timeout would catch a hang) and
        # says no, after its request really reached the silent server
        assert reachable(f"http://127.0.0.1:{port}", timeout=0.5) is False
        server.settimeout(0)
        conn, _ = server.accept()  # the probe's connection is queued here
        conn.close()


def _fake_cache(root: Path, repo: str) -> Path:
    """A hub cache as huggingface_hub lays it out, holding the bundled reference model."""
    folder = root / ("models--" + repo.replace("/", "--"))
    snapshot = folder / "snapshots" / "0123456789abcdef"
    shutil.copytree(reference.model_dir(), snapshot)
    (folder / "refs").mkdir()
    (folder / "refs" / "main").write_text("0123456789abcdef")
    return snapshot


def test_a_cached_snapshot_is_used_without_the_hub(monkeypatch: pytest.MonkeyPatch,
                                                   tmp_path: Path) -> None:
    from regurgitate.runtimes.hub import resolve_model
    from regurgitate.targets.hf import HFTarget

    snapshot = _fake_cache(tmp_path, "someorg/tiny")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path))
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")
    for offline in ("0", "1"):
        monkeypatch.setenv("HF_HUB_OFFLINE", offline)
        assert resolve_model("someorg/tiny") == str(snapshot)
    target = HFTarget("someorg/tiny")
    assert target.name == "hf:someorg/tiny"
    ids = target.tokenizer("Once upon a time")["input_ids"]
    assert len(ids) > 0


def _exit_table(path: Path) -> set[int]:
    rows = re.findall(r"^\| (\d+) \|", path.read_text(encoding="utf-8"), flags=re.M)
    return {int(r) for r in rows} - {0}


def test_the_exit_code_tables_match_errors_py() -> None:
    from regurgitate import errors

    def subclasses(cls: type) -> list[type]:
        return [cls, *(s for c in cls.__subclasses__() for s in subclasses(c))]

    codes = {c.exit_code for c in subclasses(errors.RegurgitateError)}  # type: ignore[attr-defined]
    codes |= {errors.EXIT_INCOMPLETE, errors.EXIT_TERMINATED, errors.Interrupted.exit_code}
    root = Path(__file__).resolve().parents[2]
    assert _exit_table(root / "README.md") == codes
    assert _exit_table(root / "docs" / "robustness.md") == codes


def test_a_folder_that_is_not_an_index_is_a_usage_error(run_cli: RunCli,
                                                         tmp_path: Path) -> None:
    text = tmp_path / "t.txt"
    text.write_text("some text")
    for args in (["check", str(text), "--index", str(tmp_path)],
                 ["check", str(text), "--index", str(tmp_path / "missing")],
                 ["index", "info", str(tmp_path)]):
        code, _, err = run_cli(args)
        assert code == 2, (args, err)
        assert "index" in err and "regurgitate index build" in err


def test_check_without_index_uses_the_reference_and_says_so(run_cli: RunCli, cache_dir: Path,
                                                            tmp_path: Path) -> None:
    text = tmp_path / "t.txt"
    text.write_text(next(reference.iter_corpus()).text[:1500])
    code, out, err = run_cli(["check", str(text)])
    assert code == 0, err
    assert "no --index given: checking against the bundled reference corpus" in \
        " ".join(err.split())
    assert "verdict:" in out
    code, out_quiet, err = run_cli(["check", str(text), "--quiet"])
    assert code == 0 and err == ""
    assert "verdict:" in out_quiet


def test_runs_list_names_the_folder_it_looked_in(run_cli: RunCli, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    code, _, err = run_cli(["runs", "list"])
    assert code == 2
    flat = " ".join(err.split())
    assert "regurgitate-out" in flat and str(tmp_path) in flat
    assert "regurgitate runs list DIR" in flat


def _byte_corpus(tmp_path: Path) -> Path:
    corpus = tmp_path / "c.jsonl"
    corpus.write_text('{"text": "hello world, hello again"}\n{"text": "a second one"}\n')
    return corpus


def test_a_byte_index_says_bytes_and_quiet_prints_the_result_only(run_cli: RunCli,
                                                                  tmp_path: Path) -> None:
    idx = tmp_path / "idx"
    code, out, err = run_cli(["index", "build", str(_byte_corpus(tmp_path)), "-o", str(idx),
                              "--quiet"])
    assert code == 0, err
    assert err == ""  # no progress and no stray spinner line
    assert "36 bytes (u8" in out and "tokens" not in out
    code, out, _ = run_cli(["index", "info", str(idx)])
    assert code == 0
    assert "num_bytes" in out and "num_tokens" not in out


def test_progress_leaves_no_spinner_line_when_stderr_is_not_a_terminal(
        run_cli: RunCli, tmp_path: Path) -> None:
    code, out, err = run_cli(["index", "build", str(_byte_corpus(tmp_path)), "-o",
                              str(tmp_path / "idx")])
    assert code == 0
    assert "indexing" not in err and "⠋" not in err  # captured stderr is not a terminal
    assert out.startswith("indexed 2 documents")
    code, out, err = run_cli(["dedup", str(_byte_corpus(tmp_path)), "-o",
                              str(tmp_path / "d.jsonl"), "-q"])
    assert code == 0 and err == ""
    assert out.startswith("2 documents (all written):")


def test_no_color_is_honoured(run_cli: RunCli, monkeypatch: pytest.MonkeyPatch,
                              tmp_path: Path) -> None:
    monkeypatch.setenv("FORCE_COLOR", "1")  # a terminal would get colours...
    _, _, err = run_cli(["check", str(tmp_path / "none.txt"), "--index", str(tmp_path)])
    assert re.search(r"\x1b\[[0-9;]*3[0-7]", err)  # ... red "error:"
    monkeypatch.setenv("NO_COLOR", "1")  # ... unless NO_COLOR is set
    _, _, err = run_cli(["check", str(tmp_path / "none.txt"), "--index", str(tmp_path)])
    assert "error:" in err
    assert not re.search(r"\x1b\[[0-9;]*3[0-7]", err)


def test_every_attack_option_has_a_line_of_help() -> None:
    # the listing reads help from the attack's own fields: a new option needs its #: line
    from regurgitate import registry
    from regurgitate.option_docs import describe

    reg = registry.attacks()
    missing = [f"{name}.{doc.name}" for name in reg.names()
               for doc in describe(reg.load(name)) if not doc.help]
    assert missing == []


def test_scan_quiet_prints_the_result_only(run_cli: RunCli, cache_dir: Path,
                                           tmp_path: Path) -> None:
    code, out, err = run_cli(["scan", "--attack", "corpus-prompts", "--quiet",
                              "--set", "corpus-prompts.num_prompts=2",
                              "--set", "corpus-prompts.max_new_tokens=8",
                              "--run", str(tmp_path / "q.db"), "--no-html"])
    assert code == 0, err
    assert err == ""  # no progress, no notes
    assert out.strip().endswith(f"run: {tmp_path / 'q.db'}")
