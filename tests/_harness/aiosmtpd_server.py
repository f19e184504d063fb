"""aiosmtpd test server for the @x/sendmail tests.

Started by tests/_harness/aiosmtpd.ts with one JSON argument (the configuration).
Prints {"event": "ready", "port": N} on stdout once listening. Appends one
JSON object per line to config["eventsFile"], written before the reply to
the command, so a client holding the reply can read the event:
  {"event": "auth", ...}                         every AUTH attempt
  {"event": "message", ...}                      every accepted message
Logging goes to stderr.
"""

import asyncio
import base64
import hashlib
import hmac
import json
import logging
import os
import secrets
import signal
import ssl
import sys

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword, auth_mechanism


EVENTS = None


def emit(obj):
    EVENTS.write(json.dumps(obj, separators=(",", ":")) + "\n")
    EVENTS.flush()


def tls_info(server):
    transport = server.transport
    ssl_object = transport.get_extra_info("ssl_object") if transport else None
    if ssl_object is None:
        return None
    cipher = ssl_object.cipher()
    return {"version": ssl_object.version(), "cipher": cipher[0] if cipher else None}


def b(value):
    return value.decode("utf-8", "surrogateescape") if isinstance(value, bytes) else value


class Handler:
    def __init__(self, config):
        self.users = {u["username"]: u for u in config.get("auth") or []}
        self.rcpt_reject = {r.lower(): code for r, code in (config.get("rejectRecipients") or {}).items()}
        self.data_reply = config.get("dataReply")

    def _record_auth(self, server, session, mechanism, login, success):
        emit({
            "event": "auth",
            "mechanism": mechanism,
            "login": login,
            "success": success,
            "tls": tls_info(server) is not None,
            "peer": list(session.peer) if session.peer else None,
        })

    def authenticator(self, server, session, envelope, mechanism, auth_data):
        # Builtin PLAIN and LOGIN end here with a LoginPassword.
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        login = b(auth_data.login)
        user = self.users.get(login)
        ok = user is not None and user.get("password") is not None and \
            hmac.compare_digest(user["password"].encode(), auth_data.password)
        self._record_auth(server, session, mechanism, login, ok)
        if not ok:
            return AuthResult(success=False, handled=False)
        return AuthResult(success=True, auth_data={"mechanism": mechanism, "login": login})

    @auth_mechanism("CRAM-MD5")
    async def auth_CRAM_MD5(self, server, args):
        challenge = f"<{secrets.token_hex(8)}.{os.getpid()}@{server.hostname}>".encode()
        response = await server.challenge_auth(challenge)
        if response is None or not isinstance(response, bytes):
            return AuthResult(success=False)
        try:
            login, digest = response.decode().rsplit(" ", 1)
        except ValueError:
            await server.push("501 5.5.2 Can't split auth value")
            return AuthResult(success=False, handled=True)
        user = self.users.get(login)
        ok = False
        if user is not None and user.get("password") is not None:
            expected = hmac.new(user["password"].encode(), challenge, hashlib.md5).hexdigest()
            ok = hmac.compare_digest(expected, digest.lower())
        self._record_auth(server, server.session, "CRAM-MD5", login, ok)
        if not ok:
            return AuthResult(success=False, handled=False)
        return AuthResult(success=True, auth_data={"mechanism": "CRAM-MD5", "login": login})

    async def _bearer(self, server, args, mechanism):
        if len(args) > 1:
            try:
                blob = base64.b64decode(args[1].encode(), validate=True)
            except Exception:
                await server.push("501 5.5.2 Can't decode base64")
                return AuthResult(success=False, handled=True)
        else:
            blob = await server.challenge_auth("")
            if not isinstance(blob, bytes):
                return AuthResult(success=False)
        text = blob.decode("utf-8", "replace")
        parts = text.split("\x01")
        login = None
        token = None
        if mechanism == "OAUTHBEARER":
            # gs2-header "n,a=user,"
            gs2 = parts[0].split(",")
            for item in gs2:
                if item.startswith("a="):
                    login = item[2:].replace("=2C", ",").replace("=3D", "=")
        for item in parts[1:] if mechanism == "OAUTHBEARER" else parts:
            if item.startswith("user="):
                login = item[5:]
            elif item.lower().startswith("auth=bearer "):
                token = item[12:]
        user = self.users.get(login) if login is not None else None
        ok = user is not None and user.get("accessToken") is not None and \
            token is not None and hmac.compare_digest(user["accessToken"], token)
        self._record_auth(server, server.session, mechanism, login, ok)
        if ok:
            return AuthResult(success=True, auth_data={"mechanism": mechanism, "login": login})
        # RFC 7628 / XOAUTH2: an error challenge, the client answers with an
        # empty line (or "\x01"), then the failure reply.
        error = base64.b64encode(json.dumps({"status": "invalid_token"}).encode())
        await server.push(b"334 " + error)
        await server._reader.readline()
        await server.push("535 5.7.8 Authentication credentials invalid")
        return AuthResult(success=False, handled=True)

    async def auth_XOAUTH2(self, server, args):
        return await self._bearer(server, args, "XOAUTH2")

    async def auth_OAUTHBEARER(self, server, args):
        return await self._bearer(server, args, "OAUTHBEARER")

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        code = self.rcpt_reject.get(address.lower())
        if code:
            return code
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.append(rcpt_options)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        auth = session.auth_data if session.authenticated else None
        emit({
            "event": "message",
            "mailFrom": envelope.mail_from,
            "mailOptions": envelope.mail_options,
            "rcptTos": envelope.rcpt_tos,
            "rcptOptions": envelope.rcpt_options,
            "data": base64.b64encode(envelope.original_content).decode(),
            "smtputf8": envelope.smtp_utf8,
            "helo": session.host_name,
            "extendedSmtp": session.extended_smtp,
            "auth": auth,
            "tls": tls_info(server),
            "peer": list(session.peer) if session.peer else None,
        })
        return self.data_reply or "250 2.0.0 OK"


def tls_context(config):
    if not config.get("certFile"):
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(config["certFile"], config["keyFile"])
    return context


def main():
    global EVENTS
    config = json.loads(sys.argv[1])
    EVENTS = open(config["eventsFile"], "a", encoding="utf-8")
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    # Session.login_data deprecation warnings on every AUTH are noise.
    logging.getLogger("mail.log").setLevel(logging.ERROR)
    handler = Handler(config)
    context = tls_context(config)
    implicit = bool(config.get("implicitTls"))
    mechanisms = config.get("authMechanisms")
    all_mechanisms = ["PLAIN", "LOGIN", "CRAM-MD5", "XOAUTH2", "OAUTHBEARER"]
    exclude = [m for m in all_mechanisms if mechanisms is not None and m not in mechanisms]

    def factory():
        return SMTP(
            handler,
            hostname=config.get("hostname") or "aiosmtpd.test",
            ident=config.get("ident") or "aiosmtpd test server",
            decode_data=False,
            enable_SMTPUTF8=config.get("smtputf8", True),
            data_size_limit=config.get("sizeLimit", 33554432),
            tls_context=None if implicit else context,
            require_starttls=bool(config.get("requireStarttls")),
            auth_required=bool(config.get("authRequired")),
            auth_require_tls=config.get("authRequireTls", True),
            auth_exclude_mechanism=exclude,
            authenticator=handler.authenticator,
        )

    async def serve():
        loop = asyncio.get_running_loop()
        server = await loop.create_server(
            factory,
            host="127.0.0.1",
            port=config.get("port", 0),
            ssl=context if implicit else None,
        )
        stop = loop.create_future()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, lambda: stop.done() or stop.set_result(None))
        port = server.sockets[0].getsockname()[1]
        sys.stdout.write(json.dumps({"event": "ready", "port": port}) + "\n")
        sys.stdout.flush()
        await stop
        server.close()

    asyncio.run(serve())


if __name__ == "__main__":
    main()
