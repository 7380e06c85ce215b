"""HTML to PDF (WeasyPrint): printable packs. Nothing is fetched while rendering.

WeasyPrint needs Pango and a font from Debian (scripts/setup.sh installs them). Stylesheets
are read from our own files and handed over as text, and the URL fetcher refuses every URL
but `data:`, so a pack never reaches the network or the file system for a resource.
"""

from pathlib import Path

PDF_MIMETYPE = "application/pdf"


def _fetcher():
    from weasyprint.urls import URLFetcher

    return URLFetcher(allowed_protocols=("data",))


def html_to_pdf(html, stylesheets=()):
    """Return the PDF bytes of an HTML document styled by our CSS files `stylesheets`."""
    from weasyprint import CSS, HTML

    fetcher = _fetcher()
    styles = [
        CSS(string=Path(p).read_text(encoding="utf-8"), url_fetcher=fetcher) for p in stylesheets
    ]
    return HTML(string=html, url_fetcher=fetcher).write_pdf(stylesheets=styles)
