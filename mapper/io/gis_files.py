"""GeoPackage, zipped Shapefile and XLSX files of ward rows, the formats officers open in QGIS
or a spreadsheet: written through GDAL (pyogrio) and openpyxl, each carrying the method, the
date and the attribution with the data.

A list (the categories present or missing) becomes one text field of its items joined by
"; ", since none of these formats has a list type; numbers stay numbers even where every row is
empty, because the column's type comes from the frame, not from its values.
"""

import json
import tempfile
import warnings
import zipfile
from io import BytesIO
from pathlib import Path

import pandas as pd
import pyogrio
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell

LIST_SEPARATOR = "; "
LAYER = "community_gaps"


def about_rows(metadata, attribution):
    """Return the (key, text) lines saying what the file holds: method, date, parameters,
    attribution — the same in every format."""
    rows = [
        ("method", metadata.get("method")),
        ("method_version", metadata.get("method_version")),
        ("documentation", metadata.get("documentation")),
        ("generated_at", metadata.get("generated_at")),
        ("parameters", json.dumps(metadata.get("parameters", {}), default=str)),
        ("attribution", attribution),
    ]
    return [(key, "" if value is None else str(value)) for key, value in rows]


def flat(frame, srid):
    """Return the frame in EPSG:`srid` with list columns joined into text."""
    frame = frame.to_crs(epsg=srid)
    for column in frame.columns:
        if column != frame.geometry.name and frame[column].dtype == object:
            frame[column] = [_text(v) for v in frame[column]]
    return frame


def _text(value):
    if isinstance(value, list | tuple):
        return LIST_SEPARATOR.join(str(v) for v in value)
    return None if value is None or value is pd.NA else value


def _written(frame, folder, name, driver, metadata, **options):
    path = Path(folder) / name
    with warnings.catch_warnings():
        # A Shapefile's names are cut to 10 characters; fields.csv gives the full ones.
        warnings.filterwarnings("ignore", "Normalized/laundered field name", RuntimeWarning)
        pyogrio.write_dataframe(
            frame,
            path,
            layer=LAYER,
            driver=driver,
            promote_to_multi=True,
            layer_metadata=metadata,
            **options,
        )
    return path


def geopackage(frame, about, srid):
    """Return a GeoPackage (bytes) of one layer; `about` is kept as the layer's metadata.
    GeoPackage 1.2, which the GDAL of Debian 12 and QGIS 3.22 read without a warning."""
    with tempfile.TemporaryDirectory() as folder:
        path = _written(flat(frame, srid), folder, "gaps.gpkg", "GPKG", dict(about), VERSION="1.2")
        return path.read_bytes()


def shapefile_zip(frame, about, srid):
    """Return a zip (bytes) of a Shapefile with its .prj and .cpg, `about.txt` (the method,
    date and attribution) and `fields.csv` (each Shapefile field's full name: a Shapefile
    keeps only 10 characters of a name)."""
    frame = flat(frame, srid)
    with tempfile.TemporaryDirectory() as folder:
        path = _written(frame, folder, f"{LAYER}.shp", "ESRI Shapefile", None)
        written = pyogrio.read_info(path)["fields"]
        full = [c for c in frame.columns if c != frame.geometry.name]
        buffer = BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for part in sorted(Path(folder).iterdir()):
                archive.write(part, part.name)
            archive.writestr("about.txt", "".join(f"{k}: {v}\r\n" for k, v in about))
            names = zip(written, full, strict=True)
            lines = ["shapefile_field,name", *(f"{short},{name}" for short, name in names)]
            archive.writestr("fields.csv", "\r\n".join(lines) + "\r\n")
        return buffer.getvalue()


def workbook(columns, records, about):
    """Return an XLSX workbook (bytes): the rows on a first sheet, `about` on a second.

    Every text is stored as text, never as a formula, whatever it starts with."""
    book = Workbook(write_only=True)
    data = book.create_sheet("Gap analysis")
    data.append(columns)
    for record in records:
        data.append([_cell(data, _text(record.get(c))) for c in columns])
    sheet = book.create_sheet("About")
    sheet.append(["key", "value"])
    for key, value in about:
        sheet.append([key, _cell(sheet, value)])
    buffer = BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _cell(sheet, value):
    cell = WriteOnlyCell(sheet, value=value)
    if isinstance(value, str):
        cell.data_type = "s"  # openpyxl would take "=…" for a formula
    return cell
