"""The documentation lives in the repository: every relative link resolves (file and heading), every
repository path a doc or docstring cites exists, and nothing names a file outside the repository.
One test per rule, each listing every offender in every file (not one test per file)."""

from __future__ import annotations

import re
import sys
from pathlib import Path


ROOT = Path(__file__).resolve().parents[1]
DOCS = sorted({ROOT / "README.md", *ROOT.glob("docs/*.md"), *ROOT.glob("recipes/**/*.md")})
SOURCES = sorted(p for folder in ("verl_multiling", "scripts", "tests", "recipes", "hydra_plugins")
                 for p in (ROOT / folder).rglob("*") if p.suffix in (".py", ".sh", ".yaml") and p != Path(__file__))
# Files that exist only outside this repository (a session's notes, design documents, a sibling folder).
OUTSIDE = [re.compile(p) for p in (r"\b" + "METHODS" + r"\.md\b", r"\b" + "DESIGN" + r"\.md\b",
                                   r"\.\./" + "shared", "/work/" + "shared", r"\bnotes/[\w-]+\.md\b")]
# Repository paths as docs and docstrings cite them: `verl_multiling/scorers/comet.py`, `docs/faults.md`, ...
CITED_PATH = re.compile(r"(?<![\w/.-])((?:verl_multiling|scripts|tests|docs|recipes|hydra_plugins)/[\w./-]*\w"
                        r"\.(?:py|md|sh|yaml|jsonl|json|toml))")
LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
FENCE = re.compile(r"^```.*?^```", re.S | re.M)


def _rel(path: Path) -> str:
    return str(path.relative_to(ROOT))


def slug(heading: str) -> str:
    """GitHub's anchor for a Markdown heading.

    >>> slug("Scorers: math answers and language"), slug("One table: every component against verl's counterpart")
    ('scorers-math-answers-and-language', 'one-table-every-component-against-verls-counterpart')
    """
    text = re.sub(r"`([^`]*)`", r"\1", heading.strip().lower())
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(path: Path) -> set[str]:
    seen: dict[str, int] = {}
    out = set()
    for line in FENCE.sub("", path.read_text(encoding="utf-8")).splitlines():
        match = re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line)
        if match:
            base = slug(match.group(1))
            count = seen.get(base, 0)
            seen[base] = count + 1
            out.add(base if count == 0 else f"{base}-{count}")
    return out


def links(path: Path) -> list[str]:
    return LINK.findall(FENCE.sub("", path.read_text(encoding="utf-8")))


def test_slug_and_link_parsing(tmp_path):
    doc = tmp_path / "a.md"
    doc.write_text("# Title\n## Faults and config errors\n## Faults and config errors\n```\n[x](not-a-link.md)\n```\n"
                   "See [b](b.md#top) and ![img](pic.png) and [web](https://example.org).\n")
    assert anchors(doc) == {"title", "faults-and-config-errors", "faults-and-config-errors-1"}
    assert links(doc) == ["b.md#top", "https://example.org"]


def broken_links(doc: Path) -> list[str]:
    broken = []
    for target in links(doc):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # https:, mailto:
            continue
        file_part, _, anchor = target.partition("#")
        path = (doc.parent / file_part).resolve() if file_part else doc
        if not path.is_relative_to(ROOT):
            broken.append(f"{_rel(doc)}: {target}: outside the repository")
        elif not path.exists():
            broken.append(f"{_rel(doc)}: {target}: no such file")
        elif anchor and path.suffix == ".md" and anchor not in anchors(path):
            broken.append(f"{_rel(doc)}: {target}: no heading #{anchor} in {_rel(path)}")
    return broken


def test_broken_link_is_reported_with_its_reason(tmp_path, monkeypatch):
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    (tmp_path / "b.md").write_text("# Top\n")
    doc = tmp_path / "a.md"
    doc.write_text("[ok](b.md#top) [gone](c.md) [anchor](b.md#nowhere) [up](../x.md)\n")
    assert broken_links(doc) == ["a.md: c.md: no such file", "a.md: b.md#nowhere: no heading #nowhere in b.md",
                                 "a.md: ../x.md: outside the repository"]


def test_relative_links_resolve():
    broken = [problem for doc in DOCS for problem in broken_links(doc)]
    assert broken == [], "\n".join(broken)


def test_nothing_names_a_file_outside_the_repository():
    offenders = []
    for path in DOCS + SOURCES:
        text = path.read_text(encoding="utf-8")
        found = sorted({m.group(0) for pattern in OUTSIDE for m in pattern.finditer(text)})
        offenders += [f"{_rel(path)}: {name}" for name in found]
    assert offenders == [], "files not in the repository are named:\n" + "\n".join(offenders)


def test_cited_repository_paths_exist():
    offenders = []
    for path in DOCS + SOURCES:
        cited = {m.group(1) for m in CITED_PATH.finditer(path.read_text(encoding="utf-8"))}
        offenders += [f"{_rel(path)}: {c}" for c in sorted(cited) if not (ROOT / c).exists()]
    assert offenders == [], "cited paths that do not exist:\n" + "\n".join(offenders)


def test_install_instructions_are_real():
    """The package is not on PyPI and has no fixed URL: say `pip install` of a checkout, not a placeholder."""
    offenders = []
    for path in DOCS + SOURCES:
        text = path.read_text(encoding="utf-8")
        if re.search(r"pip install (verl-multiling|verl_multiling)\b(?!/)", text):
            offenders.append(f"{_rel(path)}: pip install of a package name that is not on PyPI")
        if "git+<" in text:
            offenders.append(f"{_rel(path)}: a git+<...> placeholder URL")
    assert offenders == [], "\n".join(offenders)


def test_readme_keeps_the_two_commands_first():
    """CI runs the second line; the README opens with both, unchanged."""
    lines = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    block = lines[lines.index("```bash") + 1: lines.index("```bash") + 3]
    assert block[0].startswith("bash scripts/setup.sh && .venv/bin/verl-multiling preflight +recipe=adamame")
    assert block[1].startswith("bash scripts/setup.sh --with-comet && .venv/bin/python -m pytest -q")
