// sniff.ts — print the frames an interface receives, as hex JSON lines, for a while.
//   ip netns exec NS node --import tsx test/helpers/sniff.ts IFNAME MS
// Prints {"ready":true} once listening, then {"frame":"<hex>"} per frame, and exits after MS.
import { native } from '../../src/io/native.ts';
import { PacketPool } from '../../src/engine/pool.ts';

const [ifname, msText] = process.argv.slice(2);
const addon = native();
const pool = new PacketPool(512);
addon.attachPool(pool.buffer, pool.slotSize, pool.headroom, pool.start, pool.length);
const h = addon.openAfPacket(ifname, { promiscuous: true, qdiscBypass: false, rxFrames: 256, txFrames: 16 });
const slots = new Uint32Array(256);
addon.poll(h, () => {
  const k = pool.allocBurst(slots, 256);
  const n = addon.rx(h, slots, k);
  for (let i = 0; i < n; i++) console.log(JSON.stringify({ frame: Buffer.from(pool.frame(slots[i])).toString('hex') }));
  pool.freeRange(slots, 0, k);
});
console.log(JSON.stringify({ ready: true }));
setTimeout(() => { addon.poll(h, null); addon.close(h); }, Number(msText));
