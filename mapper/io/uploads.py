"""Uploaded files kept between their preview and their import, and the CSV of rejected rows.

Each upload has its own folder named by a random token, so two people uploading at once never
touch each other's files; the folder records who uploaded it, and only they can open it.
"""

import csv
import io
import json
import re
import secrets
import shutil
import time
from pathlib import Path
from typing import NamedTuple

from mapper.errors import Invalid, NotFound
from mapper.io.columns import NUMBER, data_columns
from mapper.io.exports import csv_cell, plain
from mapper.io.reading import TABLE_SUFFIXES, WORKBOOK_SUFFIXES, is_geo, read_any

UPLOAD_SUFFIXES = (*TABLE_SUFFIXES, *WORKBOOK_SUFFIXES, ".geojson", ".json", ".gpkg", ".zip")


KEEP_SECONDS = 24 * 60 * 60  # an upload not confirmed within a day is removed


TOKEN = re.compile(r"[A-Za-z0-9_-]{22}")


class Upload(NamedTuple):
    """A stored upload: its token, the file and what is known about it."""

    token: str
    path: Path
    meta: dict


def _suffix(filename):
    suffix = Path(filename or "").suffix.lower()
    if suffix not in UPLOAD_SUFFIXES:
        raise Invalid(
            "The file must be a CSV, an Excel workbook (XLSX), a GeoJSON file or a zipped "
            "Shapefile.",
            fields={"file": "must be CSV, XLSX, GeoJSON or a zipped Shapefile"},
        )
    return suffix


def store_upload(folder, stream, filename, owner_id):
    """Keep an uploaded file for its owner; return its Upload. Old uploads are removed."""
    suffix = _suffix(filename)
    folder = Path(folder)
    remove_old_uploads(folder)
    token = secrets.token_urlsafe(16)
    place = folder / token
    place.mkdir(parents=True)
    path = place / f"upload{suffix}"
    with path.open("wb") as out:
        shutil.copyfileobj(stream, out)
    meta = {"owner_id": owner_id, "filename": Path(filename).name, "created": time.time()}
    (place / "meta.json").write_text(json.dumps(meta))
    return Upload(token, path, meta)


def find_upload(folder, token, owner_id):
    """Return the owner's upload with this token; NotFound for any other."""
    place = Path(folder) / token
    meta_path = place / "meta.json"
    if not TOKEN.fullmatch(token) or not meta_path.exists():
        raise NotFound("That upload has expired or was already imported. Upload the file again.")
    meta = json.loads(meta_path.read_text())
    if meta["owner_id"] != owner_id:
        raise NotFound("That upload has expired or was already imported. Upload the file again.")
    [path] = place.glob("upload.*")
    return Upload(token, path, meta)


def update_meta(upload, **values):
    """Record more about an upload (the columns chosen, the preview's report)."""
    upload.meta.update(values)
    (upload.path.parent / "meta.json").write_text(json.dumps(upload.meta))


def remove_upload(upload):
    """Remove an upload's folder."""
    shutil.rmtree(upload.path.parent, ignore_errors=True)


def remove_old_uploads(folder, now=None):
    """Remove the uploads older than KEEP_SECONDS."""
    now = now or time.time()
    for meta_path in Path(folder).glob("*/meta.json"):
        try:
            created = json.loads(meta_path.read_text())["created"]
        except (OSError, ValueError, KeyError):
            continue
        if now - created > KEEP_SECONDS:
            shutil.rmtree(meta_path.parent, ignore_errors=True)


def _cell(value):
    """A CSV cell safe in a spreadsheet that still reads back the same: numbers stay numbers."""
    text = csv_cell(value)
    return text[1:] if text.startswith("'") and NUMBER.fullmatch(text[1:]) else text


def rejected_csv(path, rejections, layer=None):
    """Return CSV text of the rejected rows as the file had them, with a `problem` column first.

    Fixed in a spreadsheet, it can be uploaded again: `problem` is not a column the importer
    reads. Point features get `lon` and `lat` columns.
    """
    frame = read_any(path, layer)
    columns = [str(c) for c in data_columns(frame)]
    with_point = is_geo(frame) and not {"lon", "lat"} & set(columns)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(["problem", *columns, *(["lon", "lat"] if with_point else [])])
    for rejection in sorted(rejections):
        row = frame.iloc[rejection.index]
        cells = [plain(row[c]) for c in data_columns(frame)]
        if with_point:
            geom = row[frame.geometry.name]
            point = geom if geom is not None and geom.geom_type == "Point" else None
            cells += [round(point.x, 7), round(point.y, 7)] if point else ["", ""]
        writer.writerow([_cell(f"{rejection.where}: {rejection.reason}"), *map(_cell, cells)])
    return buffer.getvalue()
