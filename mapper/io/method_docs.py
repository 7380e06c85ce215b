"""The method documents (docs/*.md) as HTML for the app's method pages.

Rendered with markdown-it (CommonMark and tables), raw HTML off; no inline style is left (our
Content-Security-Policy refuses them) and links to another method document point at its page.
"""

from functools import cache

from markdown_it import MarkdownIt

from mapper import config

# The documents served, by the name of their page (/method/<name>): the gap analysis first.
METHOD_DOCS = {
    "gap-analysis": "gap-analysis.md",
    "changes": "changes.md",
    "whats-changed": "whats-changed.md",
}
DEFAULT_DOC = "gap-analysis"


def doc_name(documentation):
    """Return the page name of a metadata's `documentation` ("docs/changes.md" -> "changes"),
    or None when it names no method document."""
    file = str(documentation or "").rsplit("/", 1)[-1]
    return next((name for name, path in METHOD_DOCS.items() if path == file), None)


def _rewrite(tokens, page_url):
    for token in tokens:
        if token.attrs.get("style"):
            del token.attrs["style"]
        if token.type == "link_open":
            name = doc_name(token.attrs.get("href"))
            if name is not None:
                token.attrs["href"] = page_url(name)
        if token.children:
            _rewrite(token.children, page_url)


@cache
def _source(name):
    return (config.shipped_folder("docs") / METHOD_DOCS[name]).read_text(encoding="utf-8")


def method_html(name, page_url):
    """Return (title, HTML body) of the method document `name`; `page_url(name)` gives the
    address of each method page, for the links between them."""
    parser = MarkdownIt("commonmark", {"html": False}).enable("table")
    tokens = parser.parse(_source(name))
    _rewrite(tokens, page_url)
    title = next(
        (tokens[i + 1].content for i, t in enumerate(tokens) if t.type == "heading_open"), name
    )
    return title, parser.renderer.render(tokens, parser.options, {})
