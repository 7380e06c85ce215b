"""Reading files (GeoJSON, GeoPackage, zipped Shapefile, CSV, XLSX) into a `Reading` of rows.

Every reader returns a `Reading`: the rows to import (geometry in lon/lat), each rejected row
with where it is in the file and why, and notes saying which columns and CRS were chosen.
Nothing in `mapper.io` writes to the database: look-ups that need it (postcodes, categories)
are passed in by the caller, and `mapper.core` checks what only the database knows (wards).

Row numbers count the header as row 1, as a spreadsheet shows them; features count from 1.
"""

import warnings
from dataclasses import dataclass, field
from typing import NamedTuple

import geopandas as gpd
import pandas as pd
import pyogrio
import shapely
from python_calamine import CalamineError

from mapper import geo
from mapper.errors import Invalid

TABLE_SUFFIXES = (".csv", ".tsv", ".txt")


WORKBOOK_SUFFIXES = (".xlsx", ".xlsm", ".xls", ".ods")


class Row(NamedTuple):
    """A row that passed: where it is in the file and its values."""

    index: int
    where: str  # "row 12" or "feature 3"
    values: dict


class Rejection(NamedTuple):
    """A row that did not pass: where it is in the file and why."""

    index: int
    where: str
    reason: str


@dataclass
class Reading:
    """What a file gave: rows to import, rows rejected and why, notes for the user."""

    source: str
    rows: list = field(default_factory=list)
    rejected: list = field(default_factory=list)
    notes: list = field(default_factory=list)

    def accept(self, index, where, values):
        self.rows.append(Row(index, where, values))

    def reject(self, index, where, reason):
        self.rejected.append(Rejection(index, where, reason))

    def reject_rows(self, reasons):
        """Move each row whose reason (in row order) is not None to the rejected list."""
        kept = []
        for row, reason in zip(self.rows, reasons, strict=True):
            if reason:
                self.reject(row.index, row.where, reason)
            else:
                kept.append(row)
        self.rows = kept

    def values(self):
        return [row.values for row in self.rows]

    def rejections(self):
        return sorted(self.rejected)


def where_label(frame, index):
    """Name a row as a person finds it: a spreadsheet row (header = 1) or a feature."""
    return f"feature {index + 1}" if is_geo(frame) else f"row {index + 2}"


def is_geo(frame):
    """Tell whether a frame has geometry (a GeoDataFrame), not just a table."""
    return isinstance(frame, gpd.GeoDataFrame)


# --- reading files -------------------------------------------------------------------


def read_table(path, columns=None, rows=None):
    """Read a CSV as text cells, with empty cells as empty strings.

    With `columns` (names as the header has them, stripped), only those columns are read;
    with `rows`, only that many rows (0: the header alone).
    """
    sep = "\t" if str(path).lower().endswith(".tsv") else ","
    usecols = None if columns is None else (lambda name: name.strip() in columns)
    for encoding in ("utf-8-sig", "cp1252"):  # spreadsheets still save Windows-1252
        try:
            return pd.read_csv(
                path,
                dtype=str,
                keep_default_na=False,
                encoding=encoding,
                sep=sep,
                usecols=usecols,
                nrows=rows,
            ).rename(columns=str.strip)
        except UnicodeDecodeError:
            continue
        except (pd.errors.ParserError, pd.errors.EmptyDataError) as error:
            raise Invalid(f"cannot read it as CSV: {error}") from None
    raise Invalid("cannot read it as CSV: it is neither UTF-8 nor Windows-1252 text")


def read_workbook(path, sheet=None):
    """Read a spreadsheet's first sheet (or `sheet`) as text cells, as `read_table` does."""
    try:
        frame = pd.read_excel(
            path, sheet_name=sheet or 0, engine="calamine", dtype=str, keep_default_na=False
        )
    except (CalamineError, ValueError, OSError) as error:
        raise Invalid(f"cannot read it as a spreadsheet: {error}") from None
    return frame.rename(columns=lambda name: str(name).strip())


def read_frame(path, layer=None, notes=None, reproject=True):
    """Read a vector file into a lon/lat GeoDataFrame, saying in `notes` which CRS it had.

    With `reproject` false, the frame keeps the file's CRS (recognised, or guessed when the
    file states none).
    """
    notes = [] if notes is None else notes
    try:
        layers = pyogrio.list_layers(path)
        if len(layers) == 0:  # a zip of zero-filled shapefiles, say
            raise Invalid("it holds no layer GDAL can read: is the file damaged or empty?")
        if layer is None and len(layers) > 1:
            names = ", ".join(str(name) for name in layers[:, 0])
            raise Invalid(f"it holds several layers ({names}): choose one with --layer")
        # A geometry GEOS cannot build (a ring starting with NaN, one not closed) becomes
        # None, so that its feature is rejected by number rather than the whole file; what
        # GDAL and GEOS warn of meanwhile is told to the user as a note.
        with warnings.catch_warnings(record=True) as warned:
            warnings.simplefilter("always")
            frame = gpd.read_file(path, layer=layer, on_invalid="ignore")
        for message in dict.fromkeys(str(w.message).split(". To avoid")[0] for w in warned):
            notes.append(f"while reading: {message}")
    except (
        pyogrio.errors.DataSourceError,
        pyogrio.errors.DataLayerError,
        pyogrio.errors.FieldError,
        pyogrio.errors.GeometryError,
        pyogrio.errors.FeatureError,
        pyogrio.errors.CRSError,
        shapely.errors.GEOSException,
        ValueError,
    ) as error:
        raise Invalid(
            f"cannot read it as a GeoJSON, GeoPackage, Shapefile or other file GDAL knows: {error}"
        ) from None
    if frame.crs is None:
        valid = frame.geometry[~frame.geometry.is_empty & frame.geometry.notna()]
        code = geo.guess_crs(valid.total_bounds) if len(valid) else geo.SRID
        if code is None:
            raise Invalid("it states no CRS and its coordinates are neither lon/lat nor BNG")
        notes.append(f"CRS: none stated; the coordinates look like EPSG:{code}")
        frame = frame.set_crs(code)
    else:
        code = geo.epsg_of(frame.crs)
        if code is None:
            notes.append(f"CRS: {frame.crs.name} (no EPSG code), reprojected to EPSG:4326")
        elif frame.crs.to_epsg() is None:
            notes.append(f"CRS: EPSG:{code}, recognised from a definition with no EPSG code")
            frame = frame.set_crs(code, allow_override=True)
        else:
            notes.append(f"CRS: EPSG:{code}")
    return frame.to_crs(geo.WGS84) if reproject else frame


def read_any(path, layer=None, notes=None):
    """Read a CSV or spreadsheet as text, or anything else as a lon/lat GeoDataFrame."""
    if str(path).lower().endswith(TABLE_SUFFIXES):
        return read_table(path)
    if str(path).lower().endswith(WORKBOOK_SUFFIXES):
        return read_workbook(path, layer)
    return read_frame(path, layer, notes)


def records(frame):
    """Return the rows of a frame as dicts (the geometry under "geometry" if any)."""
    if is_geo(frame) or frame.columns.empty:
        return frame.to_dict("records")
    # A table of text: its columns as lists, zipped (to_dict takes its cells one by one).
    names = list(frame.columns)
    cells = (frame.iloc[:, i].tolist() for i in range(len(names)))
    return [dict(zip(names, row, strict=True)) for row in zip(*cells, strict=True)]
