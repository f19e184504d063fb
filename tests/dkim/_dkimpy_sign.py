"""Signs messages with dkimpy (Debian's python3-dkim).

Used by tests/dkim/verify_dkim_test.ts: signatures made by an independent
signer, for our verifier to check. Reads one JSON array on stdin, one job
per message:
  {"message": "<base64>", "domain": str, "selector": str,
   "key": "<PKCS#1 PEM for RSA, base64 of the 32-octet seed for Ed25519>",
   "algorithm": "rsa-sha256" | "ed25519-sha256",
   "canonicalize": ["relaxed", "simple"], "identity": str | null,
   "length": bool, "headers": [str] | null}
Prints one JSON array: the signed messages (DKIM-Signature field first),
base64.
"""

import base64
import json
import sys

import dkim


def main():
    out = []
    for job in json.load(sys.stdin):
        message = base64.b64decode(job["message"])
        headers = job.get("headers")
        field = dkim.sign(
            message,
            job["selector"].encode(),
            job["domain"].encode(),
            job["key"].encode(),
            identity=job["identity"].encode() if job.get("identity") else None,
            canonicalize=tuple(c.encode() for c in job["canonicalize"]),
            signature_algorithm=job["algorithm"].encode(),
            include_headers=[h.encode() for h in headers] if headers else None,
            length=bool(job.get("length")),
        )
        out.append(base64.b64encode(field + message).decode())
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
