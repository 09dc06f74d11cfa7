#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz harnesses (tests/fuzz/corpus/*).

The seeds are small valid inputs of each format, so that fuzzing starts
from the protocol rather than from random bytes. The other files of a
corpus are inputs fuzzing found new coverage with, merged in with
`fuzz_<name> -merge=1 tests/fuzz/corpus/<name> build-fuzz/fuzz/<name>/new`,
and inputs that once crashed a harness; neither is rewritten here.
Usage: tests/fuzz/make_seeds.py   (rewrites only the seed-*.bin files)
"""
import math
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))


def varint(n):
    out = bytearray()
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def bstr(s):
    if isinstance(s, str):
        s = s.encode()
    return varint(len(s)) + s


def u8(n):
    return struct.pack("<B", n)


def u16(n):
    return struct.pack("<H", n)


def u32(n):
    return struct.pack("<I", n)


def u64(n):
    return struct.pack("<Q", n)


def fnv1a_32(s):
    h = 2166136261
    for c in s.encode():
        h ^= c
        h = (h * 16777619) & 0xFFFFFFFF
    return h


def write(corpus, name, data):
    d = os.path.join(HERE, "corpus", corpus)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "seed-" + name + ".bin"), "wb") as f:
        f.write(data)


# --- resp: commands and replies -------------------------------------------
def resp_command(*args):
    out = b"*%d\r\n" % len(args)
    for a in args:
        a = a.encode() if isinstance(a, str) else a
        out += b"$%d\r\n%s\r\n" % (len(a), a)
    return out


RESP = {
    "set": resp_command("SET", "key", "value", "EX", "10"),
    "pipeline": resp_command("PING") + resp_command("GET", "k")
    + resp_command("MSET", "a", "1", "b", "2"),
    "inline": b"SET \"a\\x41\\n\" 'b c' d\r\nPING\r\n\r\n",
    "inline-lf": b"GET k\n",
    "binary": resp_command("SET", b"\x00\xff\r\n", b"\r\n\x00"),
    "empty-array": b"*0\r\n*-1\r\n",
    "reply-map": b"%2\r\n+ok\r\n:1\r\n$3\r\nfoo\r\n*2\r\n,1.5\r\n#t\r\n",
    "reply-push": b">3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nhi\r\n",
    "reply-misc": b"*6\r\n_\r\n(123456789012345678901234567890\r\n"
    b"=7\r\ntxt:abc\r\n!3\r\nERR\r\n~2\r\n:1\r\n:2\r\n$-1\r\n",
    "reply-error": b"-ERR unknown command\r\n",
    "reply-nested": b"*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n:1\r\n",
}

# --- sync: the body of a server.SyncBatch ---------------------------------
EPOCH_MS = 1_800_000_000_000  # the simulator's wall clock at its start
ORIGIN = 0x1234_5678_9ABC_DEF0


def hlc(ms, logical=0):
    return (ms << 16) | logical


def entry(key, value=b"", version=hlc(EPOCH_MS - 1000), deleted=False,
          counter=None, expiry=None, origin=ORIGIN, pending=None):
    """pending: a write (entry() of no key, without its key's length
    byte), maybe followed by the shown write's own expiry."""
    flags = ((1 if deleted else 0) | (2 if counter else 0)
             | (4 if expiry else 0) | (16 if pending else 0))
    out = bstr(key) + bstr(value) + u64(version) + u64(origin) + u8(flags)
    if counter:
        out += bstr(counter)
    if expiry:
        out += u64(expiry[0]) + u64(expiry[1]) + u64(ORIGIN)
    if pending:
        out += bstr(pending)
    return out


def counter(base, parts):
    out = u64(base & 0xFFFFFFFFFFFFFFFF) + varint(len(parts))
    for origin, up, down in parts:
        out += u64(origin) + varint(up) + varint(down)
    return out


def ldouble(x):
    """A long double as kv::Counter encodes it: sign byte, i32 exponent, u64
    mantissa with its top bit set (x must be exact as a Python float)."""
    if x == 0:
        return u8(0)
    m, e = math.frexp(abs(x))
    return u8(2 if x < 0 else 1) + struct.pack("<i", e) + u64(int(m * 2**64))


def float_counter(base, parts, float_base=True):
    """The float form: u64 0 and varint 2^64-1 as its mark, the base's kind
    and value, then parts (origin, up, down, fup, fdown)."""
    out = u64(0) + varint(2**64 - 1)
    out += u8(1) + ldouble(base) if float_base else u8(0) + u64(base)
    out += varint(len(parts))
    for origin, up, down, fup, fdown in parts:
        out += u64(origin) + varint(up) + varint(down) + ldouble(fup)
        out += ldouble(fdown)
    return out


def sync_batch(entries=(), repair=b"", repaired=0, server="10.0.0.2:7000",
               sender=0, floor=(0, 0), messages=(), link=None):
    """link: (origin, link_seq, claims, bridges), the stream's fields;
    claims flat (source, from, to, since)..., bridges (server, source,
    from, link_from) each."""
    msgs = b"".join(bstr(c) + bstr(m) for c, m in messages)
    out = (bstr(server) + u32(len(entries)) + bstr(b"".join(entries))
           + bstr(repair) + u32(repaired) + u32(sender) + u64(floor[0])
           + u64(floor[1]) + u32(len(messages)) + bstr(msgs))
    if link:
        origin, seq, claims, bridges = link
        out += u64(origin) + u64(seq) + varint(len(claims))
        out += b"".join(u64(c) for c in claims) + varint(len(bridges))
        for srv, source, frm, link_from in bridges:
            out += bstr(srv) + u64(source) + u64(frm) + u64(link_from)
    return out


def share(shares, index, digest, forced=0):
    return u8(1) + u32(shares) + u32(index) + u8(forced) + u64(digest)


def keys_record(leaf, keys):
    out = u8(4) + u32(leaf) + u32(len(keys))
    for key, version, flags, state in keys:
        out += bstr(key) + u64(version) + u64(ORIGIN) + u8(flags)
        if flags == 2:
            out += u64(state)
    return out


def want(keys):
    return u8(5) + u32(len(keys)) + b"".join(bstr(k) for k in keys)


v = hlc(EPOCH_MS - 1000)
SYNC = {
    "entries": sync_batch([entry("a", "1"), entry("b", deleted=True),
                           entry("c", "x" * 40, expiry=(EPOCH_MS + 5000, v))]),
    "counter": sync_batch([entry("n", counter=counter(5, [(ORIGIN, 3, 1)]))]),
    "float-counter": sync_batch(
        [entry("f", counter=float_counter(1.5, [(ORIGIN, 2, 0, 0.5, 0.25)])),
         entry("g", counter=float_counter(
             7, [(1, 0, 0, 1.25, 0), (2, 1, 0, 0, 0.5)], float_base=False))]),
    # A mantissa without its top bit: refused, as any malformed meta.
    "float-counter-bad": sync_batch(
        [entry("f", counter=float_counter(1.5, [(ORIGIN, 0, 0, 0.5, 0)])
               [:-9] + u64(1) + u8(0))]),
    "future": sync_batch([entry("f", "far", version=hlc(EPOCH_MS + 3_600_000))]),
    "floor": sync_batch([entry("a", "1")], floor=(hlc(EPOCH_MS - 500), 1)),
    "local": sync_batch([entry("a", "1")], server="10.0.0.1:7000", sender=1),
    "repair": sync_batch(repair=share(2, 0, 0x5555, forced=1)
                         + u8(2) + u32(1) + u32(3) + u64(7)
                         + u8(3) + u32(1) + u32(17) + u64(9)
                         + keys_record(17, [("a", v, 0, 0), ("n", v, 2, 4)])
                         + want(["a", "zz"])),
    "pushed": sync_batch([entry("r", "1")], repaired=1),
    "pubsub": sync_batch(messages=[("news", "hello"), ("chat", "")]),
    # A stream's batch after a gap, with a claim and two asks to bridge
    # lost batches: one for a link of the receiver's, one to pass on.
    "bridge": sync_batch([entry("a", "1")], link=(
        ORIGIN, 7, [ORIGIN, hlc(EPOCH_MS - 2000), hlc(EPOCH_MS - 900), 5],
        [("10.0.0.2:7000", ORIGIN + 1, hlc(EPOCH_MS - 3000), 4),
         ("10.0.0.3:7000", 1, hlc(EPOCH_MS - 1500), 1)])),
    # A value shown with the stamp of the counter it holds pending (begun
    # where the key was gone, on the floor), and its own expiry beside.
    "pending": sync_batch([entry(
        "p", "v", expiry=(0, hlc(EPOCH_MS - 500)),
        pending=entry("", counter=counter(0, [(ORIGIN, 2, 0)]), version=0,
                      origin=0, expiry=(0, hlc(EPOCH_MS - 500)))[1:]
        + u64(EPOCH_MS - 700) + u64(hlc(EPOCH_MS - 900)) + u64(ORIGIN))]),
}

# --- cluster_port: a selector byte, then what a connection sends ----------
def frame(body):
    return u32(len(body)) + body


def hello(address="127.0.0.1:9", nonce=b"", flags=0):
    return frame(u8(0) + u32(0x44554D43) + u16(2) + bstr(address)
                 + bstr(nonce) + u8(flags))


def message(target, name, body):
    return frame(u8(1) + u64(target) + u32(fnv1a_32(name)) + body)


CLUSTER = {
    "open-sync": b"\x00" + hello()
    + message(1, "server.SyncBatch", SYNC["entries"]),
    "open-join": b"\x00" + hello()
    + message(0, "server.JoinRequest", bstr("127.0.0.1:9") + varint(1) + u64(1)
              + varint(1) + bstr("127.0.0.1:10") + u8(1)),
    "open-unknown": b"\x00" + hello() + message(7, "no.such.Type", b"abc"),
    "secret-hello": b"\x01" + hello(nonce=b"n" * 32),
    "secret-proof": b"\x01" + hello(nonce=b"n" * 32)
    + frame(u8(3) + b"m" * 32),
    "macs-hello": b"\x02" + hello(nonce=b"n" * 32, flags=1),
    "challenge-first": b"\x01" + frame(u8(2) + b"n" * 32 + u8(0) + b"m" * 32),
    "giant-length": b"\x00" + u32(64 << 20) + b"\x00" * 16,
    "bad-version": b"\x00" + frame(u8(0) + u32(0x44554D43) + u16(1)
                                   + bstr("x") + bstr("") + u8(0)),
}

# ACL files and users' records (the same rules), as cmud-server reads them
# from --aclfile and as replicas hand them to the ACL table.
ACL = {
    "default": b"user default on nopass ~* &* +@all\n",
    "users": b"# users\nuser default on >admin ~* &* +@all\n"
    b"user app on #2bb80d537b1da3e38bd30361aa855686bde0eacd7162fef6a25fe97bf527a25b"
    b" ~app:* %R~shared:* %W~log:* resetchannels &news.* -@all +@read"
    b" -keys +set +client|setname\r\n",
    "reset": b"user a on >x allkeys allchannels allcommands -@dangerous reset"
    b" on <x\n",
    "bad": b"user b on +nosuch (~k +get) %X~y\nuser b off\nnot a user\n",
}

for name, data in ACL.items():
    write("acl", name, data)
for name, data in RESP.items():
    write("resp", name, data)
for name, data in SYNC.items():
    write("sync", name, data)
for name, data in CLUSTER.items():
    write("cluster_port", name, data)
