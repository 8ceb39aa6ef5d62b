/// Small Python programs the mesh test runs inside its namespaces.
enum MeshScripts {
    /// A task's servers: TCP 80 and UDP 9999 answer "NAME PEER-ADDRESS"; touches
    /// argv[2] once both are bound.
    static let server = #"""
import socket, sys, threading
name, ready = sys.argv[1], sys.argv[2]
t = socket.socket(); t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); t.bind(("0.0.0.0", 80)); t.listen(512)
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(("0.0.0.0", 9999))
def udp():
    while True:
        d, a = u.recvfrom(512); u.sendto(("%s %s" % (name, a[0])).encode(), a)
threading.Thread(target=udp, daemon=True).start()
open(ready, "w").close()
while True:
    c, a = t.accept(); c.sendall(("%s %s" % (name, a[0])).encode()); c.close()
"""#

    /// argv: tcp|udp HOST PORT COUNT; one line per attempt: the answer,
    /// "refused SECONDS" or "error ...".
    static let client = #"""
import socket, sys, time
mode, host, port, count = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
for i in range(count):
    start = time.monotonic()
    try:
        if mode == "tcp":
            s = socket.create_connection((host, port), timeout=3); data = b""
            while True:
                chunk = s.recv(100)
                if not chunk: break
                data += chunk
            s.close()
        else:
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(3); s.sendto(b"x", (host, port)); data = s.recv(512); s.close()
        print(data.decode().strip())
    except ConnectionRefusedError:
        print("refused %.3f" % (time.monotonic() - start))
    except OSError as e:
        print("error %s" % e)
"""#

    /// argv: NAME…; one line per name: "NAME RCODE ADDRESS,ADDRESS" from
    /// 127.0.0.11 (over TCP for "tcp:NAME").
    static let dnsQuery = #"""
import socket, struct, sys
def query(name):
    tcp = name.startswith("tcp:"); name = name[4:] if tcp else name
    packet = struct.pack(">HHHHHH", 0x4242, 0x0100, 1, 0, 0, 0)
    packet += b"".join(bytes([len(l)]) + l.encode() for l in name.split(".")) + b"\0" + struct.pack(">HH", 1, 1)
    if tcp:
        s = socket.create_connection(("127.0.0.11", 53), timeout=3); s.sendall(struct.pack(">H", len(packet)) + packet); data = b""
        while len(data) < 2 or len(data) < 2 + struct.unpack(">H", data[:2])[0]:
            chunk = s.recv(4096)
            if not chunk: break
            data += chunk
        data = data[2:]; s.close()
    else:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(3); s.sendto(packet, ("127.0.0.11", 53)); data = s.recv(4096)
    rcode, count, i, found = data[3] & 15, struct.unpack(">H", data[6:8])[0], 12, []
    while data[i] != 0: i += data[i] + 1
    i += 5
    for _ in range(count):
        if data[i] & 0xC0 == 0xC0: i += 2
        else:
            while data[i] != 0: i += data[i] + 1
            i += 1
        rtype, _, _, length = struct.unpack(">HHIH", data[i:i + 10]); i += 10
        if rtype == 1: found.append(socket.inet_ntoa(data[i:i + length]))
        i += length
    return rcode, sorted(found)
for name in sys.argv[1:]:
    rcode, found = query(name)
    print(name, rcode, ",".join(found))
"""#

    /// The node's resolver on 127.0.0.1:53: example.test → 192.0.2.7, any
    /// other name NXDOMAIN. Touches argv[1] once bound.
    static let resolver = #"""
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 53)); open(sys.argv[1], "w").close()
while True:
    data, peer = s.recvfrom(4096)
    i, labels = 12, []
    while data[i] != 0: labels.append(data[i + 1:i + 1 + data[i]].decode()); i += data[i] + 1
    question = data[12:i + 5]
    if ".".join(labels) == "example.test":
        reply = data[:2] + b"\x81\x80\x00\x01\x00\x01\x00\x00\x00\x00" + question + b"\xc0\x0c\x00\x01\x00\x01\x00\x00\x00\x3c\x00\x04" + socket.inet_aton("192.0.2.7")
    else:
        reply = data[:2] + b"\x81\x83\x00\x01\x00\x00\x00\x00\x00\x00" + question
    s.sendto(reply, peer)
"""#

    /// One UDP flow to HOST:PORT: a datagram, then (once argv[3] exists) five
    /// more from the same socket; each answer on its own line.
    static let udpFlow = #"""
import os, socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(3)
s.sendto(b"x", (sys.argv[1], int(sys.argv[2]))); print(s.recv(512).decode(), flush=True)
while not os.path.exists(sys.argv[3]): time.sleep(0.01)
for i in range(5):
    s.sendto(b"x", (sys.argv[1], int(sys.argv[2]))); print(s.recv(512).decode(), flush=True)
"""#
}
