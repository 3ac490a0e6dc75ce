#!/usr/bin/env python3
"""Hold many idle TCP connections to 127.0.0.1:PORT (the e2e flood tests).

usage: hold_connections.py PORT COUNT STATUS_FILE
Opens up to COUNT connections that send nothing, writes "held N" to STATUS_FILE, and
keeps them open until STATUS_FILE is removed (checked every 50 ms); then closes them all
and exits. A connection the server closes stays counted: the point is the load, not who
survives it.
"""
import os
import socket
import sys
import time

port, count, status = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
socks = []
for _ in range(count):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(2)
    try:
        s.connect(("127.0.0.1", port))
    except OSError:
        s.close()
        break
    socks.append(s)
tmp = status + ".tmp"
with open(tmp, "w") as f:
    f.write("held %d\n" % len(socks))
os.rename(tmp, status)
while os.path.exists(status):
    time.sleep(0.05)
for s in socks:
    s.close()
