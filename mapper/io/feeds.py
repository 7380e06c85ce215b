"""Feed writers: Atom (RFC 4287) and JSON Feed 1.1, from one plain description of a feed.

A feed is a dict: `id`, `title`, `subtitle`, `updated` (an aware datetime), `feed_url` (its
own address), `home_page_url` (the page it follows), `author` (a name, never a person's) and
`entries`, each a dict of `id`, `title`, `url`, `updated` and `text`.
"""

import json
import xml.etree.ElementTree as ET  # noqa: S405 - we write XML, never parse it
from datetime import UTC

ATOM_NS = "http://www.w3.org/2005/Atom"
ATOM_MIMETYPE = "application/atom+xml"
JSON_FEED_MIMETYPE = "application/feed+json"
JSON_FEED_VERSION = "https://jsonfeed.org/version/1.1"


def _utc(moment):
    """Return an aware datetime as RFC 3339 text in UTC, to the second: 2026-05-01T09:30:00Z."""
    return moment.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _text(parent, name, text, **attributes):
    element = ET.SubElement(parent, f"{{{ATOM_NS}}}{name}", attributes)
    element.text = text
    return element


def atom(feed):
    """Return the feed as Atom XML (UTF-8 bytes)."""
    ET.register_namespace("", ATOM_NS)
    root = ET.Element(f"{{{ATOM_NS}}}feed")
    _text(root, "id", feed["id"])
    _text(root, "title", feed["title"])
    _text(root, "subtitle", feed["subtitle"])
    _text(root, "updated", _utc(feed["updated"]))
    author = ET.SubElement(root, f"{{{ATOM_NS}}}author")
    _text(author, "name", feed["author"])
    _text(root, "link", None, rel="self", type=ATOM_MIMETYPE, href=feed["feed_url"])
    _text(root, "link", None, rel="alternate", type="text/html", href=feed["home_page_url"])
    for entry in feed["entries"]:
        element = ET.SubElement(root, f"{{{ATOM_NS}}}entry")
        _text(element, "id", entry["id"])
        _text(element, "title", entry["title"])
        _text(element, "updated", _utc(entry["updated"]))
        _text(element, "link", None, rel="alternate", type="text/html", href=entry["url"])
        _text(element, "summary", entry["text"], type="text")
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def json_feed(feed):
    """Return the feed as a JSON Feed 1.1 document (a dict)."""
    return {
        "version": JSON_FEED_VERSION,
        "title": feed["title"],
        "home_page_url": feed["home_page_url"],
        "feed_url": feed["feed_url"],
        "description": feed["subtitle"],
        "authors": [{"name": feed["author"]}],
        "language": "en-GB",
        "items": [
            {
                "id": entry["id"],
                "url": entry["url"],
                "title": entry["title"],
                "content_text": entry["text"],
                "date_published": _utc(entry["updated"]),
            }
            for entry in feed["entries"]
        ],
    }


def json_feed_text(feed):
    """Return the JSON Feed as UTF-8 text."""
    return json.dumps(json_feed(feed), ensure_ascii=False, indent=1)
