#!/usr/bin/env python3
"""Time from spawn to the first HTTP 200 on a readiness URL, polled every ~1 ms.

  ready.py PORT PATH -- COMMAND [ARGS...]

Spawns COMMAND (environment inherited), polls http://127.0.0.1:PORT/PATH with a raw socket
(no process spawn per poll), prints the elapsed milliseconds, then stops the child with SIGTERM
(SIGKILL after 10 s) and reaps it.
"""
import signal
import socket
import subprocess
import sys
import time


def probe(port, path):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
            s.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode())
            head = s.recv(64)
            return head.startswith(b"HTTP/1.1 200") or head.startswith(b"HTTP/1.0 200")
    except OSError:
        return False


def main():
    port, path = int(sys.argv[1]), sys.argv[2]
    cmd = sys.argv[sys.argv.index("--") + 1:]
    child = None

    def stop(*_):
        raise SystemExit(143)

    signal.signal(signal.SIGTERM, stop)
    try:
        t0 = time.perf_counter()
        child = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = t0 + 30
        while True:
            if probe(port, path):
                elapsed = (time.perf_counter() - t0) * 1000
                break
            if child.poll() is not None:
                sys.exit(f"ready.py: {cmd[0]} exited with {child.returncode} before ready")
            if time.perf_counter() > deadline:
                sys.exit(f"ready.py: {cmd[0]} not ready after 30 s")
            time.sleep(0.001)
        print(f"{elapsed:.1f}")
    finally:
        if child is not None and child.poll() is None:
            child.terminate()
            try:
                child.wait(10)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()


if __name__ == "__main__":
    main()
