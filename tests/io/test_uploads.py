"""Uploaded files: kept per owner, old ones removed, rejected rows written back re-readable."""

import csv
import io
import time

import openpyxl
import pytest

from mapper.errors import Invalid, NotFound
from mapper.io import uploads
from mapper.io.reading import Rejection, read_any, read_workbook


def test_an_upload_is_found_only_by_its_owner_and_old_ones_are_removed(tmp_path):
    kept = uploads.store_upload(tmp_path, io.BytesIO(b"name\nA\n"), "a.csv", owner_id=1)
    assert uploads.find_upload(tmp_path, kept.token, 1).path.read_bytes() == b"name\nA\n"
    with pytest.raises(NotFound):
        uploads.find_upload(tmp_path, kept.token, 2)
    with pytest.raises(NotFound):
        uploads.find_upload(tmp_path, "../../etc", 1)
    uploads.remove_old_uploads(tmp_path, now=time.time() + uploads.KEEP_SECONDS + 1)
    with pytest.raises(NotFound):
        uploads.find_upload(tmp_path, kept.token, 1)


@pytest.mark.parametrize("name", ["a.pdf", "a", "a.exe", ""])
def test_only_files_the_importer_reads_are_kept(tmp_path, name):
    with pytest.raises(Invalid) as error:
        uploads.store_upload(tmp_path, io.BytesIO(b""), name, owner_id=1)
    assert "file" in error.value.fields


def test_rejected_rows_read_back_as_they_were_with_their_problem(tmp_path):
    path = tmp_path / "groups.csv"
    path.write_text("name,lon,lat,phone\nA,-2.05,53.45,=1+1\nB,-2.1,53.4,+44 161\n")
    text = uploads.rejected_csv(path, [Rejection(1, "row 3", "outside every known ward")])
    [row] = list(csv.DictReader(io.StringIO(text)))
    assert row == {
        "problem": "row 3: outside every known ward",
        "name": "B",
        "lon": "-2.1",
        "lat": "53.4",
        "phone": "'+44 161",
    }  # numbers stay numbers; formulas do not run


def test_a_workbook_is_read_as_text_cells_like_a_csv(tmp_path):
    workbook = openpyxl.Workbook()
    workbook.active.append(["name ", "lon", "count", "empty"])
    workbook.active.append(["A", -2.58651, 12, None])
    workbook.save(tmp_path / "a.xlsx")
    frame = read_workbook(tmp_path / "a.xlsx")
    assert frame.to_dict("records") == [
        {"name": "A", "lon": "-2.58651", "count": "12", "empty": ""}
    ]
    assert read_any(tmp_path / "a.xlsx").equals(frame)
