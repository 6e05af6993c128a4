"""HTML → article text: trafilatura plus a few generic cleaning rules.

Pipeline of :func:`extract_article`:

1. Parse once (trafilatura's ``load_html``) and pre-clean the tree:
   - drop hover cards / tooltips (classes such as ``tooltip``, ``rollover``, ``hovercard``), whose text would
     otherwise be glued into the sentence that holds them;
   - re-join an article body that the page template split into several sibling containers with the same
     "article body" class (trafilatura keeps only the first one).
2. trafilatura in precision mode without comments (the best single setting on the benchmark). When that result
   is much shorter than a recall-mode run of the same page, precision mode lost the article (e.g. it kept a
   reprint notice), so the recall-mode text is used instead.
3. Line-level post-cleaning: the headline repeated as the first line, "Related: …" / "Read more: …" teasers,
   bare section labels ("Advertisement", "Share this", "Tags"), share / follow / newsletter prompts, reprint
   notices, teaser links tagged like "[VIDEO]". What is left must look like prose (at least a few words and one
   line of sentence length), otherwise the page has no article body and the text is empty.

Everything is generic (no per-site rules). Metadata (title, date, site name) comes from trafilatura.

Dependency note: trafilatura imports jusText, which imports ``lxml.html.clean``; since lxml 5.2 that module lives
in the separate ``lxml_html_clean`` package. It is declared in pyproject.toml; if it is missing, importing
trafilatura fails and :func:`extract_article` raises an ImportError that says ``pip install lxml_html_clean``.

Benchmark (``qa_bot.eval.extraction`` on the 181-page article-extraction benchmark): see the module docstring there.
"""
from __future__ import annotations

import logging
import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from .text import is_calendar_date

__all__ = ["ExtractedArticle", "extract_article"]

_LOG = logging.getLogger(__name__)


@dataclass(frozen=True)
class ExtractedArticle:
    text: str  # article body, paragraphs separated by "\n"
    title: str = ""
    published: str | None = None  # YYYY-MM-DD when found
    url: str | None = None
    source: str = ""  # site name / publisher when found


# ---------------------------------------------------------------------------------------------------------------
# tree pre-cleaning

# hover cards, tooltips, pop-overs: their text sits inside sentences in the DOM but is not shown inline
_POPUP_CLASS_RE = re.compile(r"(?:^|[\s_-])(tooltip|tool-tip|popover|pop-over|rollover|hovercard|hover-card)", re.I)
# class tokens that name an article-body container
_BODY_TOKEN_RE = re.compile(r"^(?:article|story|entry|post)[-_]*(?:body|content|text)$", re.I)
_MIN_BODY_CHARS = 150


def _safe_remove(el: Any) -> None:
    """Remove an element but keep its tail text (which belongs to the parent)."""
    parent = el.getparent()
    if parent is None:
        return
    tail = el.tail
    if tail and tail.strip():
        prev = el.getprevious()
        if prev is not None:
            prev.tail = (prev.tail or "") + tail
        else:
            parent.text = (parent.text or "") + tail
    parent.remove(el)


def _drop_popups(tree: Any) -> None:
    popups = [
        el
        for el in tree.xpath("//body//*[@class]")
        if el.tag != "a" and _POPUP_CLASS_RE.search(el.get("class") or "")
    ]
    marked = set(popups)
    for el in popups:
        # innermost only: an outer "rollover" wrapper usually also holds the visible inline name
        if any(d in marked for d in el.iterdescendants()):
            continue
        _safe_remove(el)


def _scope(el: Any) -> Any:
    """Nearest <article>/<main> ancestor, else the grandparent: body parts must share it to be joined."""
    for anc in el.iterancestors():
        if anc.tag in ("article", "main"):
            return anc
    parent = el.getparent()
    return parent.getparent() if parent is not None and parent.getparent() is not None else parent


def _join_split_bodies(tree: Any) -> None:
    groups: dict[tuple[str, str], list[Any]] = {}
    for el in tree.xpath("//body//*[@class or @itemprop]"):
        if el.get("itemprop") == "articleBody":
            key = (el.tag, "itemprop=articleBody")
        else:
            cls = el.get("class") or ""
            if not any(_BODY_TOKEN_RE.match(tok) for tok in cls.split()):
                continue
            key = (el.tag, " ".join(cls.split()))
        groups.setdefault(key, []).append(el)
    for els in groups.values():
        if len(els) < 2:
            continue
        parts = [e for e in els if len(" ".join(e.itertext()).strip()) >= _MIN_BODY_CHARS]
        if len(parts) < 2:
            continue
        first = parts[0]
        scope = _scope(first)
        for other in parts[1:]:
            if _scope(other) is not scope:
                continue
            # skip nested matches
            if any(anc is first for anc in other.iterancestors()) or any(anc is other for anc in first.iterancestors()):
                continue
            if other.text and other.text.strip():
                if len(first):
                    first[-1].tail = (first[-1].tail or "") + " " + other.text
                else:
                    first.text = (first.text or "") + " " + other.text
            for child in list(other):
                first.append(child)
            _safe_remove(other)


_EMBED_WRAPPER_RE = re.compile(r"social|tweet|twitter|embed|widget", re.I)


def _unwrap_embedded_posts(tree: Any) -> None:
    """Quoted tweets are part of the story, but their wrappers ("social-embed", "article-tweet" widgets) look like
    share boxes and get dropped: lift the quote out of its wrappers and make it a plain <blockquote>."""
    for bq in tree.xpath("//blockquote[contains(@class,'twitter-tweet')]"):
        outer = None
        for depth, anc in enumerate(bq.iterancestors()):
            if depth >= 4 or anc.tag in ("article", "main", "body"):
                break
            if _EMBED_WRAPPER_RE.search((anc.get("class") or "") + " " + (anc.get("id") or "")):
                outer = anc
        bq.attrib.pop("class", None)
        if outer is not None and outer.getparent() is not None:
            bq_tail, bq.tail = bq.tail, None
            outer.addprevious(bq)
            bq.tail = bq_tail
            _safe_remove(outer)


def _preclean(tree: Any) -> None:
    _drop_popups(tree)
    _unwrap_embedded_posts(tree)
    _join_split_bodies(tree)


# ---------------------------------------------------------------------------------------------------------------
# line-level post-cleaning

_TEASER_RE = re.compile(
    r"^(?:related(?: articles?| stories| content| coverage| links?)?|read more|read also|also read|see more|see also|"
    r"more from [\w .'-]{1,40}|also on [\w.-]+|recommended(?: reading)?|don'?t miss|must read|watch(?: now)?|"
    r"trending(?: now)?|most popular|top stories|you may also like|you might also like|further reading|"
    r"more on this(?: story)?)\s*[:|]\s*\S",
    re.I,
)
_LABEL_RE = re.compile(
    r"^(?:related(?: articles?| stories| content)?|read more|see also|more stories|recommended(?: for you)?|"
    r"don'?t miss|you may also like|you might also like|most popular|trending(?: now)?|advertisement|"
    r"tags?|share|share this(?: article| story| post)?|comments?|\d+ comments?|tell us what you think)\W*$",
    re.I,
)
_SHARE_RE = re.compile(r"\bshare (?:this|it) (?:story |article |post )?(?:with|on)\b|\blike this (?:story|article)\?", re.I)
_FOLLOW_RE = re.compile(
    r"^(?:follow (?:us|him|her|me|them|[\w.'-]+(?: [\w.'-]+)?) on (?:twitter|facebook|instagram|linkedin)|"
    r"follow @|(?:e-?mail|write to) [\w.'-]+(?: [\w.'-]+)? at \S+@)",
    re.I,
)
_NEWSLETTER_RE = re.compile(r"\b(?:sign up|subscribe)\b.{0,80}\b(?:newsletters?|inbox)\b", re.I)
_TEASER_TAG_RE = re.compile(
    r"\[(?:insight|video|pics?|photos?|reaction|latest|news|poll|gallery|analysis|watch|live|revealed|comment)\]\W*$",
    re.I,
)
_REPRINT_RE = re.compile(r"^this copy is for your personal,? non-commercial use", re.I)
_MAX_BOILER_LINE = 250


def _norm(text: str) -> str:
    return " ".join(re.findall(r"\w+", unicodedata.normalize("NFKC", text).lower()))


def _is_boilerplate(line: str) -> bool:
    if _LABEL_RE.match(line) or _TEASER_RE.match(line) or _REPRINT_RE.match(line):
        return True
    if len(line) > _MAX_BOILER_LINE:
        return False
    return bool(
        _SHARE_RE.search(line) or _FOLLOW_RE.match(line) or _NEWSLETTER_RE.search(line) or _TEASER_TAG_RE.search(line)
    )


def _postclean(text: str, titles: list[str]) -> str:
    lines = [ln.strip() for ln in text.replace("\r", "\n").split("\n")]
    lines = [ln for ln in lines if ln]
    title_keys = {t for t in (_norm(x) for x in titles) if t}
    out: list[str] = []
    for i, line in enumerate(lines):
        # the headline repeated at the top of the body
        if i < 2 and not out and _norm(line) in title_keys:
            continue
        if _is_boilerplate(line):
            continue
        out.append(line)
    return "\n".join(out)


# ---------------------------------------------------------------------------------------------------------------
# extraction

_COMMON = dict(
    output_format="python",
    include_comments=False,
    include_tables=True,
    include_images=False,
    include_links=False,
    include_formatting=False,
    deduplicate=False,
)
# precision mode result shorter than this share of the recall-mode result → precision mode lost the article
_FALLBACK_RATIO = 0.5


def _title_candidates(tree: Any, meta_title: str) -> list[str]:
    titles = [meta_title]
    for xp in (
        "//meta[@property='og:title']/@content",
        "//meta[@name='twitter:title']/@content",
        "//title/text()",
        "//h1",
    ):
        for val in tree.xpath(xp)[:2]:
            txt = val if isinstance(val, str) else " ".join(val.itertext())
            txt = " ".join(str(txt).split())
            if txt:
                titles.append(txt)
                # "<headline> | Site" / "<headline> - Site"
                for sep in (" | ", " - ", " – ", " — ", " :: "):
                    if sep in txt:
                        titles.append(txt.rsplit(sep, 1)[0])
    return titles


def _doc_text(doc: Any) -> str:
    if doc is None:
        return ""
    if isinstance(doc, dict):  # older trafilatura versions
        return doc.get("text") or ""
    return getattr(doc, "text", None) or ""


def _doc_attr(doc: Any, name: str) -> Any:
    if doc is None:
        return None
    if isinstance(doc, dict):
        return doc.get(name)
    return getattr(doc, name, None)


# below this, what is left is a menu or a caption, not an article body
_MIN_BODY_TOKENS = 15
_MIN_LONGEST_LINE_TOKENS = 6


def _looks_like_body(text: str) -> bool:
    counts = [len(re.findall(r"\w+", line)) for line in text.split("\n")]
    return sum(counts) >= _MIN_BODY_TOKENS and max(counts, default=0) >= _MIN_LONGEST_LINE_TOKENS


def _import_trafilatura() -> Any:
    try:
        import trafilatura
    except ImportError as err:
        if "lxml" in str(err) and "clean" in str(err):
            raise ImportError(
                "trafilatura needs the lxml_html_clean package (lxml.html.clean moved out of lxml); "
                "run `pip install lxml_html_clean` in this environment."
            ) from err
        raise
    return trafilatura


def _run_trafilatura(tree: Any, url: str | None, **options: Any) -> str:
    trafilatura = _import_trafilatura()
    try:
        # bare_extraction works on its own copy of the tree
        return _doc_text(trafilatura.bare_extraction(tree, url=url, **options, **_COMMON))
    except Exception as err:  # a parser edge case in one mode must not lose the page
        _LOG.debug("trafilatura failed on %s (%s): %s", url, options, err)
        return ""


def extract_article(html: str, url: str | None = None) -> ExtractedArticle:
    """Extract the article body and metadata from one HTML page. Empty ``text`` when no body is found."""
    _import_trafilatura()
    from trafilatura.metadata import extract_metadata
    from trafilatura.utils import load_html

    if not html or not html.strip():
        return ExtractedArticle(text="", url=url)
    tree = load_html(html)
    if tree is None and isinstance(html, str) and "<html" not in html[:2000].lower():
        # a bare fragment: wrap it so that it parses as a document
        tree = load_html(f"<html><body><div>{html}</div></body></html>")
    if tree is None:
        return ExtractedArticle(text="", url=url)

    try:
        meta = extract_metadata(tree, url)
    except Exception:  # metadata is a bonus: never fail the extraction for it
        meta = None
    title = (_doc_attr(meta, "title") or "").strip()
    date = _doc_attr(meta, "date")
    published = date[:10] if isinstance(date, str) and is_calendar_date(date[:10]) else None
    source = (_doc_attr(meta, "sitename") or "").strip()
    page_url = url or _doc_attr(meta, "url") or None

    titles = _title_candidates(tree, title)
    _preclean(tree)

    precise = _run_trafilatura(tree, url, favor_precision=True)
    # recall mode only serves as a yardstick / fallback, its cheaper "fast" variant (no external comparison) is enough
    recall = _run_trafilatura(tree, url, favor_recall=True, fast=True)
    text = recall if len(precise) < _FALLBACK_RATIO * len(recall) else precise
    text = _postclean(text, titles)
    if not _looks_like_body(text):
        text = ""
    return ExtractedArticle(text=text, title=title, published=published, url=page_url, source=source)
