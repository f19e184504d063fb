"""Verifies DKIM signatures with dkimpy (Debian's python3-dkim).

Used by the tests in tests/dkim/ as an independent verifier. Reads one JSON
object on stdin:
  {"records": {"<selector>._domainkey.<domain>": "v=DKIM1; k=...; p=..."},
   "messages": ["<base64 of the message bytes>", ...]}
The DNS lookups dkimpy makes are answered from "records" (never from DNS).
Prints one JSON array: for each message, one entry per DKIM-Signature
field, in order: {"ok": bool, "domain": str, "selector": str, "log": str}.
"""

import base64
import io
import json
import logging
import sys

import dkim


def main():
    request = json.load(sys.stdin)
    records = {
        name.lower().rstrip(".").encode(): value.encode()
        for name, value in request["records"].items()
    }

    def dnsfunc(name, timeout=5):
        return records.get(name.lower().rstrip(b"."))

    out = []
    for data in request["messages"]:
        message = base64.b64decode(data)
        results = []
        count = len(
            [h for h in dkim.DKIM(message).headers
             if h[0].lower() == b"dkim-signature"]
        )
        for index in range(count):
            stream = io.StringIO()
            logger = logging.getLogger(f"dkimpy.{len(out)}.{index}")
            logger.handlers = [logging.StreamHandler(stream)]
            logger.setLevel(logging.DEBUG)
            logger.propagate = False
            verifier = dkim.DKIM(message, logger=logger)
            try:
                ok = bool(verifier.verify(idx=index, dnsfunc=dnsfunc))
            except Exception as error:  # a malformed signature
                ok = False
                stream.write(f"{type(error).__name__}: {error}\n")
            results.append({
                "ok": ok,
                "domain": (verifier.domain or b"").decode(),
                "selector": (verifier.selector or b"").decode(),
                "log": stream.getvalue(),
            })
        out.append(results)
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
