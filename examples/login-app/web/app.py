"""The login app's web service: registers users and lists them.

Python's standard library (http.server) and PyMySQL, both from Debian's
packages. Every page says which task served it (the container's hostname)
and the client's address as the task saw it (swarm's routing mesh keeps
it). The database is reached by the service name `database` over the
stack's overlay network; it may start later than this service, so each
request connects afresh and retries for a while before answering 503.
"""

import hashlib
import html
import os
import secrets
import signal
import socket
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pymysql

DB_HOST = os.environ.get("DB_HOST", "database")
DB_PORT = int(os.environ.get("DB_PORT", "3306"))
DB_NAME = os.environ.get("MARIADB_DATABASE", "login")
DB_USER = os.environ.get("MARIADB_USER", "login")
DB_PASSWORD = os.environ.get("MARIADB_PASSWORD", "")
PORT = int(os.environ.get("PORT", "8080"))
RETRY_SECONDS = float(os.environ.get("DB_RETRY_SECONDS", "5"))
HOSTNAME = socket.gethostname()


def log(message):
    print("web %s: %s" % (HOSTNAME, message), file=sys.stderr, flush=True)


def connect(patience=RETRY_SECONDS):
    """A new connection, retried (the name may not resolve yet, the server
    may still be initialising) until `patience` seconds have passed."""
    deadline = time.monotonic() + patience
    while True:
        try:
            return pymysql.connect(host=DB_HOST, port=DB_PORT, user=DB_USER, password=DB_PASSWORD,
                                   database=DB_NAME, connect_timeout=3, autocommit=True)
        except pymysql.MySQLError as error:
            if time.monotonic() >= deadline:
                raise
        time.sleep(0.5)


def wait_for_database():
    """At start, log until the database answers (requests do not wait on this)."""
    while True:
        try:
            connect(patience=0).close()
            log("database %s:%d is up" % (DB_HOST, DB_PORT))
            return
        except pymysql.MySQLError as error:
            log("waiting for the database %s:%d: %s" % (DB_HOST, DB_PORT, error))
            time.sleep(1)


def password_hash(password):
    salt = secrets.token_hex(8)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt.encode(), 100_000).hex()
    return "pbkdf2_sha256$100000$%s$%s" % (salt, digest)


PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>Login app</title></head>
<body>
<h1>Login app</h1>
<p>Served by <strong id="served-by">{host}</strong> to <strong id="client">{client}</strong>.</p>
{message}
<h2>Register</h2>
<form method="post" action="/register">
<label>User name <input name="username" required maxlength="64"></label>
<label>Password <input name="password" type="password" required></label>
<button type="submit">Register</button>
</form>
<h2>Users ({count})</h2>
<ul id="users">
{users}
</ul>
</body></html>
"""


class Handler(BaseHTTPRequestHandler):
    server_version = "login-app/1"

    def log_message(self, format, *args):
        log("%s %s" % (self.client_address[0], format % args))

    def answer(self, status, body, content_type="text/html; charset=utf-8", headers=()):
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("X-Served-By", HOSTNAME)
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def page(self, status=200, message=""):
        try:
            db = connect()
            try:
                with db.cursor() as cursor:
                    cursor.execute("SELECT username, created_at FROM users ORDER BY id")
                    rows = cursor.fetchall()
            finally:
                db.close()
        except pymysql.MySQLError as error:
            return self.answer(503, "database %s not reachable: %s\nserved by %s\n" % (DB_HOST, error, HOSTNAME),
                               "text/plain; charset=utf-8", [("Retry-After", "1")])
        users = "\n".join("<li>%s <small>(since %s)</small></li>" % (html.escape(name), created) for name, created in rows)
        self.answer(status, PAGE.format(host=html.escape(HOSTNAME), client=html.escape(self.client_address[0]),
                                        message=message, count=len(rows), users=users))

    def do_GET(self):
        if self.path.split("?")[0] != "/":
            return self.answer(404, "not found\n", "text/plain; charset=utf-8")
        self.page()

    do_HEAD = do_GET

    def do_POST(self):
        if self.path != "/register":
            return self.answer(404, "not found\n", "text/plain; charset=utf-8")
        length = int(self.headers.get("Content-Length") or 0)
        form = urllib.parse.parse_qs(self.rfile.read(length).decode("utf-8", "replace"))
        username = (form.get("username") or [""])[0].strip()
        password = (form.get("password") or [""])[0]
        if not username or len(username) > 64 or not password:
            return self.page(400, '<p role="alert">A user name (at most 64 characters) and a password are needed.</p>')
        try:
            db = connect()
            try:
                with db.cursor() as cursor:
                    cursor.execute("INSERT INTO users (username, password_hash) VALUES (%s, %s)",
                                   (username, password_hash(password)))
            finally:
                db.close()
        except pymysql.err.IntegrityError:
            return self.page(409, '<p role="alert">%s is already registered.</p>' % html.escape(username))
        except pymysql.MySQLError as error:
            return self.answer(503, "database %s not reachable: %s\nserved by %s\n" % (DB_HOST, error, HOSTNAME),
                               "text/plain; charset=utf-8", [("Retry-After", "1")])
        log("registered %s" % username)
        self.answer(303, "registered\n", "text/plain; charset=utf-8", [("Location", "/")])


def main():
    # As PID 1 of its container, a signal with no handler is ignored: stop on SIGTERM.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(0))
    threading.Thread(target=wait_for_database, daemon=True).start()
    server = ThreadingHTTPServer(("0.0.0.0", PORT), Handler)
    server.daemon_threads = True
    log("listening on :%d" % PORT)
    server.serve_forever()


if __name__ == "__main__":
    main()
