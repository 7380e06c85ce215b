"""HTML to PDF (mapper.io.pdf): text, pages, our stylesheet, and nothing fetched."""

import io
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

from pypdf import PdfReader

from mapper.io import pdf


def text_of(data):
    reader = PdfReader(io.BytesIO(data))
    return reader, "\n".join(page.extract_text() for page in reader.pages)


def test_html_becomes_a_pdf_with_its_text(tmp_path):
    css = tmp_path / "print.css"
    css.write_text("@page { size: A4; } h1 { font-size: 20pt; }", encoding="utf-8")
    data = pdf.html_to_pdf("<h1>Annual review: Trafford</h1><p>Ynys Môn &amp; Sale</p>", [css])
    assert data.startswith(b"%PDF-")
    reader, text = text_of(data)
    assert len(reader.pages) == 1
    assert "Annual review: Trafford" in text and "Ynys Môn & Sale" in text


def test_a_long_table_runs_onto_more_pages():
    rows = "".join(f"<tr><td>Ward {i}</td><td>{i}</td></tr>" for i in range(300))
    reader, text = text_of(pdf.html_to_pdf(f"<table>{rows}</table>"))
    assert len(reader.pages) > 3 and "Ward 299" in text


def test_rendering_fetches_nothing_from_the_network():
    asked = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - the standard library's name
            asked.append(self.path)
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        base = f"http://127.0.0.1:{server.server_port}"
        html = (
            f'<link rel="stylesheet" href="{base}/style.css">'
            f'<img src="{base}/logo.png" alt="logo"><p>Offline</p>'
        )
        _, text = text_of(pdf.html_to_pdf(html))
    finally:
        server.shutdown()
        thread.join()
        server.server_close()
    assert "Offline" in text
    assert asked == []
