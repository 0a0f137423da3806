#!/usr/bin/env python3
"""The Debian package under a real systemd.

A Debian 12 root file system (mmdebstrap, minbase plus systemd and the
package's dependencies; cached under /var/cache/ringhttpd-tests) boots with
systemd as PID 1 in `systemd-nspawn -b --keep-unit --register=no
--private-network`; the test installs ringhttpd_*.deb with apt-get as a user
would, and checks the units for real: from the host, commands run in the
container's namespaces (nsenter) and HTTP goes over sockets made in its
network namespace.

    package_test.py DIR_WITH_DEB

Skips (exit 77) when the machine cannot: not root, no mmdebstrap or
systemd-nspawn, or no Debian mirror to build the root file system from.

What the container does that the test relies on (seen on Debian 12's
systemd 252 under a 6.18 host):
- Without --keep-unit, nspawn asks the host's systemd over D-Bus for a
  scope, and a host without one refuses; --register=no likewise keeps
  machined out. machinectl then cannot reach the container: nsenter into
  its PID 1's namespaces can.
- Until PID 1 has its private socket, systemctl says "Failed to connect to
  bus"; `is-system-running --wait` works only after that.
- `systemctl reboot` inside ends systemd-nspawn with exit status 133, which
  asks the caller to boot the same tree again.
- journald reads a service's stdout stream a moment after the process
  wrote (and maybe exited): a line is waited for, not read at once.
- `apt-get install --no-download ./x.deb` fails ("Pathname to install is
  not absolute"); without it and with every dependency already in the
  root, apt installs the local file without a network.
"""

import ctypes
import concurrent.futures
import glob
import hashlib
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

SKIP = 77
CACHE = "/var/cache/ringhttpd-tests"
BASE_PACKAGES = ["systemd", "systemd-sysv", "logrotate"]
CLONE_NEWNET = 0x40000000

checks_passed = []


class CheckFailed(Exception):
    pass


def check(condition, what, detail=""):
    if not condition:
        raise CheckFailed(what + (": " + detail if detail else ""))


def passed(what):
    checks_passed.append(what)
    print("ok   " + what, flush=True)


def skip(reason):
    print("SKIP: " + reason, flush=True)
    sys.exit(SKIP)


# ---- the container --------------------------------------------------------------


class Container:
    """A booted systemd-nspawn container over a copy of the cached root."""

    def __init__(self, root):
        self.root = root
        self.nspawn = None
        self.leader = None
        self.console = open(os.path.join(os.path.dirname(root), "console.log"), "ab")
        self.net = None

    def boot(self):
        self.nspawn = subprocess.Popen(
            ["systemd-nspawn", "--quiet", "--boot", "--keep-unit", "--register=no",
             "--private-network", "--console=passive", "--machine=ringhttpd-test",
             "--directory", self.root],
            stdin=subprocess.DEVNULL, stdout=self.console, stderr=self.console)
        deadline = time.monotonic() + 30
        while self.leader is None:
            check(self.nspawn.poll() is None, "the container boots",
                  "systemd-nspawn exited " + str(self.nspawn.returncode))
            check(time.monotonic() < deadline, "the container boots", "no PID 1 after 30 s")
            children = read(f"/proc/{self.nspawn.pid}/task/{self.nspawn.pid}/children").split()
            for child in children:
                if read(f"/proc/{child}/comm").strip() == "systemd":
                    self.leader = int(child)
            time.sleep(0.05)
        # Until PID 1 has its private socket, systemctl cannot reach it.
        while True:
            state = self.run(["systemctl", "is-system-running", "--wait"], check_rc=False, timeout=60)
            if state.stdout.strip() in ("running", "degraded"):
                break
            check(time.monotonic() < deadline, "the container's systemd is up",
                  state.stdout + state.stderr)
            time.sleep(0.1)
        # Sockets made by this thread pool's thread live in the container's
        # network namespace (setns changes only the calling thread's).
        self.net = concurrent.futures.ThreadPoolExecutor(max_workers=1, initializer=self._enter_net)

    def _enter_net(self):
        libc = ctypes.CDLL(None, use_errno=True)
        fd = os.open(f"/proc/{self.leader}/ns/net", os.O_RDONLY)
        try:
            if libc.setns(fd, CLONE_NEWNET) != 0:
                raise OSError(ctypes.get_errno(), "setns")
        finally:
            os.close(fd)

    def connect(self, port=80, timeout=10):
        return self.net.submit(socket.create_connection, ("127.0.0.1", port), timeout).result()

    def run(self, argv, check_rc=True, timeout=120, input_text=None):
        result = subprocess.run(["nsenter", "-t", str(self.leader), "-a", "--"] + argv,
                                capture_output=True, text=True, timeout=timeout, input=input_text)
        if check_rc and result.returncode != 0:
            raise CheckFailed(f"{' '.join(argv)} exited {result.returncode}: "
                              f"{result.stdout}{result.stderr}")
        return result

    def sh(self, script, check_rc=True, timeout=120):
        return self.run(["sh", "-c", script], check_rc=check_rc, timeout=timeout)

    def show(self, unit, prop):
        return self.run(["systemctl", "show", "-p", prop, "--value", unit]).stdout.strip()

    def path(self, inside):
        return os.path.join(self.root, inside.lstrip("/"))

    def wait_for_exit(self, timeout=60):
        """Waits for the container to end on its own (poweroff, reboot)."""
        code = self.nspawn.wait(timeout=timeout)
        self._forget()
        return code

    def _forget(self):
        if self.net is not None:
            self.net.shutdown(wait=True)
            self.net = None
        self.leader = None

    def stop(self):
        if self.nspawn is not None and self.nspawn.poll() is None:
            # SIGTERM: nspawn asks the container's systemd for a clean shutdown.
            self.nspawn.send_signal(signal.SIGTERM)
            try:
                self.nspawn.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.nspawn.kill()
                self.nspawn.wait()
        self._forget()


def read(path):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return ""


# ---- HTTP over the container's network ------------------------------------------


def request(box, path, port=80, method="GET", timeout=10):
    """One request on a fresh connection: (status, body bytes)."""
    sock = box.connect(port, timeout)
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    connection.sock = sock
    try:
        connection.request(method, path, headers={"Connection": "close"})
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


class LoopingClient(threading.Thread):
    """Requests one after another, each on a new connection, each with its
    own query string; counts what came back right and what did not."""

    def __init__(self, box, path, expected, pause=0.0):
        super().__init__(daemon=True)
        self.box, self.path, self.expected, self.pause = box, path, expected, pause
        self.stop_now = threading.Event()
        self.served = []
        self.failures = []

    def run(self):
        n = 0
        while not self.stop_now.is_set():
            n += 1
            target = f"{self.path}?n={n}"
            try:
                status, body = request(self.box, target)
                if status == 200 and body == self.expected:
                    self.served.append(target)
                else:
                    self.failures.append(f"{target}: {status}, {len(body)} bytes")
            except (OSError, http.client.HTTPException) as error:
                self.failures.append(f"{target}: {type(error).__name__}: {error}")
            if self.pause:
                time.sleep(self.pause)

    def finish(self):
        self.stop_now.set()
        self.join(timeout=30)
        return self.served, self.failures


# ---- the root file system ------------------------------------------------------


def package_depends(deb):
    field = subprocess.run(["dpkg-deb", "-f", deb, "Depends"], capture_output=True, text=True,
                           check=True).stdout
    return sorted({re.split(r"[\s(:]", alternative.strip())[0]
                   for alternative in field.replace("|", ",").split(",") if alternative.strip()})


def cached_rootfs(packages):
    """A tarball of a Debian 12 minbase root with `packages`, made once."""
    key = hashlib.sha256(" ".join(sorted(packages)).encode()).hexdigest()[:16]
    tarball = os.path.join(CACHE, f"bookworm-{key}.tar")
    if os.path.exists(tarball):
        print(f"root file system: cached {tarball}", flush=True)
        return tarball
    os.makedirs(CACHE, exist_ok=True)
    partial = tarball + ".partial"
    started = time.monotonic()
    made = subprocess.run(["mmdebstrap", "--quiet", "--variant=minbase", "--format=tar",
                           "--include=" + ",".join(sorted(packages)), "bookworm", partial],
                          capture_output=True, text=True)
    if made.returncode != 0:
        if os.path.exists(partial):
            os.unlink(partial)
        last = (made.stderr.strip().splitlines() or ["exit " + str(made.returncode)])[-1]
        # No mirror is a reason to skip; a dependency bookworm lacks is a
        # failure of the package.
        if re.search(r"Failed to fetch|Temporary failure resolving|Could not (connect|resolve)|"
                     r"Network is unreachable|Connection (refused|timed out)", made.stderr):
            skip("mmdebstrap could not reach a Debian mirror: " + last)
        raise CheckFailed("mmdebstrap could not make a Debian 12 root with " +
                          ", ".join(sorted(packages)) + ": " + made.stderr.strip()[-1500:])
    os.rename(partial, tarball)
    print(f"root file system: made {tarball} in {time.monotonic() - started:.0f} s", flush=True)
    return tarball


# ---- the checks -----------------------------------------------------------------


def journal_cursor(box):
    """A point in the journal: its time (the container shares the host's
    clock). Not a --cursor: the server runs as a dynamic user, whose lines
    journald keeps in a file of that user's (user-UID.journal), and
    --after-cursor, seen here, missed every one of them."""
    return f"@{time.time():.6f}"


def journal_since(box, cursor, *args):
    # --sync returns after journald has read what every stream sent before
    # it (it handles the request after its pending stream events).
    box.run(["journalctl", "--sync"], check_rc=False)
    argv = ["journalctl", "--no-pager", "-o", "cat", "--since", cursor] + list(args)
    return box.run(argv, check_rc=False).stdout


def unit_warnings(box, cursor):
    """Lines at warning or above about the units or from the server."""
    return journal_since(box, cursor, "-p", "warning", "-u", "ringhttpd.service",
                         "-u", "ringhttpd.socket", "-u", "ringhttpd-https.socket").strip()


def wait_until(what, predicate, timeout=20, every=0.1):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise CheckFailed(what + f" (waited {timeout} s)")
        time.sleep(every)


def access_log_lines(box):
    lines = []
    for name in sorted(glob.glob(box.path("/var/log/private/ringhttpd/access.log*"))):
        if name.endswith(".gz"):
            lines += subprocess.run(["zcat", name], capture_output=True, text=True).stdout.splitlines()
        else:
            lines += read(name).splitlines()
    return lines


def write_file(box, inside, data):
    """As a deploy does: a new file renamed over the old one."""
    path = box.path(inside)
    with open(path + ".new", "wb") as f:
        f.write(data)
    os.chmod(path + ".new", 0o644)
    os.rename(path + ".new", path)


def check_lintian(deb):
    if shutil.which("lintian") is None:
        print("lintian: not installed, not checked", flush=True)
        return
    # Every tag, down to pedantic and informational ones; overridden tags
    # (systemd/deb/lintian-overrides, each with its reason) are not shown.
    result = subprocess.run(["lintian", "--display-info", "--pedantic", "--display-experimental", deb],
                            capture_output=True, text=True, timeout=300)
    tags = [line for line in result.stdout.splitlines() if re.match(r"^[EWIPX]: ", line)]
    check(result.returncode == 0 and not tags, "lintian finds nothing", "\n".join(tags) or result.stderr)
    passed("lintian --pedantic --display-info: no tag but the overridden one")


def install(box, deb):
    inside = "/root/" + os.path.basename(deb)
    shutil.copy(deb, box.path(inside))
    result = box.run(["apt-get", "install", "-y", inside], check_rc=False,
                     timeout=300)
    check(result.returncode == 0, "apt-get install ./ringhttpd_*.deb", result.stdout + result.stderr)
    for unit in ("ringhttpd.service", "ringhttpd.socket", "ringhttpd-https.socket"):
        enabled = box.run(["systemctl", "is-enabled", unit], check_rc=False).stdout.strip()
        active = box.run(["systemctl", "is-active", unit], check_rc=False).stdout.strip()
        check(enabled == "disabled" and active == "inactive",
              "the package enables and starts nothing", f"{unit}: {enabled}, {active}")
    check(os.path.isdir(box.path("/srv/origin")), "the package makes /srv/origin")
    check(os.path.isfile(box.path("/usr/share/man/man8/ringhttpd.8.gz")), "the man page is installed")
    passed("apt-get install ./ringhttpd_*.deb: installed, nothing enabled or started, /srv/origin made")


def configure(box, options):
    with open(box.path("/etc/default/ringhttpd"), "w") as f:
        f.write("RINGHTTPD_ROOT=/srv/origin\nRINGHTTPD_LISTEN=0.0.0.0:80\n"
                f"RINGHTTPD_OPTIONS={options}\n")


def check_start_and_status(box, cursor):
    box.run(["systemctl", "start", "ringhttpd.service"])
    # Type=notify: `start` returns once READY=1 came, and READY=1 comes with
    # the first STATUS= (src/service.cc) after every worker listens.
    check(box.show("ringhttpd.service", "Type") == "notify", "Type=notify")
    state = box.show("ringhttpd.service", "ActiveState") + "/" + box.show("ringhttpd.service", "SubState")
    check(state == "active/running", "active right after start", state)
    status_text = box.show("ringhttpd.service", "StatusText")
    check(status_text != "", "READY=1 came (with its STATUS) before start returned", repr(status_text))
    status, body = request(box, "/index.html")
    check(status == 200 and body == INDEX, "served at once after start", str(status))
    passed("start: active only after READY=1 (STATUS '" + status_text + "'), serving at once")
    for n in range(20):
        status, _ = request(box, f"/index.html?warm={n}")
        check(status == 200, "served under the shipped hardening", str(status))

    def live_status():
        text = box.run(["systemctl", "status", "--no-pager", "ringhttpd.service"], check_rc=False).stdout
        match = re.search(r'Status: "(\d+) connections, (\d+) requests served"', text)
        return match and int(match.group(2)) >= 21 and match.group(0)

    # STATUS= is sent every 5 s (and at READY).
    line = wait_until("systemctl status shows the live STATUS line", live_status, timeout=15)
    passed(f"systemctl status shows the live STATUS line ({line})")
    warnings = unit_warnings(box, cursor)
    check(warnings == "", "no journal line at warning or above", warnings)
    passed("21 requests served under the shipped hardening, no journal line at warning or above")


def check_reload(box):
    pid = box.show("ringhttpd.service", "MainPID")
    write_file(box, "/srv/origin/changing.txt", b"version one\n")
    # Eight connections each: every worker (each has its own cache) sees some.
    for _ in range(8):
        check(request(box, "/changing.txt") == (200, b"version one\n"), "the first version is served")
    write_file(box, "/srv/origin/changing.txt", b"version two, longer\n")
    for _ in range(8):
        check(request(box, "/changing.txt") == (200, b"version one\n"),
              "--cache-valid 1h keeps the cached version")
    box.run(["systemctl", "reload", "ringhttpd.service"])
    wait_until("systemctl reload serves the changed file",
               lambda: all(request(box, "/changing.txt") == (200, b"version two, longer\n")
                           for _ in range(8)), timeout=5)
    check(box.show("ringhttpd.service", "MainPID") == pid, "reload keeps the PID")
    passed(f"systemctl reload: a file changed under --cache-valid 1h served fresh, same PID {pid}")


def check_log_rotation(box):
    client = LoopingClient(box, "/index.html", INDEX, pause=0.002)
    client.start()
    time.sleep(0.5)
    box.run(["systemctl", "kill", "--kill-whom=main", "--signal=SIGUSR1", "ringhttpd.service"])
    time.sleep(0.5)
    box.run(["logrotate", "--force", "/etc/logrotate.d/ringhttpd"])
    # Entries buffered before the reopen still go to the renamed file, within
    # --log-flush plus a tick (at most 1 s): the next rotation, which
    # compresses that file, waits longer than that, as a daily one does.
    time.sleep(2)
    box.run(["logrotate", "--force", "/etc/logrotate.d/ringhttpd"])  # a .1 compressed to .2.gz
    time.sleep(0.5)
    served, failures = client.finish()
    check(not failures, "no request fails during USR1 and logrotate", "; ".join(failures[:5]))
    check(len(served) > 50, "requests went on during rotation", str(len(served)))

    def logged():
        lines = access_log_lines(box)
        counts = {}
        for line in lines:
            match = re.search(r'"GET (/index\.html\?n=\d+) ', line)
            if match:
                counts[match.group(1)] = counts.get(match.group(1), 0) + 1
        return counts if sum(counts.values()) >= len(served) else None

    counts = wait_until("every request logged", logged, timeout=5)
    missing = [target for target in served if counts.get(target, 0) == 0]
    doubled = [target for target, count in counts.items() if count > 1]
    files = sorted(os.path.basename(name)
                   for name in glob.glob(box.path("/var/log/private/ringhttpd/access.log*")))
    check(not missing and not doubled and len(counts) == len(served),
          "USR1 and logrotate lose and double no access-log line",
          f"{len(missing)} missing, {len(doubled)} doubled of {len(served)}, files {files}")
    check(len(files) >= 3, "logrotate rotated twice", str(files))
    passed(f"USR1 and two forced logrotates: {len(served)} requests, each logged once across {files}")


def check_stop_during_download(box, big):
    cursor = journal_cursor(box)
    sock = box.connect()
    sock.sendall(b"GET /big.bin HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
    received = bytearray(sock.recv(65536))  # the download is under way
    stopping = subprocess.Popen(["nsenter", "-t", str(box.leader), "-a", "--",
                                 "systemctl", "stop", "ringhttpd.service"],
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    # STOPPING=1 comes with STATUS=stopping (src/service.cc): seen while the
    # download is still being read.
    seen_stopping = wait_until("STOPPING=1 during stop",
                               lambda: box.show("ringhttpd.service", "StatusText") == "stopping"
                               and "stopping",
                               timeout=10, every=0.02)
    check(stopping.poll() is None, "stop waits for the in-flight download")
    sock.settimeout(30)
    while True:
        chunk = sock.recv(1 << 20)
        if not chunk:
            break
        received += chunk
        time.sleep(0.001)  # a slow reader: the stop must wait for it
    sock.close()
    head, _, body = bytes(received).partition(b"\r\n\r\n")
    check(head.startswith(b"HTTP/1.1 200") and body == big, "the in-flight download completes byte-exact",
          f"{len(body)} of {len(big)} bytes, head {head[:40]!r}")
    output, _ = stopping.communicate(timeout=60)
    check(stopping.returncode == 0, "systemctl stop succeeds", output)
    result = box.show("ringhttpd.service", "Result")
    status = box.show("ringhttpd.service", "ExecMainStatus")
    check(result == "success" and status == "0", "the server exits 0", f"Result={result} status={status}")
    warnings = unit_warnings(box, cursor)
    check(warnings == "", "no warning from a clean stop", warnings)
    passed(f"stop: STOPPING=1 (STATUS '{seen_stopping}') while a {len(big) >> 20} MiB download was "
           "in flight; it completed byte-exact; exit 0")


def check_bad_root(box):
    configure(box, "--cache-valid 1h")
    with open(box.path("/etc/default/ringhttpd"), "a") as f:
        f.write("RINGHTTPD_ROOT=/srv/missing\n")
    cursor = journal_cursor(box)
    result = box.run(["systemctl", "start", "ringhttpd.service"], check_rc=False)
    check(result.returncode != 0, "start with a bad root fails")
    pre = box.show("ringhttpd.service", "ExecStartPre")
    check(re.search(r"code=exited ; status=2\b", pre) is not None, "it fails at ExecStartPre with exit 2", pre)
    check(box.show("ringhttpd.service", "ExecMainPID") in ("0", ""),
          "the server itself never starts", box.show("ringhttpd.service", "ExecMainPID"))
    # A configuration error is not retried (Restart=on-abnormal): after
    # more than RestartSec the unit is still failed, with no restart.
    time.sleep(2.5)
    state = box.show("ringhttpd.service", "ActiveState")
    restarts = box.show("ringhttpd.service", "NRestarts")
    check(state == "failed" and restarts == "0", "a bad configuration is not retried",
          f"{state}, NRestarts={restarts}")
    wanted = "ringhttpd: --root: '/srv/missing': No such file or directory"
    errors = journal_since(box, cursor, "-u", "ringhttpd.service", "-p", "err")
    check(wanted in errors, "the bad root's line, at priority err", errors)
    server_lines = journal_since(box, cursor, "-u", "ringhttpd.service", "-t", "ringhttpd").splitlines()
    check(server_lines == [wanted], "the server says one line", repr(server_lines))
    box.run(["systemctl", "reset-failed", "ringhttpd.service"], check_rc=False)
    configure(box, "--cache-valid 1h")
    passed("a bad root fails at ExecStartPre (exit 2) with its one line at priority err, not retried")


def check_socket_activation(box):
    box.run(["systemctl", "enable", "--now", "ringhttpd.socket"])
    check(box.show("ringhttpd.service", "ActiveState") == "inactive", "the service waits for a connection")
    status, body = request(box, "/index.html")
    check(status == 200 and body == INDEX, "the first connection is served", str(status))
    check(box.show("ringhttpd.service", "ActiveState") == "active", "the connection started the service")
    passed("socket activation: the first connection starts the service and is served")


def check_restarts(box):
    client = LoopingClient(box, "/index.html", INDEX)
    client.start()
    pids = set()
    for _ in range(8):
        time.sleep(0.3)
        box.run(["systemctl", "restart", "ringhttpd.service"])
        pids.add(box.show("ringhttpd.service", "MainPID"))
    time.sleep(0.3)
    served, failures = client.finish()
    check(len(pids) == 8, "8 restarts, 8 processes", str(pids))
    check(not failures, "a client looping through 8 restarts loses no request",
          f"{len(failures)} of {len(served) + len(failures)}: " + "; ".join(failures[:5]))
    check(len(served) > 100, "the client kept asking", str(len(served)))
    state = box.show("ringhttpd.socket", "ActiveState")
    check(state == "active", "the socket stays up", state)
    passed(f"8 restarts under socket activation: {len(served)} requests, none lost")


def check_crash_loop(box):
    limit = box.show("ringhttpd.service", "StartLimitIntervalUSec")
    check(limit in ("0", "infinity"), "no start limit on the service", limit)
    # Eight crashes in a row: more starts than systemd's default limit (5
    # in 10 s) even at 2 s a cycle, which would fail ringhttpd.socket with
    # the service.
    restarts_before = int(box.show("ringhttpd.service", "NRestarts") or 0)
    for crash in range(8):
        pid = wait_until("the service runs again after a crash",
                         lambda: box.show("ringhttpd.service", "ActiveState") == "active"
                         and box.show("ringhttpd.service", "MainPID"), timeout=10)
        box.sh(f"kill -KILL {pid}")
        wait_until("the crash is seen", lambda: box.show("ringhttpd.service", "MainPID") != pid, timeout=10)
    state = box.show("ringhttpd.socket", "ActiveState")
    check(state == "active", "a crash loop leaves the socket open", state)
    status, body = request(box, "/index.html", timeout=15)
    check(status == 200 and body == INDEX, "served after the crash loop", str(status))
    restarts = int(box.show("ringhttpd.service", "NRestarts") or 0) - restarts_before
    check(restarts >= 7, "systemd restarted the crashed service", f"{restarts} restarts")
    passed(f"8 crashes in a row (SIGKILL): {restarts} restarts, the socket stays open, "
           "the next connection is served")


def check_watchdog(box):
    dropin = box.path("/etc/systemd/system/ringhttpd.service.d")
    os.makedirs(dropin, exist_ok=True)
    with open(os.path.join(dropin, "watchdog.conf"), "w") as f:
        f.write("[Service]\nWatchdogSec=3s\n")
    box.run(["systemctl", "daemon-reload"])
    box.run(["systemctl", "restart", "ringhttpd.service"])
    pid = box.show("ringhttpd.service", "MainPID")
    check(box.show("ringhttpd.service", "WatchdogUSec") == "3s", "the drop-in's WatchdogSec=3s")
    time.sleep(4)  # alive past one watchdog period: the pings come
    check(box.show("ringhttpd.service", "MainPID") == pid, "a live server is not restarted")
    box.sh(f"kill -STOP {pid}")
    wait_until("the watchdog restarts a stopped process",
               lambda: box.show("ringhttpd.service", "MainPID") not in (pid, "0")
               and box.show("ringhttpd.service", "ActiveState") == "active", timeout=40, every=0.25)
    status, body = request(box, "/index.html")
    check(status == 200 and body == INDEX, "served after the watchdog's restart", str(status))
    os.unlink(os.path.join(dropin, "watchdog.conf"))
    box.run(["systemctl", "daemon-reload"])
    box.run(["systemctl", "restart", "ringhttpd.service"])
    passed(f"watchdog: a SIGSTOPped server (PID {pid}) was restarted within WatchdogSec and serves")


def check_reboot(box):
    box.run(["systemctl", "enable", "ringhttpd.service", "ringhttpd.socket"])
    box.run(["systemctl", "reboot"], check_rc=False)
    code = box.wait_for_exit(timeout=60)
    check(code == 133, "systemctl reboot ends the container for a boot again (nspawn exit 133)", str(code))
    box.boot()
    for unit in ("ringhttpd.socket", "ringhttpd.service"):
        state = box.show(unit, "ActiveState")
        check(state == "active", "the units come back after reboot", f"{unit}: {state}")
    status, body = request(box, "/index.html")
    check(status == 200 and body == INDEX, "served after reboot", str(status))
    passed("enable + reboot: ringhttpd.socket and ringhttpd.service come back and serve")


def check_upgrade(box, deb):
    pid = box.show("ringhttpd.service", "MainPID")
    client = LoopingClient(box, "/index.html", INDEX)
    client.start()
    time.sleep(0.3)
    inside = "/root/" + os.path.basename(deb)
    box.run(["apt-get", "install", "-y", "--reinstall", inside], timeout=300)
    time.sleep(0.3)
    served, failures = client.finish()
    check(not failures, "an upgrade loses no request", "; ".join(failures[:5]))
    new_pid = box.show("ringhttpd.service", "MainPID")
    check(box.show("ringhttpd.service", "ActiveState") == "active" and new_pid not in (pid, "0"),
          "an upgrade restarts the running service", f"PID {pid} -> {new_pid}")
    for unit in ("ringhttpd.service", "ringhttpd.socket"):
        enabled = box.run(["systemctl", "is-enabled", unit], check_rc=False).stdout.strip()
        check(enabled == "enabled", "an upgrade keeps what the administrator enabled", f"{unit}: {enabled}")
    passed(f"upgrade (apt-get install --reinstall): service restarted (PID {pid} -> {new_pid}), "
           f"still enabled, {len(served)} requests meanwhile, none lost")


def check_security(box):
    out = box.run(["systemd-analyze", "security", "--no-pager", "ringhttpd.service"], check_rc=False).stdout
    match = re.search(r"Overall exposure level for ringhttpd\.service: (\d+\.\d+)", out)
    check(match is not None, "systemd-analyze security answers", out[-400:])
    check(float(match.group(1)) <= 2.0, "systemd-analyze security (online) at most 2.0", match.group(1))
    passed(f"systemd-analyze security, online: exposure {match.group(1)}")


def check_remove_and_purge(box):
    box.run(["apt-get", "remove", "-y", "ringhttpd"], timeout=120)
    for unit in ("ringhttpd.service", "ringhttpd.socket"):
        state = box.run(["systemctl", "is-active", unit], check_rc=False).stdout.strip()
        check(state == "inactive", "remove stops the units", f"{unit}: {state}")
    check(os.path.exists(box.path("/etc/default/ringhttpd")), "remove keeps /etc/default/ringhttpd")
    check(not os.path.exists(box.path("/usr/bin/ringhttpd")), "remove takes the binary")
    box.run(["apt-get", "purge", "-y", "ringhttpd"], timeout=120)
    for gone in ("/etc/default/ringhttpd", "/etc/logrotate.d/ringhttpd", "/var/log/private/ringhttpd",
                 "/etc/systemd/system/sockets.target.wants/ringhttpd.socket",
                 "/etc/systemd/system/multi-user.target.wants/ringhttpd.service"):
        check(not os.path.lexists(box.path(gone)), "purge removes the configuration", gone)
    check(os.path.isdir(box.path("/srv/origin")), "purge keeps a docroot that holds files")
    passed("apt-get remove stops the units and keeps the configuration; purge removes it")


WORK_PREFIX = "ringhttpd-package-"


def sweep_leftovers():
    """A run killed outright (SIGKILL) leaves its container and its tree."""
    for entry in os.listdir("/proc"):
        if entry.isdigit() and "--machine=ringhttpd-test" in read(f"/proc/{entry}/cmdline").split("\0"):
            os.kill(int(entry), signal.SIGTERM)
            for _ in range(300):
                if not os.path.exists(f"/proc/{entry}"):
                    break
                time.sleep(0.1)
    for stale in glob.glob(os.path.join("/var/tmp", WORK_PREFIX + "*")):
        shutil.rmtree(stale, ignore_errors=True)


INDEX = b"<!doctype html><title>ringhttpd</title><p>served from /srv/origin</p>\n"


def main():
    if len(sys.argv) != 2:
        print(__doc__)
        return 2
    debs = sorted(glob.glob(os.path.join(sys.argv[1], "ringhttpd_*.deb")), key=os.path.getmtime)
    if not debs:
        print(f"no ringhttpd_*.deb in {sys.argv[1]}: run `make deb` first", flush=True)
        return 1
    deb = debs[-1]
    if os.geteuid() != 0:
        skip("systemd-nspawn needs root")
    for tool in ("mmdebstrap", "systemd-nspawn", "nsenter"):
        if shutil.which(tool) is None:
            skip(f"{tool} is not installed")
    print(f"package: {deb}", flush=True)
    # meson's timeout sends SIGTERM: the finally below still tears down.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("package_test.py: terminated"))
    sweep_leftovers()
    try:
        check_lintian(deb)
        tarball = cached_rootfs(BASE_PACKAGES + package_depends(deb))
    except CheckFailed as failure:
        print(f"FAIL {failure}", flush=True)
        return 1
    work = tempfile.mkdtemp(prefix=WORK_PREFIX, dir="/var/tmp")
    box = Container(os.path.join(work, "root"))
    started = time.monotonic()
    try:
        os.makedirs(box.root)
        subprocess.run(["tar", "-C", box.root, "-xf", tarball], check=True)
        box.boot()
        install(box, deb)
        write_file(box, "/srv/origin/index.html", INDEX)
        big = os.urandom(48 << 20)
        write_file(box, "/srv/origin/big.bin", big)
        configure(box, "--cache-valid 1h --log-flush 100ms --shutdown-timeout 25s")
        cursor = journal_cursor(box)
        check_start_and_status(box, cursor)
        check_reload(box)
        check_log_rotation(box)
        check_stop_during_download(box, big)
        check_bad_root(box)
        check_socket_activation(box)
        check_restarts(box)
        check_crash_loop(box)
        check_watchdog(box)
        check_reboot(box)
        check_upgrade(box, deb)
        check_security(box)
        check_remove_and_purge(box)
    except Exception as failure:  # a timeout or a refused socket as much as a failed check
        what = str(failure) if isinstance(failure, CheckFailed) else f"{type(failure).__name__}: {failure}"
        print(f"FAIL {what}", flush=True)
        if box.leader is not None:
            print(box.run(["journalctl", "--no-pager", "-n", "60", "-u", "ringhttpd.service",
                           "-u", "ringhttpd.socket"], check_rc=False).stdout, flush=True)
        print(f"{len(checks_passed)} passed, 1 failed", flush=True)
        return 1
    finally:
        box.stop()
        shutil.rmtree(work, ignore_errors=True)
    print(f"{len(checks_passed)} passed, 0 failed ({time.monotonic() - started:.0f} s)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
