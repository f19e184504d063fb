"""Reads messages the way Python's email package (policy.default) does.

Used by tests/mime/compose_message_python_test.ts as an independent oracle.
Argument: a directory of N.eml files (N = 0, 1, ...). Prints one JSON array:
for each message, what a program built on the standard library would show —
header values decoded, addresses split into display name and address, the
body parts in tree order, every attachment's filename, type and exact bytes
(base64), and the defects the parser registered.
"""

import base64
import json
import os
import sys
from email import policy
from email.parser import BytesParser


def defects(obj):
    return [type(d).__name__ + ": " + str(d) for d in obj.defects]


def header_defects(msg):
    out = []
    for name, value in msg.items():
        for d in getattr(value, "defects", ()):
            out.append(f"{name}: {type(d).__name__}: {d}")
    return out


def addresses(msg, name):
    value = msg[name]
    if value is None:
        return None
    return [
        {"name": a.display_name, "address": a.addr_spec}
        for a in value.addresses
    ]


def part_info(part):
    info = {
        "contentType": part.get_content_type(),
        "params": {k: v for k, v in part["content-type"].params.items()}
        if part["content-type"] is not None else {},
        "disposition": part.get_content_disposition(),
        "filename": part.get_filename(),
        "contentId": part["content-id"],
        "defects": defects(part) + header_defects(part),
    }
    if part.is_multipart():
        info["children"] = [part_info(p) for p in part.iter_parts()]
    else:
        payload = part.get_payload(decode=True)
        info["bytes"] = base64.b64encode(payload or b"").decode()
        if part.get_content_maintype() == "text":
            info["text"] = part.get_content()
    return info


def main():
    directory = sys.argv[1]
    names = sorted(
        (f for f in os.listdir(directory) if f.endswith(".eml")),
        key=lambda f: int(f[:-4]),
    )
    out = []
    for name in names:
        with open(os.path.join(directory, name), "rb") as f:
            msg = BytesParser(policy=policy.default).parse(f)
        headers = {}
        for key in ("subject", "message-id", "in-reply-to", "references",
                    "list-unsubscribe", "list-unsubscribe-post", "date",
                    "mime-version"):
            value = msg[key]
            headers[key] = None if value is None else str(value)
        body = msg.get_body(preferencelist=("plain",))
        html = msg.get_body(preferencelist=("html",))
        out.append({
            "headers": headers,
            "fieldNames": [k for k, _ in msg.items()],
            "from": addresses(msg, "from"),
            "sender": addresses(msg, "sender"),
            "to": addresses(msg, "to"),
            "cc": addresses(msg, "cc"),
            "replyTo": addresses(msg, "reply-to"),
            "text": body.get_content() if body is not None else None,
            "html": html.get_content() if html is not None else None,
            "attachments": [
                {
                    "filename": a.get_filename(),
                    "contentType": a.get_content_type(),
                    "contentId": a["content-id"],
                    "disposition": a.get_content_disposition(),
                    "bytes": base64.b64encode(
                        a.get_payload(decode=True) or b""
                    ).decode(),
                }
                for a in msg.iter_attachments()
            ],
            "root": part_info(msg),
            "defects": defects(msg) + header_defects(msg),
        })
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
