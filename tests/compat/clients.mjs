// Real Node.js Redis clients (node-redis over RESP2 and RESP3, ioredis)
// against a two-server cluster: expiry, counters, FLUSHALL and pub/sub,
// each written on one server and checked on both.
// Usage: node clients.mjs PORT_A PORT_B (query ports of the two servers).
import { createClient } from 'redis';
import Redis from 'ioredis';

const [portA, portB] = process.argv.slice(2).map(Number);
// Every server has this password (compat_test.sh).
const password = process.env.CMUD_TEST_PASSWORD;
let failures = 0;
let passes = 0;

function check(what, ok, detail = '') {
  if (ok) {
    passes++;
  } else {
    failures++;
    console.log(`FAIL: ${what} ${detail}`);
  }
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Polls f() every 20 ms until it returns true or `ms` pass.
async function eventually(ms, f) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await f()) return true;
    await sleep(20);
  }
  return f();
}

// A promise of the next `n` messages a subscribe callback is given.
function collector() {
  const got = [];
  const waiters = [];
  return {
    push(m) {
      got.push(m);
      for (const w of waiters.splice(0)) w();
    },
    async take(n, ms) {
      const end = Date.now() + ms;
      while (got.length < n && Date.now() < end) {
        await Promise.race([new Promise((r) => waiters.push(r)), sleep(50)]);
      }
      return got.splice(0, n);
    },
  };
}

// Until server A knows B, a message has nowhere to go: publish probes
// until one arrives through `got`, then let the rest of them drain.
async function awaitLink(name, publish, got) {
  let reached = false;
  for (let i = 0; i < 100 && !reached; i++) {
    await publish('chat', 'probe');
    reached = (await got.take(1, 100)).length > 0;
  }
  check(`${name} PUBLISH reaches the other server`, reached);
  await sleep(300);
  await got.take(1000, 0);
}

// Every client kind answers the same commands; `c` wraps its calls.
async function common(name, a, b) {
  const key = `${name}:k`;
  check(`${name} SET EX`, (await a.set(key, 'v', 2)) === 'OK');
  const ttl = await a.ttl(key);
  check(`${name} TTL`, ttl === 2 || ttl === 1, `ttl ${ttl}`);
  check(`${name} value reaches the other server`,
        await eventually(2000, async () => (await b.get(key)) === 'v'));
  check(`${name} the key expires on both servers`,
        await eventually(3000, async () =>
          (await a.get(key)) === null && (await b.get(key)) === null));

  const counter = `${name}:n`;
  const incrs = [];
  for (let i = 0; i < 100; i++) incrs.push(a.incr(counter), b.incr(counter));
  await Promise.all(incrs);
  check(`${name} 200 INCRs split over two servers read 200 on both`,
        await eventually(2000, async () =>
          (await a.get(counter)) === '200' && (await b.get(counter)) === '200'),
        `${await a.get(counter)} / ${await b.get(counter)}`);
  check(`${name} INCRBY`, (await a.incrBy(counter, 5)) === 205);
  check(`${name} DECR`, (await a.decr(counter)) === 204);
  const floats = `${name}:f`;
  const adds = [];
  for (let i = 0; i < 100; i++) {
    adds.push(a.incrByFloat(floats, 0.5), b.incrByFloat(floats, 1.25));
  }
  await Promise.all(adds);
  check(`${name} 200 INCRBYFLOATs split over two servers read 175 on both`,
        await eventually(2000, async () =>
          (await a.get(floats)) === '175' && (await b.get(floats)) === '175'),
        `${await a.get(floats)} / ${await b.get(floats)}`);
  // (-0.1 would answer 174.89999999999999999, in Redis as here.)
  check(`${name} INCRBYFLOAT`, (await a.incrByFloat(floats, -0.5)) === '174.5');

  const tx = await a.multiExec([['set', `${name}:tx`, '1'],
                                 ['incr', `${name}:tx`]]);
  check(`${name} MULTI/EXEC`, JSON.stringify(tx) === '["OK",2]',
        JSON.stringify(tx));
  check(`${name} FLUSHALL`, (await a.flushAll()) === 'OK');
  check(`${name} FLUSHALL reaches the other server`,
        await eventually(2000, async () => (await b.dbSize()) === 0));
}

// node-redis names, for common().
function nodeRedis(c) {
  return {
    set: (k, v, ex) => c.set(k, v, { EX: ex }),
    ttl: (k) => c.ttl(k),
    get: (k) => c.get(k),
    incr: (k) => c.incr(k),
    incrBy: (k, n) => c.incrBy(k, n),
    incrByFloat: (k, n) => c.incrByFloat(k, n),
    decr: (k) => c.decr(k),
    flushAll: () => c.flushAll(),
    dbSize: () => c.dbSize(),
    multiExec: (cmds) => {
      const m = c.multi();
      for (const [cmd, ...args] of cmds) m[cmd](...args);
      return m.exec();
    },
  };
}

function ioRedis(c) {
  return {
    set: (k, v, ex) => c.set(k, v, 'EX', ex),
    ttl: (k) => c.ttl(k),
    get: (k) => c.get(k),
    incr: (k) => c.incr(k),
    incrBy: (k, n) => c.incrby(k, n),
    incrByFloat: (k, n) => c.incrbyfloat(k, n),
    decr: (k) => c.decr(k),
    flushAll: () => c.flushall(),
    dbSize: () => c.dbsize(),
    // ioredis answers [error, result] per command.
    multiExec: async (cmds) => {
      const m = c.multi();
      for (const [cmd, ...args] of cmds) m[cmd](...args);
      return (await m.exec()).map(([err, r]) => err ?? r);
    },
  };
}

// A message published on server A reaches subscribers on server B, in
// order, through channels and patterns.
async function pubsubNodeRedis(resp) {
  const name = `node-redis RESP${resp}`;
  const a = createClient({ socket: { port: portA }, RESP: resp, password });
  const b = createClient({ socket: { port: portB }, RESP: resp, password });
  await a.connect();
  await b.connect();
  await common(name, nodeRedis(a), nodeRedis(b));

  const sub = b.duplicate();
  await sub.connect();
  const got = collector();
  await sub.subscribe('chat', (message, channel) => got.push(`${channel}:${message}`));
  await sub.pSubscribe('room:*', (message, channel) => got.push(`p ${channel}:${message}`));
  await awaitLink(name, (c, m) => a.publish(c, m), got);
  const sent = [];
  for (let i = 0; i < 50; i++) {
    sent.push(`chat:m${i}`);
    await a.publish('chat', `m${i}`);
  }
  await a.publish('room:1', 'hi');
  sent.push('p room:1:hi');
  const received = await got.take(sent.length, 3000);
  check(`${name} messages arrive in order`,
        JSON.stringify(received) === JSON.stringify(sent),
        JSON.stringify(received.slice(0, 5)));
  check(`${name} PUBSUB NUMSUB counts this server`,
        JSON.stringify(await b.pubSubNumSub('chat')) === '{"chat":1}');
  await sub.unsubscribe('chat');
  await sub.pUnsubscribe('room:*');
  await Promise.all([a.quit(), b.quit(), sub.quit()]);
}

async function pubsubIoRedis() {
  const name = 'ioredis';
  const a = new Redis({ port: portA, lazyConnect: true, password });
  const b = new Redis({ port: portB, lazyConnect: true, password });
  await a.connect();
  await b.connect();
  await common(name, ioRedis(a), ioRedis(b));
  const sub = new Redis({ port: portB, password });
  const got = collector();
  sub.on('message', (channel, message) => got.push(`${channel}:${message}`));
  sub.on('pmessage', (pattern, channel, message) =>
    got.push(`p ${pattern} ${channel}:${message}`));
  await sub.subscribe('chat');
  await sub.psubscribe('room:*');
  await awaitLink(name, (c, m) => a.publish(c, m), got);
  const pipeline = a.pipeline();
  const sent = [];
  for (let i = 0; i < 50; i++) {
    pipeline.publish('chat', `m${i}`);
    sent.push(`chat:m${i}`);
  }
  pipeline.publish('room:2', 'hey');
  sent.push('p room:* room:2:hey');
  await pipeline.exec();
  const received = await got.take(sent.length, 3000);
  check(`${name} pipelined messages arrive in order`,
        JSON.stringify(received) === JSON.stringify(sent),
        JSON.stringify(received.slice(0, 5)));
  sub.disconnect();
  await Promise.all([a.quit(), b.quit()]);
}

const deadline = setTimeout(() => {
  console.log('FAIL: the Node clients took over 60 s');
  process.exit(1);
}, 60000);
try {
  await pubsubNodeRedis(2);
  await pubsubNodeRedis(3);
  await pubsubIoRedis();
} catch (e) {
  failures++;
  console.log(`FAIL: ${e.stack || e}`);
}
clearTimeout(deadline);
console.log(`node clients: ${passes} passed, ${failures} failed`);
process.exit(failures === 0 ? 0 : 1);
