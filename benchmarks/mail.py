"""Time "Forgot your password?" for a known and an unknown address (the answer must not tell
them apart), and the delivery of queued mail to a real SMTP server (aiosmtpd, in-process).

    .venv/bin/python benchmarks/mail.py --runs 25 --messages 200

Builds an app on a fresh SpatiaLite file in a temporary folder with one user, then posts
/forgot-password `--runs` times for the user's address and as many for unknown ones,
alternating, through the test client (the mail itself goes after the answer, so it is not in
these times). Then queues `--messages` messages and times `core.mail.deliver` sending them.
Prints medians; the last line is JSON.
"""

import argparse
import json
import re
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path

from mapper import create_app
from mapper.core import accounts, mail
from mapper.store import db


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=25)
    parser.add_argument("--messages", type=int, default=200)
    return parser.parse_args(argv)


class Inbox:
    """Counts what the SMTP server received."""

    def __init__(self):
        self.count = 0

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
        self.count += 1
        return "250 OK"


def main(argv=None):
    from aiosmtpd.controller import Controller

    args = parse_args(argv)
    folder = Path(tempfile.mkdtemp(prefix="mapper-mail-bench-"))
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "benchmark",
            "DATABASE_URL": f"sqlite:///{folder / 'bench.sqlite'}",
            "MAIL_BACKEND": "smtp",
            "SMTP_URL": f"smtp://127.0.0.1:{port}",
        }
    )
    db.upgrade_schema(app.extensions["mapper.db"].engine)
    with app.app_context():
        session = db.get_session()
        accounts.create_user(session, "known@example.org", "x" * 16, "editor", "Bench CVS")
    client = app.test_client()
    page = client.get("/forgot-password").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    times = {"known": [], "unknown": []}
    for run in range(args.runs):
        for kind in ("known", "unknown"):
            email = "known@example.org" if kind == "known" else f"nobody{run}@example.org"
            start = time.perf_counter()
            response = client.post("/forgot-password", data={"email": email, "csrf_token": token})
            times[kind].append(time.perf_counter() - start)
            assert response.status_code == 200
            response.close()  # delivers the known address's mail, outside the timing
    known_ms = statistics.median(times["known"]) * 1000
    unknown_ms = statistics.median(times["unknown"]) * 1000
    print(f"forgot-password, known address:   median {known_ms:.1f} ms over {args.runs} runs")
    print(f"forgot-password, unknown address: median {unknown_ms:.1f} ms over {args.runs} runs")
    with app.app_context():
        session = db.get_session()
        with db.transaction(session):
            for n in range(args.messages):
                mail.queue(session, f"reader{n}@example.org", f"Message {n}", ["Body"] * 5)
        start = time.perf_counter()
        sent, failed = mail.deliver(session, mail.settings_from(app.config))
        delivery = time.perf_counter() - start
    controller.stop()
    per_message_ms = delivery * 1000 / max(sent, 1)
    print(
        f"delivered {sent} messages ({failed} failed) in {delivery:.2f} s: "
        f"{per_message_ms:.1f} ms each"
    )
    print(
        json.dumps(
            {
                "forgot_known_ms": round(known_ms, 1),
                "forgot_unknown_ms": round(unknown_ms, 1),
                "delivered": sent,
                "delivery_ms_per_message": round(per_message_ms, 1),
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
