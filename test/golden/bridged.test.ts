// Golden test of the bridged graph: committed pcaps in -> byte-exact pcaps out + counters.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { replay, BRIDGED_DIR, BRIDGED_PORTS, BRIDGED_COUNTERS } from './golden.ts';
import { readPcap } from '../../src/io/pcap.ts';

test('bridged scenario: every port sends exactly the golden output', () => {
  const r = replay(BRIDGED_DIR, BRIDGED_PORTS);
  for (const p of BRIDGED_PORTS) {
    const want = readFileSync(join(BRIDGED_DIR, `out-${p}.pcap`));
    assert.deepEqual(r.outputs[p].toString('hex'), want.toString('hex'), `port ${p}`);
  }
  assert.deepEqual(r.counters, JSON.parse(readFileSync(join(BRIDGED_DIR, 'counters.json'), 'utf8')));
});

test('bridged scenario: the golden files say what the scenario means', () => {
  const counters = JSON.parse(readFileSync(join(BRIDGED_DIR, 'counters.json'), 'utf8'));
  for (const [k, v] of Object.entries(BRIDGED_COUNTERS)) assert.equal(counters[k], v, k);
  const n = (p: string): number => readPcap(readFileSync(join(BRIDGED_DIR, `out-${p}.pcap`))).records.length;
  // p1: b->a, b->c flood, b->a from p3 after the move, broadcast; p2: arp, a->b, tagged, broadcast; p3: arp, b->c flood, a->b after move
  assert.deepEqual([n('p1'), n('p2'), n('p3')], [4, 4, 3]);
});
