"""Time the PDF ward packs on the demo borough (SpatiaLite): one ward's, and the borough's.

    python benchmarks/ward_pack.py [--runs 5]

Loads the fictional demo borough into a fresh SpatiaLite file, then asks the app's test client
for the first ward's `/wards/<code>.pdf` and its local authority's `/la/<code>.pdf` `--runs`
times each. Prints the median seconds, the page counts and the sizes; the last line is JSON.
"""

import argparse
import io
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

from pypdf import PdfReader

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from mapper import create_app  # noqa: E402
from mapper.store import queries  # noqa: E402
from mapper.store.db import get_session  # noqa: E402


def timed(client, url, runs):
    """Return (median seconds, pages, bytes) of `runs` answers to `url`."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        response = client.get(url)
        times.append(time.perf_counter() - start)
        assert response.status_code == 200, (url, response.status_code)
    data = response.get_data()
    return statistics.median(times), len(PdfReader(io.BytesIO(data)).pages), len(data)


def main():
    """Load the demo, time both packs and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{folder}/bench.sqlite"
        app = create_app({"TESTING": True, "DATABASE_URL": url, "SECRET_KEY": "bench"})
        result = app.test_cli_runner().invoke(args=["demo"])
        assert result.exit_code == 0, result.output
        with app.app_context():
            ward = queries.wards(get_session())[0][0]
        client = app.test_client()
        figures = {}
        for name, path in (("ward", f"/wards/{ward.code}.pdf"), ("la", f"/la/{ward.la_code}.pdf")):
            seconds, pages, size = timed(client, path, args.runs)
            figures[name] = {
                "url": path,
                "median_s": round(seconds, 3),
                "pages": pages,
                "bytes": size,
            }
            print(
                f"{path}: median {seconds:.2f} s over {args.runs} runs, "
                f"{pages} pages, {size:,} bytes"
            )
        print(json.dumps(figures))


if __name__ == "__main__":
    main()
