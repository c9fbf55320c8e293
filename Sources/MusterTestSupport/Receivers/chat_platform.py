#!/usr/bin/env python3
"""A fake Slack and a fake Mattermost on 127.0.0.1, for Muster's chat tests and scripts/try-chat.

Two roles in one file:

1. The platforms' APIs that Muster posts to (server mode):
     chat_platform.py CONFIG_JSON PORT_FILE RECORD_FILE
   CONFIG_JSON: {"slack_token": "xoxb-...", "mattermost_token": "...", "lifetime": 600}
   Serves, as the platforms document them:
     POST /api/chat.postMessage, POST /api/chat.update          Slack Web API (Bearer bot token; JSON bodies)
     POST /api/v4/posts, PUT /api/v4/posts/{id}                 Mattermost REST API (Bearer access token)
   Slack answers 200 with {"ok": true, "channel", "ts", "message"} or {"ok": false, "error": ...}
   (invalid_auth, channel_not_found, message_not_found); Mattermost answers 201 with the post (its "id"), 200 for
   an edit, 401 without the token, 404 for an unknown post. Every call is appended to RECORD_FILE as one JSON line
   {"seq", "platform", "op" ("post"|"update"), "status", "channel", "message" (the id), "body" (the JSON sent),
   "authorization"}. POST /_control/delete {"platform", "message"} deletes a message (as a person would).
   Exits on SIGTERM, when its parent goes away, or after `lifetime` seconds.

2. The people typing (client mode), signed exactly as the platforms sign:
     chat_platform.py slack-command URL SECRET USER CHANNEL TEXT      /muster TEXT typed in Slack (v0 HMAC-SHA256)
     chat_platform.py mattermost-command URL TOKEN USER CHANNEL TEXT  /muster TEXT typed in Mattermost (token)
     chat_platform.py slack-press URL SECRET USER RECORD_FILE TASK     press "Done: TASK" on the latest Slack message
     chat_platform.py mattermost-press URL USER RECORD_FILE TASK       press it on the latest Mattermost post
     chat_platform.py show RECORD_FILE PLATFORM                        the latest incident message, as text
   URL is muster serve's base (http://127.0.0.1:PORT). Prints the ephemeral reply's text.
"""
import hashlib
import hmac
import json
import os
import signal
import sys
import threading
import time
import urllib.parse
import urllib.request
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


# ---------------------------------------------------------------- server mode

class Server(ThreadingHTTPServer):
    request_queue_size = 256
    daemon_threads = True
    allow_reuse_address = True


def serve(config, port_file, record_file):
    signal.pthread_sigmask(signal.SIG_UNBLOCK, [signal.SIGTERM, signal.SIGINT])
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    lock = threading.Lock()
    state = {"seq": 0, "slack": {}, "mattermost": {}}

    def record(entry):
        state["seq"] += 1
        entry["seq"] = state["seq"]
        with open(record_file, "a", encoding="utf-8") as f:
            f.write(json.dumps(entry) + "\n")

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format, *args):
            pass

        def answer(self, status, value):
            payload = json.dumps(value).encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def body(self):
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            try:
                return json.loads(raw.decode("utf-8")) if raw else {}
            except ValueError:
                return None

        def bearer(self):
            header = self.headers.get("Authorization") or ""
            return header[len("Bearer "):] if header.startswith("Bearer ") else None

        def do_POST(self):
            self.handle_any("POST")

        def do_PUT(self):
            self.handle_any("PUT")

        def handle_any(self, method):
            path = self.path.split("?", 1)[0]
            body = self.body()
            with lock:
                if path == "/_control/delete" and method == "POST":
                    state[body["platform"]].pop(body["message"], None)
                    return self.answer(200, {"ok": True})
                if path in ("/api/chat.postMessage", "/api/chat.update") and method == "POST":
                    return self.slack(path, body)
                if path == "/api/v4/posts" and method == "POST":
                    return self.mattermost(None, body)
                if path.startswith("/api/v4/posts/") and method == "PUT":
                    return self.mattermost(urllib.parse.unquote(path[len("/api/v4/posts/"):]), body)
                return self.answer(404, {"error": "no such route in the fake"})

        def slack(self, path, body):
            op = "post" if path.endswith("postMessage") else "update"
            entry = {"platform": "slack", "op": op, "authorization": self.headers.get("Authorization"), "body": body}
            if self.bearer() != config.get("slack_token"):
                entry.update(status=200, error="invalid_auth")
                record(entry)
                return self.answer(200, {"ok": False, "error": "invalid_auth"})
            if not isinstance(body, dict) or not body.get("channel"):
                entry.update(status=200, error="channel_not_found")
                record(entry)
                return self.answer(200, {"ok": False, "error": "channel_not_found"})
            channel = body["channel"]
            if op == "post":
                ts = "%d.%06d" % (int(time.time()), state["seq"] + 1)
            else:
                ts = body.get("ts")
                if ts not in state["slack"]:
                    entry.update(status=200, error="message_not_found", channel=channel, message=ts)
                    record(entry)
                    return self.answer(200, {"ok": False, "error": "message_not_found"})
            state["slack"][ts] = body
            entry.update(status=200, channel=channel, message=ts)
            record(entry)
            return self.answer(200, {"ok": True, "channel": channel, "ts": ts, "message": {"text": body.get("text"), "ts": ts}})

        def mattermost(self, post_id, body):
            op = "post" if post_id is None else "update"
            entry = {"platform": "mattermost", "op": op, "authorization": self.headers.get("Authorization"), "body": body}
            if self.bearer() != config.get("mattermost_token"):
                entry.update(status=401)
                record(entry)
                return self.answer(401, {"id": "api.context.session_expired.app_error", "status_code": 401})
            if op == "post":
                post_id = uuid.uuid4().hex[:26]
            elif post_id not in state["mattermost"]:
                entry.update(status=404, message=post_id)
                record(entry)
                return self.answer(404, {"id": "app.post.get.app_error", "status_code": 404})
            state["mattermost"][post_id] = body
            status = 201 if op == "post" else 200
            entry.update(status=status, channel=body.get("channel_id"), message=post_id)
            record(entry)
            return self.answer(status, {"id": post_id, "channel_id": body.get("channel_id"), "message": body.get("message"),
                                        "create_at": int(time.time() * 1000)})

    def watchdog(parent, lifetime):
        deadline = time.monotonic() + lifetime
        while time.monotonic() < deadline and os.getppid() == parent:
            time.sleep(0.2)
        os._exit(0)

    server = Server(("127.0.0.1", 0), Handler)
    threading.Thread(target=watchdog, args=(os.getppid(), float(config.get("lifetime", 120))), daemon=True).start()
    open(record_file, "a").close()
    temporary = port_file + ".tmp"
    with open(temporary, "w") as f:
        f.write(str(server.server_address[1]))
    os.replace(temporary, port_file)
    server.serve_forever(poll_interval=0.1)


# ---------------------------------------------------------------- client mode

def post(url, body, headers):
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read().decode("utf-8")
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode("utf-8")


def slack_headers(secret, body):
    timestamp = str(int(time.time()))
    base = b"v0:" + timestamp.encode() + b":" + body
    signature = "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return {"Content-Type": "application/x-www-form-urlencoded", "X-Slack-Request-Timestamp": timestamp,
            "X-Slack-Signature": signature}


def reply_text(status, text):
    try:
        value = json.loads(text)
        return value.get("text") or value.get("ephemeral_text") or text
    except ValueError:
        return "HTTP %d: %s" % (status, text)


def slack_command(url, secret, user, channel, text):
    body = urllib.parse.urlencode([
        ("token", "deprecated"), ("team_id", "T0TRY0001"), ("team_domain", "try"), ("channel_id", channel),
        ("channel_name", "incident"), ("user_id", user), ("user_name", user.lower()), ("command", "/muster"),
        ("text", text), ("api_app_id", "A0TRY0001"), ("response_url", "https://hooks.slack.com/commands/T0TRY0001/1/x"),
        ("trigger_id", uuid.uuid4().hex)]).encode()
    status, answer = post(url + "/hooks/slack/commands", body, slack_headers(secret, body))
    return reply_text(status, answer)


def mattermost_command(url, token, user, channel, text):
    body = urllib.parse.urlencode([
        ("channel_id", channel), ("channel_name", "incident"), ("command", "/muster"), ("team_domain", "try"),
        ("team_id", "tryteam0001"), ("text", text), ("token", token), ("trigger_id", uuid.uuid4().hex),
        ("user_id", "mm" + user), ("user_name", user), ("response_url", "https://mattermost.example.org/hooks/commands/x")]).encode()
    status, answer = post(url + "/hooks/mattermost/commands", body, {"Content-Type": "application/x-www-form-urlencoded"})
    return reply_text(status, answer)


def latest(record_file, platform):
    """The latest body sent for each message of `platform`, in order of the message's first post."""
    messages = {}
    with open(record_file, encoding="utf-8") as f:
        for line in f:
            entry = json.loads(line)
            if entry.get("platform") == platform and entry.get("message") and entry.get("status") in (200, 201) and "error" not in entry:
                messages[entry["message"]] = entry["body"]
    return list(messages.values())


def slack_press(url, secret, user, record_file, task):
    for message in reversed(latest(record_file, "slack")):
        for block in message.get("blocks", []):
            for element in block.get("elements", []) if block.get("type") == "actions" else []:
                if element.get("value", "").split(" ")[2:4] == ["task", task]:
                    payload = {"type": "block_actions", "user": {"id": user, "username": user.lower()},
                               "team": {"id": "T0TRY0001"}, "channel": {"id": message["channel"]},
                               "actions": [{"action_id": element["action_id"], "value": element["value"], "type": "button"}],
                               "container": {"type": "message", "message_ts": message.get("ts", "")}}
                    body = urllib.parse.urlencode([("payload", json.dumps(payload))]).encode()
                    status, answer = post(url + "/hooks/slack/interactive", body, slack_headers(secret, body))
                    return reply_text(status, answer)
    return "no Slack button for task %s" % task


def mattermost_press(url, user, record_file, task):
    for message in reversed(latest(record_file, "mattermost")):
        for attachment in message.get("props", {}).get("attachments", []):
            for action in attachment.get("actions", []):
                context = action["integration"]["context"]
                if context.get("task") == task:
                    body = json.dumps({"user_id": "mm" + user, "user_name": user, "channel_id": message["channel_id"],
                                       "team_id": "tryteam0001", "post_id": message.get("id", ""), "trigger_id": uuid.uuid4().hex,
                                       "type": "button", "context": context}).encode()
                    status, answer = post(action["integration"]["url"], body, {"Content-Type": "application/json"})
                    return reply_text(status, answer)
    return "no Mattermost button for task %s" % task


def show(record_file, platform):
    messages = latest(record_file, platform)
    if not messages:
        return "(no incident message yet)"
    message = messages[-1]
    if platform == "mattermost":
        return message["message"]
    out = []
    for block in message.get("blocks", []):
        if block.get("type") in ("header", "section"):
            out.append(block["text"]["text"])
        elif block.get("type") == "actions":
            out.append("  ".join("[%s]" % e["text"]["text"] for e in block.get("elements", [])))
        elif block.get("type") == "context":
            out.append(" ".join(e.get("text", "") for e in block.get("elements", [])))
    return "\n".join(out)


def main():
    mode = sys.argv[1]
    if not mode.startswith("{"):
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # `show ... | grep -q` closes the pipe early
    if mode == "slack-command":
        print(slack_command(*sys.argv[2:7]))
    elif mode == "mattermost-command":
        print(mattermost_command(*sys.argv[2:7]))
    elif mode == "slack-press":
        print(slack_press(*sys.argv[2:7]))
    elif mode == "mattermost-press":
        print(mattermost_press(*sys.argv[2:6]))
    elif mode == "show":
        print(show(sys.argv[2], sys.argv[3]))
    else:
        serve(json.loads(mode), sys.argv[2], sys.argv[3])


if __name__ == "__main__":
    main()
