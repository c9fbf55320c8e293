#!/usr/bin/env python3
"""SMTP sink for MusterNotifyTests (aiosmtpd): records and parses every message it accepts.

Usage: smtp_sink.py CONFIG_JSON PORT_FILE RECORD_FILE

CONFIG_JSON:
  {"refuse": ["nobody@example.org"],                 # RCPT TO answered 550
   "users": {"muster": "the-password"},              # when given, AUTH is offered (without TLS) and checked
   "tls": {"cert": "cert.pem", "key": "key.pem"},    # offer STARTTLS and require it
   "require_starttls": false,                        # with tls: offer STARTTLS without requiring it
   "implicit_tls": true,                             # with tls: TLS from the first byte (smtps://) instead
   "lifetime": 120}

Listens on 127.0.0.1 with an ephemeral port, written to PORT_FILE once it accepts connections. Each
accepted message is appended to RECORD_FILE as one JSON line: envelope, decoded headers, the decoded
text body, the parser's defects, the login used. Exits on SIGTERM, when its parent goes away, or after
`lifetime` seconds.
"""
import asyncio
import email
import json
import os
import signal
import socket
import ssl
import sys
import time
from email import policy

try:
    from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword
except ImportError:
    sys.stderr.write("aiosmtpd is not installed: .ci/run installs it (pip install aiosmtpd)\n")
    sys.exit(3)

# A parent that blocks signals in its threads (Foundation's Process does) passes the mask on: unblock
# SIGTERM so that the tests can stop this process at once.
signal.pthread_sigmask(signal.SIG_UNBLOCK, [signal.SIGTERM, signal.SIGINT])
signal.signal(signal.SIGTERM, signal.SIG_DFL)

config = json.loads(sys.argv[1])
port_file = sys.argv[2]
record_file = sys.argv[3]
refused = set(address.lower() for address in config.get("refuse", []))
users = config.get("users")


class Handler:
    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.lower() in refused:
            return "550 5.1.1 <%s>: Recipient address rejected: User unknown" % address
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        raw = envelope.original_content or envelope.content
        if isinstance(raw, str):
            raw = raw.encode("utf-8", errors="surrogateescape")
        message = email.message_from_bytes(raw, policy=policy.default)
        login = session.auth_data if isinstance(session.auth_data, str) else None
        record = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "headers": {name: str(value) for name, value in message.items()},
            "raw_headers": raw.split(b"\r\n\r\n", 1)[0].decode("ascii", errors="replace"),
            "content_type": message.get_content_type(),
            "charset": message.get_content_charset(),
            "body": message.get_content(),
            "defects": [type(defect).__name__ for defect in message.defects],
            "login": login,
            "tls": session.ssl is not None,
        }
        with open(record_file, "a", encoding="utf-8") as f:
            f.write(json.dumps(record) + "\n")
        return "250 Message accepted for delivery"


def authenticate(server, session, envelope, mechanism, auth_data):
    if not isinstance(auth_data, LoginPassword):
        return AuthResult(success=False, handled=False)
    login = auth_data.login.decode()
    password = auth_data.password.decode()
    if users is not None and users.get(login) == password:
        return AuthResult(success=True, auth_data=login)
    return AuthResult(success=False, handled=False)


async def watchdog(parent, lifetime):
    deadline = time.monotonic() + lifetime
    while time.monotonic() < deadline and os.getppid() == parent:
        await asyncio.sleep(0.2)
    os._exit(0)


async def main():
    loop = asyncio.get_running_loop()
    tls_context = None
    tls = config.get("tls")
    if tls:
        tls_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls_context.load_cert_chain(tls["cert"], tls["key"])

    implicit = bool(config.get("implicit_tls")) and tls_context is not None

    def factory():
        options = dict(hostname="muster-test-sink", timeout=30)
        if tls_context is not None and not implicit:
            options.update(tls_context=tls_context, require_starttls=bool(config.get("require_starttls", True)))
        if users is not None:
            options.update(authenticator=authenticate, auth_require_tls=tls_context is not None and not implicit)
        return SMTP(Handler(), **options)

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    server = await loop.create_server(factory, sock=sock, ssl=tls_context if implicit else None)
    open(record_file, "a").close()
    temporary = port_file + ".tmp"
    with open(temporary, "w") as f:
        f.write(str(sock.getsockname()[1]))
    os.replace(temporary, port_file)
    async with server:
        await watchdog(os.getppid(), float(config.get("lifetime", 120)))


if __name__ == "__main__":
    asyncio.run(main())
