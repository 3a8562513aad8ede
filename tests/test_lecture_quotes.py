"""Every quotation of the lecture in the book is the lecture's own words (issue 20, item 5).

A quotation is marked in a chapter's MyST source (``book/*.md``) with the role ``{lecture}`words` `` (or
``{lecture-code}`code` `` for a line of the lecture's code), or with the directive ``:::{lecture}`` … ``:::``
(the closing fence has as many colons as the opening one); the marks are rendered by ``book/_ext/pdl_book.py``.
Text inside ``{code-cell}`` fences is code, not prose, and is not read.
Each quotation must appear in the lecture's text, ``../shared/lecture/lecture1.md`` beside the clone (it is not
part of the repository; without it these tests skip).

How quotation and lecture are compared, both sides the same way:

* every run of whitespace (spaces, tabs, line breaks, the extractor's double spaces) is one space, and the ends are
  stripped: a quotation may be re-wrapped, never reworded;
* a Markdown backslash escape of ``_ $ * #`` (one backslash or two: the extracted file writes ``dlwl\\\\_eth25`` where
  the slide shows ``dlwl_eth25``) is read as the character itself;
* nothing else: case, punctuation (curly quotes included), emphasis markers (``**``), LaTeX and code are kept.

The normalised quotation must then occur in the normalised lecture as one contiguous piece that starts and ends at
word boundaries (no half words), and must be at least 10 characters long. Words scattered over the lecture do not
count: there is no matching word by word.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
LECTURE = ROOT.parent / "shared" / "lecture" / "lecture1.md"
CHAPTERS = sorted((ROOT / "book").glob("*.md"))

ROLE = re.compile(r"\{lecture(?:-code)?\}`([^`]+)`")
FENCE_OPEN = re.compile(r"^(:{3,})\{lecture\}\s*$")
CODE_CELL = re.compile(r"^(`{3,})\{code-cell\}.*?^\1\s*$", re.MULTILINE | re.DOTALL)
ESCAPE = re.compile(r"\\{1,2}([_$*#])")


def normalise(text: str) -> str:
    """The comparison form of a text: Markdown escapes of _ $ * # undone, whitespace runs as one space."""
    return " ".join(ESCAPE.sub(r"\1", text).split())


def quotations(markdown: str) -> list[str]:
    """The marked quotations of a MyST page, roles and blocks, in the order they appear."""
    prose = CODE_CELL.sub("", markdown)
    found = [m.group(1) for m in ROLE.finditer(prose)]
    lines = prose.splitlines()
    i = 0
    while i < len(lines):
        opening = FENCE_OPEN.match(lines[i])
        if not opening:
            i += 1
            continue
        end = next((j for j in range(i + 1, len(lines)) if lines[j].strip() == opening.group(1)), None)
        assert end is not None, f"unclosed {opening.group(1)}{{lecture}} block at line {i + 1}"
        found.append("\n".join(lines[i + 1:end]))
        i = end + 1
    return found


def quoted_in(quote: str, lecture: str) -> bool:
    """Whether the normalised quotation occurs in the normalised lecture, from word boundary to word boundary."""
    q, text = normalise(quote), normalise(lecture)
    if len(q) < 10:
        return False
    start = r"(?<!\w)" if re.match(r"\w", q) else ""
    end = r"(?!\w)" if re.search(r"\w$", q) else ""
    return re.search(start + re.escape(q) + end, text) is not None


def lecture_chapters() -> list[Path]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    part = next(p for p in toc["parts"] if p["caption"] == "Lecture 1")
    return [ROOT / f"{c['file']}.md" for c in part["chapters"]]


@pytest.fixture(scope="module")
def lecture() -> str:
    if not LECTURE.is_file():
        pytest.skip(f"{LECTURE} not found: the lecture's text is not part of the repository")
    return LECTURE.read_text(encoding="utf-8")


@pytest.mark.parametrize("chapter", CHAPTERS, ids=[c.stem for c in CHAPTERS])
def test_every_quotation_is_the_lectures_words(chapter: Path, lecture: str) -> None:
    wrong = [q for q in quotations(chapter.read_text(encoding="utf-8")) if not quoted_in(q, lecture)]
    assert not wrong, f"{chapter.name}: not the lecture's words:\n" + "\n---\n".join(wrong)


@pytest.mark.parametrize("chapter", lecture_chapters(), ids=[c.stem for c in lecture_chapters()])
def test_every_lecture_chapter_quotes_the_lecture(chapter: Path) -> None:
    assert quotations(chapter.read_text(encoding="utf-8")), f"{chapter.name} quotes the lecture nowhere"


LECTURE_SAMPLE = """# Recap: Maximum Likelihood

Ronald Fisher in 1913  
Also used before by  
Gauss, Laplace

- [https://tensorchiefs.github.io/dlwl\\\\_eth25/](https://tensorchiefs.github.io/dlwl_eth25/)
"""


def test_the_matcher() -> None:
    """The matcher accepts the lecture's words re-wrapped or unescaped, and nothing else."""
    assert quoted_in("Ronald Fisher in 1913 Also used\nbefore by", LECTURE_SAMPLE)
    assert quoted_in("https://tensorchiefs.github.io/dlwl_eth25/", LECTURE_SAMPLE)
    assert not quoted_in("Ronald Fisher in 1912", LECTURE_SAMPLE)          # a planted misquote
    assert not quoted_in("Ronald A. Fisher in 1913", LECTURE_SAMPLE)
    assert not quoted_in("Fisher in 1913 Gauss, Laplace", LECTURE_SAMPLE)   # words present, not contiguous
    assert not quoted_in("onald Fisher", LECTURE_SAMPLE)                    # half a word
    assert not quoted_in("Fisher", LECTURE_SAMPLE)                          # too short to prove anything
    assert not quoted_in("ronald fisher in 1913", LECTURE_SAMPLE)           # case is kept


def test_quotations_are_found_in_markdown() -> None:
    page = ("Text {lecture}`Ronald Fisher in 1913` and {lecture-code}`Gauss, Laplace`.\n\n"
            "::::{dropdown} Answer\n:::{lecture}\nAlso used before by\n:::\n::::\n\n"
            "```{code-cell} ipython3\nprint('{lecture}`not prose`')\n```\n")
    assert quotations(page) == ["Ronald Fisher in 1913", "Gauss, Laplace", "Also used before by"]
    misquoted = page.replace("1913", "1912")
    assert [q for q in quotations(misquoted) if not quoted_in(q, LECTURE_SAMPLE)] == ["Ronald Fisher in 1912"]
