#!/usr/bin/env python3
"""A real SMTP server for the end-to-end tests (aiosmtpd).

Every message it accepts is parsed with Python's `email` package (an independent MIME
parser) and reported as one JSON line on stdout, and kept as `<dir>/<n>.eml`. Recipients
whose address contains `--reject` get `550` at RCPT TO (a permanent rejection).

    sink.py --port 2525 --dir /tmp/mail [--reject bounce] [--delay-ms 200]
    sink.py --parse a.eml b.eml       (parse files only, same JSON lines)

Prints `{"listening": port}` once it accepts connections.
"""

import argparse
import asyncio
import email
import email.policy
import json
import os
import signal
import sys


def describe(raw: bytes) -> dict:
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    parts = []
    for part in msg.walk():
        entry = {
            "content_type": part.get_content_type(),
            "params": {k: v for k, v in part.get_params() or []} if part.get_params() else {},
            "filename": part.get_filename(),
            "disposition": part.get_content_disposition(),
        }
        if not part.is_multipart():
            try:
                entry["content"] = part.get_content()
                if isinstance(entry["content"], bytes):
                    entry["content"] = entry["content"].decode("utf-8", "replace")
            except Exception as e:  # noqa: BLE001 - reported to the test
                entry["error"] = repr(e)
        parts.append(entry)
    from_header = msg["From"]
    to_header = msg["To"]
    return {
        "defects": [repr(d) for d in msg.defects] + [repr(d) for p in msg.walk() for d in p.defects],
        "subject": str(msg["Subject"]),
        "from_name": from_header.addresses[0].display_name if from_header else None,
        "from_addr": from_header.addresses[0].addr_spec if from_header else None,
        "to_name": to_header.addresses[0].display_name if to_header else None,
        "to_addr": to_header.addresses[0].addr_spec if to_header else None,
        "message_id": str(msg["Message-ID"]),
        "date": str(msg["Date"]),
        "mime_version": str(msg["MIME-Version"]),
        "content_type": msg.get_content_type(),
        "parts": parts,
    }


class Handler:
    def __init__(self, directory: str, reject: str | None, delay_ms: int):
        self.directory = directory
        self.reject = reject
        self.delay = delay_ms / 1000
        self.count = 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.reject and self.reject in address:
            return "550 5.1.1 mailbox unavailable: no such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.delay:
            await asyncio.sleep(self.delay)
        self.count += 1
        raw = envelope.original_content or envelope.content
        path = os.path.join(self.directory, f"{self.count:06d}.eml")
        with open(path, "wb") as f:
            f.write(raw)
        report = describe(raw)
        report["rcpt"] = envelope.rcpt_tos
        report["mail_from"] = envelope.mail_from
        report["file"] = path
        print(json.dumps(report), flush=True)
        return "250 Message accepted for delivery"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int)
    parser.add_argument("--dir")
    parser.add_argument("--reject")
    parser.add_argument("--delay-ms", type=int, default=0)
    parser.add_argument("--parse", nargs="*", help="only parse these .eml files, one JSON line each")
    args = parser.parse_args()
    if args.parse is not None:
        for path in args.parse:
            with open(path, "rb") as f:
                report = describe(f.read())
            report["file"] = path
            print(json.dumps(report), flush=True)
        return
    # Imported here: `--parse` needs only the standard library.
    from aiosmtpd.controller import Controller

    os.makedirs(args.dir, exist_ok=True)
    handler = Handler(args.dir, args.reject, args.delay_ms)
    controller = Controller(
        handler,
        hostname="127.0.0.1",
        port=args.port,
        decode_data=False,
        server_kwargs={"data_size_limit": 10 * 1024 * 1024},
    )
    controller.start()
    print(json.dumps({"listening": args.port}), flush=True)
    stop = asyncio.Event()
    loop = asyncio.new_event_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    loop.run_until_complete(stop.wait())
    controller.stop()


if __name__ == "__main__":
    sys.exit(main())
