"""redis-py (Debian's python3-redis) against a two-server cluster: expiry,
counters, FLUSHALL and pub/sub, each written on one server and checked on
both, signed in with the password in CMUD_TEST_PASSWORD.
Usage: python3 clients.py PORT_A PORT_B (query ports)."""
import os
import sys
import threading
import time

import redis

port_a, port_b = (int(p) for p in sys.argv[1:3])
password = os.environ["CMUD_TEST_PASSWORD"]
passes = 0
failures = 0


def check(what, ok, detail=""):
    global passes, failures
    if ok:
        passes += 1
    else:
        failures += 1
        print(f"FAIL: {what} {detail}")


def eventually(seconds, f):
    """Polls f every 20 ms until it is true or `seconds` pass."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if f():
            return True
        time.sleep(0.02)
    return f()


a = redis.Redis(port=port_a, socket_timeout=5, decode_responses=True,
                password=password)
b = redis.Redis(port=port_b, socket_timeout=5, decode_responses=True,
                password=password)

# Without the password nothing runs; a wrong one is refused.
try:
    redis.Redis(port=port_a, socket_timeout=5).get("py:k")
    check("no password: NOAUTH", False)
except redis.AuthenticationError:
    check("no password: NOAUTH", True)
try:
    redis.Redis(port=port_a, socket_timeout=5, username="default",
                password="wrong").get("py:k")
    check("wrong password: WRONGPASS", False)
except redis.ResponseError as e:  # what redis-py makes of Redis's too
    check("wrong password: WRONGPASS", str(e).startswith("WRONGPASS"), str(e))

# Expiry travels with the value; the key goes on both servers.
check("SET EX", a.set("py:k", "v", ex=2))
check("TTL", a.ttl("py:k") in (1, 2))
check("value reaches the other server",
      eventually(2, lambda: b.get("py:k") == "v"))
check("the key expires on both servers",
      eventually(3, lambda: a.get("py:k") is None and b.get("py:k") is None))
check("SETEX and PTTL", a.setex("py:t", 100, "x") and
      90_000 < a.pttl("py:t") <= 100_000)
check("PERSIST", a.persist("py:t") and a.ttl("py:t") == -1)

# Counters add up across servers, from several threads at once.
def incr_many(client, n):
    for _ in range(n):
        client.incr("py:n")


threads = [threading.Thread(target=incr_many, args=(c, 100)) for c in (a, b)]
for t in threads:
    t.start()
for t in threads:
    t.join()
check("200 INCRs split over two servers read 200 on both",
      eventually(2, lambda: a.get("py:n") == "200" and b.get("py:n") == "200"),
      f"{a.get('py:n')} / {b.get('py:n')}")
check("INCRBY and DECRBY", a.incrby("py:n", 10) == 210 and
      a.decrby("py:n", 20) == 190)


# INCRBYFLOAT adds up across servers too (steps exact in binary).
def incrbyfloat_many(client, n, step):
    for _ in range(n):
        client.incrbyfloat("py:f", step)


threads = [threading.Thread(target=incrbyfloat_many, args=(c, 100, step))
           for c, step in ((a, 0.5), (b, 1.25))]
for t in threads:
    t.start()
for t in threads:
    t.join()
check("200 INCRBYFLOATs split over two servers read 175 on both",
      eventually(2, lambda: a.get("py:f") == "175" and b.get("py:f") == "175"),
      f"{a.get('py:f')} / {b.get('py:f')}")
a.set("py:f", "10.50")
check("INCRBYFLOAT answers as Redis", a.incrbyfloat("py:f", 0.1) == 10.6 and
      a.get("py:f") == "10.6")
try:
    a.set("py:s", "text")
    a.incrbyfloat("py:s", 1)
    check("INCRBYFLOAT of text is refused", False)
except redis.ResponseError as e:
    check("INCRBYFLOAT of text is refused", "not a valid float" in str(e),
          str(e))
try:
    a.set("py:s", "text")
    a.incr("py:s")
    check("INCR of text is refused", False)
except redis.ResponseError as e:
    check("INCR of text is refused",
          "not an integer" in str(e), str(e))

# The default (transactional) pipeline: MULTI ... EXEC in one round trip.
pipe = a.pipeline()
pipe.set("py:tx", "1").incr("py:tx").get("py:tx")
check("transactional pipeline", pipe.execute() == [True, 2, "2"])
check("its writes reach the other server",
      eventually(2, lambda: b.get("py:tx") == "2"))

# WATCH: an optimistic transaction, and one that a concurrent write on
# the same port aborts.
a.set("py:w", "1")
with a.pipeline() as pipe:
    pipe.watch("py:w")
    v = int(pipe.get("py:w"))
    pipe.multi()
    pipe.set("py:w", v + 1)
    check("WATCH then EXEC", pipe.execute() == [True])
with a.pipeline() as pipe:
    pipe.watch("py:w")
    a.set("py:w", "changed")
    pipe.multi()
    pipe.set("py:w", "lost")
    try:
        pipe.execute()
        check("a changed WATCH key aborts EXEC", False)
    except redis.WatchError:
        check("a changed WATCH key aborts EXEC", a.get("py:w") == "changed")

# Pub/sub: published on A, heard on B, in order, by channel and pattern.
p = redis.Redis(port=port_b, socket_timeout=5, decode_responses=True,
                password=password).pubsub()
p.subscribe("chat")
p.psubscribe("room:*")
for _ in range(2):
    p.get_message(timeout=1)  # the two confirmations
reached = False
for _ in range(100):
    a.publish("chat", "probe")
    if p.get_message(timeout=0.1):
        reached = True
        break
check("PUBLISH reaches the other server", reached)
time.sleep(0.3)
while p.get_message(timeout=0.05):
    pass
pipe = a.pipeline(transaction=False)
for i in range(50):
    pipe.publish("chat", f"m{i}")
pipe.publish("room:3", "hello")
pipe.execute()
got = []
end = time.monotonic() + 3
while len(got) < 51 and time.monotonic() < end:
    m = p.get_message(timeout=0.2)
    if m:
        got.append((m["type"], m["channel"], m["data"]))
want = [("message", "chat", f"m{i}") for i in range(50)]
want.append(("pmessage", "room:3", "hello"))
check("messages arrive in order", got == want, str(got[:3]))
check("PUBSUB NUMSUB", b.pubsub_numsub("chat") == [("chat", 1)])
p.close()

check("FLUSHALL", a.flushall())
check("FLUSHALL reaches the other server",
      eventually(2, lambda: b.dbsize() == 0))

# ACL users: made on one server, signed in on the other (users replicate,
# and FLUSHALL above left them alone), limited to what their rules allow.
check("ACL SETUSER", a.acl_setuser("py-app", enabled=True, passwords=["+pw"],
                                   keys=["app:*"], commands=["+get", "+set"]))
u = a.acl_getuser("py-app")
check("ACL GETUSER", u is not None and "on" in u["flags"] and
      u["keys"] == ["~app:*"] and "+get" in u["commands"], str(u))
check("ACL LIST", any(line.startswith("user py-app on #")
                      for line in a.acl_list()), str(a.acl_list()))


def app_on_b():
    try:
        return redis.Redis(port=port_b, socket_timeout=5, decode_responses=True,
                           username="py-app", password="pw").ping() is None
    except redis.exceptions.NoPermissionError:
        return True  # signed in; PING is not among its commands
    except (redis.AuthenticationError, redis.exceptions.ResponseError):
        return False  # WRONGPASS: not there yet


check("the user signs in on the other server", eventually(2, app_on_b))
app = redis.Redis(port=port_b, socket_timeout=5, decode_responses=True,
                  username="py-app", password="pw")
check("ACL: allowed key", app.set("app:1", "v") and app.get("app:1") == "v")
for what, call in (("key", lambda: app.get("other")),
                   ("command", lambda: app.delete("app:1"))):
    try:
        call()
        check(f"ACL: NOPERM for a {what}", False)
    except redis.exceptions.NoPermissionError:
        check(f"ACL: NOPERM for a {what}", True)
check("ACL DELUSER", a.acl_deluser("py-app") == 1)

# Introspection as redis-py parses it: command and error statistics (B saw
# the NOPERMs above), and the slow log.
stats = b.info("commandstats")
check("INFO commandstats", stats.get("cmdstat_get", {}).get("calls", 0) > 0,
      str(stats)[:200])
errors = b.info("errorstats")
# (redis-py leaves "count=N", having no comma, as a string.)
noperm = str(errors.get("errorstat_NOPERM", "count=0"))
check("INFO errorstats", int(noperm.split("=")[1]) >= 2, str(errors))
a.config_set("slowlog-log-slower-than", 0)
a.slowlog_reset()
a.get("slow:key")
entries = a.slowlog_get(1)
check("SLOWLOG GET", len(entries) == 1 and entries[0]["command"] in
      ("GET slow:key", b"GET slow:key") and entries[0]["duration"] >= 0,
      str(entries))
a.config_set("slowlog-log-slower-than", 10000)
check("SLOWLOG LEN", a.slowlog_len() >= 2)

print(f"redis-py: {passes} passed, {failures} failed")
sys.exit(0 if failures == 0 else 1)
