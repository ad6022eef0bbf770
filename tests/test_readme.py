"""The README's set-up commands are the ones CI runs, and its API example runs."""

import re
from pathlib import Path


def _blocks(repo_root: Path, language: str) -> list[str]:
    text = (repo_root / "README.md").read_text(encoding="utf-8")
    return re.findall(rf"```{language}\n(.*?)```", text, flags=re.DOTALL)


def test_ci_runs_the_two_readme_commands_verbatim(repo_root: Path):
    ci = (repo_root / ".ci" / "run").read_text(encoding="utf-8")
    commands = [b.strip() for b in _blocks(repo_root, "bash")[:2]]
    assert len(commands) == 2 and all("\n" not in c for c in commands)
    for command in commands:
        assert command in ci


def test_api_example_runs(capsys, repo_root: Path):
    example = _blocks(repo_root, "python")[0]
    exec(compile(example, "README.md", "exec"), {})
    out = capsys.readouterr().out
    assert "prompt_leak" in out
