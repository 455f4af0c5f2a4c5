// Integration through the library API (no CLI): a container lab embeds the switch.
// Two namespaces on veths and a TAP the switch creates, in one bridged network; ping and
// TCP between them; fdb(), stats() and stop() as a library user sees them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Switch } from '../../src/index.ts';
import { Topology, ping, shStatus, waitFor } from '../helpers/netns.ts';

test('library: Switch.start from a config object, forward, inspect, stop', async () => {
  const topo = new Topology();
  let sw: Switch | null = null;
  try {
    const a = topo.host('a', '10.78.0.1/24');
    const b = topo.host('b', '10.78.0.2/24');
    const tap = `${topo.prefix}t`;
    topo.own(tap);
    sw = await Switch.start({
      name: `${topo.prefix}lib`,
      runDir: `/tmp/${topo.prefix}-run`,
      ports: { a: { afpacket: a.rootIf }, b: { afpacket: b.rootIf }, host: { tap } },
      networks: { lan: { mode: 'bridged', ports: ['a', 'b', 'host'] } },
    }, { log: () => {} });
    assert.equal(await ping(topo, a.ns, b.ip, 3), 3, 'a pings b through the switch');
    assert.equal(await ping(topo, b.ns, a.ip, 3), 3, 'b pings a');
    // TCP with the kernel's default offloads (TSO/GSO/checksum offload on the veths)
    const server = topo.spawn(b.ns, 'iperf3', '-s', '-1', '-B', b.ip);
    await waitFor('iperf3 server', async () => (await topo.run(b.ns, 'ss', '-ltn')).out.includes(':5201'));
    const r = JSON.parse(await topo.runOk(a.ns, 'iperf3', '-c', b.ip, '-t', '2', '-J'));
    server.kill();
    const received = r.end.sum_received.bytes as number;
    assert.ok(received > 1_000_000, `TCP moved ${received} bytes`);
    const fdb = sw.fdb();
    assert.ok(fdb.some((e) => e.mac === a.mac && e.port === 'a'), 'a learned on port a');
    assert.ok(fdb.some((e) => e.mac === b.mac && e.port === 'b'), 'b learned on port b');
    const st = sw.stats();
    assert.equal(st.pool.inUse, 0, 'no slot in flight between breaths');
    const pa = st.ports.find((p) => p.name === 'a')!;
    assert.ok(pa.counters.rxPackets > 100 && pa.counters.txPackets > 100);
    assert.ok(shStatus('ip', ['link', 'show', tap]).status === 0, 'the TAP exists while the switch runs');
  } finally {
    if (sw) await sw.stop();
    topo.dispose();
  }
  assert.notEqual(shStatus('ip', ['link', 'show', `${topo.prefix}t`]).status, 0, 'the TAP the switch created is gone after stop()');
});
