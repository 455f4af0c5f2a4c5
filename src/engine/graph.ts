// graph.ts — wires nodes by name and moves packets between them.
//
// Wiring: every next named by a node must be a node of the graph (checked at start). Drop
// reasons get global ids so that per-port drop counters can be kept in one flat array.
//
// Running: run() visits the nodes in a fixed order (a depth-first order from the entry
// node, so in an acyclic graph one pass empties every queue) and hands each node its whole
// input queue as one vector. Graphs with back edges (a reply generated late that must go
// through an earlier node) are handled by repeating passes until every queue is empty,
// bounded so a wiring loop cannot spin forever (what is left is counted and dropped).
import type { GraphContext, GraphNode } from './node.js';
import type { PacketPool } from './pool.js';
import type { NodeStatsView } from '../types.js';

const MAX_PASSES = 16;
/** runtime statistics time one run() in this many (a power of two) */
const TIME_EVERY = 16;

export class Graph implements GraphContext {
  readonly pool: PacketPool;
  readonly nodes: GraphNode[];
  readonly order: GraphNode[];
  readonly reasonNames: string[] = [];
  readonly reasons: number;
  portDrops: Float64Array;
  nowSec = 0;
  nowMs = 0;
  /** packets left in queues after MAX_PASSES (a wiring loop); dropped */
  loopDrops = 0;
  private readonly byName = new Map<string, GraphNode>();
  private readonly timed: boolean;
  private runs = 0;
  /** per node (by index in order): sampled milliseconds and the packets they covered */
  private readonly sampledMs: Float64Array;
  private readonly sampledPackets: Float64Array;

  constructor(pool: PacketPool, nodes: GraphNode[], entry: string, maxPorts: number, opts: { timed?: boolean } = {}) {
    this.pool = pool;
    this.nodes = nodes;
    this.timed = opts.timed ?? true;
    for (const n of nodes) {
      if (this.byName.has(n.name)) throw new Error(`graph: two nodes named "${n.name}"`);
      this.byName.set(n.name, n);
    }
    const reasonIds = new Map<string, number>();
    for (const n of nodes) for (const r of n.dropNames) {
      if (!reasonIds.has(r)) { reasonIds.set(r, this.reasonNames.length); this.reasonNames.push(r); }
    }
    this.reasons = Math.max(1, this.reasonNames.length);
    this.portDrops = new Float64Array(maxPorts * this.reasons);
    for (const n of nodes) {
      const queues = n.nextNames.map((next) => {
        const target = this.byName.get(next);
        if (!target) throw new Error(`graph: node "${n.name}" names next "${next}", which is not in the graph`);
        return target.input;
      });
      n.bind(this, queues, Uint16Array.from(n.dropNames, (r) => reasonIds.get(r)!));
    }
    const first = this.byName.get(entry);
    if (!first) throw new Error(`graph: entry node "${entry}" is not in the graph`);
    this.order = this.depthFirst(first);
    for (const n of nodes) if (!this.order.includes(n)) this.order.push(n);
    this.sampledMs = new Float64Array(this.order.length);
    this.sampledPackets = new Float64Array(this.order.length);
  }

  node(name: string): GraphNode {
    const n = this.byName.get(name);
    if (!n) throw new Error(`graph: no node "${name}"`);
    return n;
  }

  /** Run every node with pending input until all queues are empty. */
  run(): void {
    const order = this.order;
    // time one run in TIME_EVERY: reading the clock allocates, so not on every vector
    const timed = this.timed && (++this.runs & (TIME_EVERY - 1)) === 0;
    for (let pass = 0; pass < MAX_PASSES; pass++) {
      let worked = false;
      for (let i = 0; i < order.length; i++) {
        const node = order[i];
        const q = node.input;
        const n = q.count;
        if (n === 0) continue;
        q.count = 0;
        worked = true;
        if (timed) {
          const t0 = performance.now();
          node.process(q.slots, n);
          this.sampledMs[i] += performance.now() - t0;
          this.sampledPackets[i] += n;
        } else {
          node.process(q.slots, n);
        }
        node.calls++;
        node.packets += n;
      }
      if (!worked) return;
    }
    for (const node of order) {
      const q = node.input;
      this.loopDrops += q.count;
      this.pool.freeRange(q.slots, 0, q.count);
      q.count = 0;
    }
  }

  /** Per-node runtime statistics (VPP's `show runtime`). */
  stats(): NodeStatsView[] {
    return this.order.map((n, i) => {
      const counters: Record<string, number> = {};
      n.dropNames.forEach((r, i) => { counters[r] = (counters[r] ?? 0) + n.drops[i]; });
      n.counterNames.forEach((c, i) => { counters[c] = (counters[c] ?? 0) + n.counters[i]; });
      return {
        name: n.name,
        calls: n.calls,
        vectors: n.packets,
        packets: n.packets,
        vectorSize: n.calls ? n.packets / n.calls : 0,
        nsPerPacket: this.sampledPackets[i] ? (this.sampledMs[i] * 1e6) / this.sampledPackets[i] : 0,
        counters,
      };
    });
  }

  /** Drop counters of one port, by reason name (only the non-zero ones). */
  portDropsOf(port: number): Record<string, number> {
    const out: Record<string, number> = {};
    const base = port * this.reasons;
    for (let r = 0; r < this.reasonNames.length; r++) {
      const v = this.portDrops[base + r];
      if (v) out[this.reasonNames[r]] = v;
    }
    return out;
  }

  /** Forget the runtime statistics (calls, packets, timing). */
  resetRuntime(): void {
    for (const n of this.nodes) { n.calls = 0; n.packets = 0; }
    this.sampledMs.fill(0);
    this.sampledPackets.fill(0);
  }

  private depthFirst(first: GraphNode): GraphNode[] {
    // reverse post-order: a node comes before everything it feeds (when there is no cycle)
    const seen = new Set<GraphNode>();
    const post: GraphNode[] = [];
    const visit = (n: GraphNode): void => {
      seen.add(n);
      for (const next of n.nextNames) {
        const t = this.byName.get(next)!;
        if (!seen.has(t)) visit(t);
      }
      post.push(n);
    };
    visit(first);
    return post.reverse();
  }
}
