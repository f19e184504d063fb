"""Python's smtplib as a peer of the field benchmarks.

Usage: /usr/bin/python3 bench/field/smtplib_client.py '<json>'
Mode "throughput" only: `count` messages read from `messageFile` over
`connections` sessions (one thread each). Prints one JSON line.
"""

import json
import smtplib
import sys
import threading
import time

FROM = "bench@example.com"
TO = "sink@example.org"


def session(host, port, message, share):
    client = smtplib.SMTP(host, port)
    try:
        for _ in range(share):
            client.sendmail(FROM, [TO], message)
    finally:
        client.quit()


def main():
    args = json.loads(sys.argv[1])
    host = args.get("hostname", "127.0.0.1")
    with open(args["messageFile"], "rb") as f:
        message = f.read()
    count = args["count"]
    connections = args.get("connections", 1)
    shares = [
        count // connections + (1 if i < count % connections else 0)
        for i in range(connections)
    ]
    start = time.perf_counter()
    threads = [
        threading.Thread(target=session, args=(host, args["port"], message, s))
        for s in shares
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    seconds = time.perf_counter() - start
    print(json.dumps({"messages": count, "seconds": seconds}))


main()
