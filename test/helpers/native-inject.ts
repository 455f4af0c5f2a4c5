// native-inject.ts — send raw frames on an interface through the addon's AF_PACKET port.
//
// Used by test/integration/native.test.ts to send from inside a network namespace:
//   ip netns exec NS node --import tsx test/helpers/native-inject.ts IFNAME HEX [HEX...]
// Each HEX is one whole Ethernet frame. Prints one JSON line per frame: {"sent": bytes} or
// {"error": message}, so a test can inject malformed frames and check the kernel's verdict.
import { native } from '../../src/io/native.ts';

const [ifname, ...frames] = process.argv.slice(2);
if (!ifname) {
  console.error('usage: native-inject.ts IFNAME HEX [HEX...]');
  process.exit(2);
}
const addon = native();
const h = addon.openAfPacket(ifname, { promiscuous: false, qdiscBypass: false, rxFrames: 16, txFrames: 16 });
try {
  for (const hex of frames) {
    try {
      console.log(JSON.stringify({ sent: addon.send(h, Uint8Array.from(Buffer.from(hex, 'hex'))) }));
    } catch (e) {
      console.log(JSON.stringify({ error: (e as Error).message }));
    }
  }
} finally {
  addon.close(h);
}
