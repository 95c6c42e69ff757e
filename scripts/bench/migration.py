#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Migration benchmark: pvhc against QEMU, measured in the same run.

For each RAM size, over loopback TCP:
  pvhc idle   live (pre-copy) migration of an idle guest, via the monitor
  pvhc stop   stop-and-copy migration of the same idle guest
  pvhc dirty  live migration of a guest rewriting 32 MiB continuously
  qemu idle   QEMU's own migration of an idle TCG guest (SeaBIOS, no boot
              disk) with max-bandwidth unlimited: the anchor
Each figure is the median of RUNS runs (default 3). Prints a table and writes
build/bench/migration.json. Targets: pvhc idle 1 GiB total time at least 2x
faster than QEMU's, idle stop-and-copy downtime at most 50 ms.
"""
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
O = os.environ.get("O", os.path.join(TOP, "build", "out"))
PVHC = os.path.join(O, "pvhc")
GUEST = os.path.join(O, "guest", "migbench.64.elf")
RUNS = int(os.environ.get("RUNS", "3"))
SIZES_MB = [int(x) for x in os.environ.get("SIZES_MB", "64 256 1024").split()]
BASE_PORT = 12000 + os.getpid() % 800 * 20


class Qmp:
    """A line-oriented JSON client for QEMU's QMP and pvhc's monitor alike."""

    def __init__(self, path, timeout=20):
        deadline = time.time() + timeout
        while True:
            try:
                self.sock = socket.socket(socket.AF_UNIX)
                self.sock.connect(path)
                break
            except OSError:
                self.sock.close()
                if time.time() > deadline:
                    raise
                time.sleep(0.01)
        self.f = self.sock.makefile("rw")
        self.f.readline()  # greeting
        self.cmd("qmp_capabilities")

    def cmd(self, name, **args):
        msg = {"execute": name}
        if args:
            msg["arguments"] = args
        self.f.write(json.dumps(msg) + "\n")
        self.f.flush()
        while True:
            line = self.f.readline()
            if not line:
                raise RuntimeError("monitor closed")
            reply = json.loads(line)
            if "return" in reply or "error" in reply:  # skip QMP events
                return reply

    def close(self):
        self.sock.close()


def wait_migration(q):
    while True:
        r = q.cmd("query-migrate").get("return", {})
        status = r.get("status")
        if status in ("completed", "failed", "cancelled"):
            return r
        time.sleep(0.002)


def pvhc_once(mb, mode, live, port, tmp):
    sock = os.path.join(tmp, "mon.sock")
    append = "mode=dirty mb=32" if mode == "dirty" else "mode=idle"
    dst = subprocess.Popen([PVHC, "run", "--incoming", "tcp:127.0.0.1:%d" % port,
                            "--mem", "%dM" % mb, "--host", "amd", "--timeout", "60"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    src = subprocess.Popen([PVHC, "run", "--mem", "%dM" % mb, "--monitor", "unix:" + sock,
                            "--append", append, "--timeout", "60", GUEST],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    src.stdout.readline()  # the runtime's banner
    src.stdout.readline()  # "ready"
    time.sleep(0.2 if mode == "dirty" else 0.05)
    q = Qmp(sock)
    q.cmd("migrate", uri="tcp:127.0.0.1:%d" % port, live=live)
    r = wait_migration(q)
    q.close()
    src.wait(30)
    dst.kill()
    dst.wait()
    if r.get("status") != "completed":
        raise RuntimeError("pvhc migration failed: %s" % r)
    return r["total-time"], r["downtime"], r["ram"]["transferred"]


def qemu_once(mb, port, tmp):
    qemu = shutil.which("qemu-system-x86_64")
    common = [qemu, "-accel", "tcg", "-m", "%dM" % mb, "-display", "none", "-nodefaults",
              "-serial", "none", "-monitor", "none"]
    dsock, ssock = os.path.join(tmp, "qd.sock"), os.path.join(tmp, "qs.sock")
    dst = subprocess.Popen(common + ["-qmp", "unix:%s,server=on,wait=off" % dsock,
                                     "-incoming", "tcp:127.0.0.1:%d" % port],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    src = subprocess.Popen(common + ["-qmp", "unix:%s,server=on,wait=off" % ssock],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        qd = Qmp(dsock)
        q = Qmp(ssock)
        time.sleep(0.3)  # SeaBIOS finds no boot device and idles
        q.cmd("migrate-set-parameters", **{"max-bandwidth": 1 << 40, "downtime-limit": 300})
        q.cmd("migrate", uri="tcp:127.0.0.1:%d" % port)
        r = wait_migration(q)
        q.close()
        qd.close()
    finally:
        for p in (src, dst):
            p.kill()
            p.wait()
    if r.get("status") != "completed":
        raise RuntimeError("qemu migration failed: %s" % r)
    return float(r["total-time"]), float(r["downtime"]), r["ram"]["transferred"]


def median3(samples):
    return tuple(statistics.median(s[i] for s in samples) for i in range(3))


def main():
    results = []
    port = BASE_PORT
    have_qemu = shutil.which("qemu-system-x86_64") is not None
    with tempfile.TemporaryDirectory() as tmp:
        for mb in SIZES_MB:
            row = {"ram_mib": mb}
            for name, mode, live in (("pvhc_idle_live", "idle", True),
                                     ("pvhc_idle_stop", "idle", False),
                                     ("pvhc_dirty_live", "dirty", True)):
                samples = []
                for _ in range(RUNS):
                    port += 1
                    samples.append(pvhc_once(mb, mode, live, port, tmp))
                t, d, b = median3(samples)
                row[name] = {"total_ms": round(t, 1), "downtime_ms": round(d, 1), "bytes": int(b)}
            if have_qemu:
                samples = []
                for _ in range(RUNS):
                    port += 1
                    samples.append(qemu_once(mb, port, tmp))
                t, d, b = median3(samples)
                row["qemu_idle"] = {"total_ms": round(t, 1), "downtime_ms": round(d, 1),
                                    "bytes": int(b)}
                row["speedup_idle_total"] = round(t / max(row["pvhc_idle_live"]["total_ms"], 0.1), 1)
            results.append(row)

    hdr = "%-8s %-22s %-22s %-22s %-22s %8s" % ("RAM", "pvhc idle live", "pvhc idle stop",
                                             "pvhc dirty live", "qemu idle", "speedup")
    print(hdr)
    print("%-8s %-22s %-22s %-22s %-22s %8s" % ("", "total/downtime ms", "total/downtime ms",
                                             "total/downtime ms", "total/downtime ms", "idle"))
    for r in results:
        def cell(k):
            c = r.get(k)
            return "n/a" if not c else "%.1f / %.1f" % (c["total_ms"], c["downtime_ms"])
        print("%-8s %-22s %-22s %-22s %-22s %8s" % ("%d MiB" % r["ram_mib"], cell("pvhc_idle_live"),
                                                 cell("pvhc_idle_stop"), cell("pvhc_dirty_live"),
                                                 cell("qemu_idle"),
                                                 "%sx" % r.get("speedup_idle_total", "n/a")))
    out = os.path.join(TOP, "build", "bench", "migration.json")
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out, "w") as f:
        json.dump({"runs": RUNS, "results": results}, f, indent=2)
    print("targets: idle 1 GiB total >= 2x faster than QEMU; idle stop-and-copy downtime <= 50 ms")
    print("JSON: %s" % out)


if __name__ == "__main__":
    sys.exit(main())
