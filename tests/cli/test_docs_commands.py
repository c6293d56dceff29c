"""Every `regurgitate ...` command in README.md and docs/*.md parses; the cheap ones (check,
index info, plugins) run for real on the bundled reference (issue 22 §3)."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from regurgitate.index.open import is_remote
from tests.cli.conftest import RunCli

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def doc_commands() -> list[tuple[str, str]]:
    """(where, command line) for each `regurgitate ...` line of a fenced code block (with
    its ``\\`` continuations) and each inline `regurgitate ...` code span."""
    out: list[tuple[str, str]] = []
    for path in DOCS:
        lines = path.read_text(encoding="utf-8").splitlines()
        fenced = False
        i = 0
        while i < len(lines):
            line = lines[i].strip()
            where = f"{path.relative_to(ROOT)}:{i + 1}"
            if line.startswith("```"):
                fenced = not fenced
            elif fenced and re.match(r"^(\$ )?regurgitate\s", line):
                command = line
                while command.endswith("\\") and i + 1 < len(lines):
                    i += 1
                    command = command[:-1] + " " + lines[i].strip()
                out.append((where, command.removeprefix("$ ")))
            elif not fenced:
                out.extend((where, m) for m in re.findall(r"`(regurgitate [^`]+)`", line))
            i += 1
    return out


def words(command: str) -> list[str]:
    """The arguments after `regurgitate`: comments dropped, optional ``[--opt X]`` parts
    kept (they must parse too)."""
    command = re.sub(r"\s+#.*$", "", command)
    command = re.sub(r"\[(--[^\]]+)\]", r"\1", command)
    return shlex.split(command)[1:]


COMMANDS = doc_commands()


def test_the_docs_hold_commands() -> None:
    assert len(COMMANDS) >= 30  # the extraction did not silently stop finding them
    assert any(w.startswith("docs/") for w, _ in COMMANDS)


@pytest.mark.parametrize(("where", "command"), COMMANDS, ids=[w for w, _ in COMMANDS])
def test_every_documented_command_parses(run_cli: RunCli, where: str, command: str) -> None:
    args = words(command)
    code, out, err = run_cli([*args, "--help"])
    assert code == 0, f"{where}: {command}\n{err}"
    # --version is eager: it answers before --help is read
    assert out.startswith("regurgitate ") if args == ["--version"] else "Usage: regurgitate" in out


def test_an_unknown_option_fails_the_check(run_cli: RunCli) -> None:
    code, _, err = run_cli([*words("regurgitate check book.txt --indx my-index"), "--help"])
    assert code == 2 and "No such option" in err


def _runnable(args: list[str]) -> bool:
    if args[:1] == ["plugins"] or args[:2] == ["index", "info"]:
        return True
    remote = any(is_remote(a) for a in args)
    return args[:1] == ["check"] and not remote


@pytest.mark.parametrize(("where", "command"),
                         [(w, c) for w, c in COMMANDS if _runnable(words(c))],
                         ids=[w for w, c in COMMANDS if _runnable(words(c))])
def test_cheap_documented_commands_run_on_the_reference(
        run_cli: RunCli, cache_dir: Path, tmp_path: Path, where: str, command: str) -> None:
    """check, index info and plugins as written, with the reference index for the docs'
    index and a reference document for their text file."""
    from regurgitate import reference
    from regurgitate.targets.reference import reference_index

    index = str(reference_index(cache_dir, lambda m: None))
    text = tmp_path / "text.txt"
    text.write_text(next(reference.iter_corpus()).text[:2000], encoding="utf-8")
    args = words(command)
    values = {"--index": index, "-i": index, "--html": str(tmp_path / "out.html"),
              "--tokenizer": None}
    out_args: list[str] = []
    skip = False
    for n, word in enumerate(args):
        if skip:
            skip = False
            continue
        if word in values:
            if values[word] is not None:
                out_args += [word, str(values[word])]
            skip = True
        elif args[:2] == ["index", "info"] and n == 2 and not word.startswith("-"):
            out_args.append(index)  # the documented DIR
        elif args[:1] == ["check"] and n == 1 and not word.startswith("-"):
            out_args.append(str(text))  # the documented text file
        else:
            out_args.append(word)
    if out_args == ["check"]:  # the bare command of a sentence: its text file
        out_args.append(str(text))
    code, out, err = run_cli(out_args)
    assert code == 0, f"{where}: {out_args}\n{err}"
    assert out.strip()
