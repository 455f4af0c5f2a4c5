// node.ts — what a graph node is.
//
// A node takes a vector of packet slots, decides a "next" for each, and puts it on that
// next node's input queue (toNext) or drops it with a reason (drop). Nexts and counters are
// declared by name; the graph resolves the names to queues and ids when it wires the nodes,
// so a typo fails at start-up, not on the first packet. The one polymorphic call is
// process(), once per vector; the loop inside stays monomorphic for V8.
//
// Queues never overflow: every entry holds a distinct pool slot, so a queue as long as the
// pool can hold every packet in flight.
import type { PacketPool } from './pool.js';

export class NodeQueue {
  readonly slots: Uint32Array;
  count = 0;
  constructor(capacity: number) { this.slots = new Uint32Array(capacity); }
}

/** Shared by all nodes of a graph: the pool, the clock reading of this breath, and per-port drop accounting. */
export interface GraphContext {
  readonly pool: PacketPool;
  /** Seconds since the switch started (integer), read once per breath. */
  nowSec: number;
  /** milliseconds, fractional, read once per breath */
  nowMs: number;
  /** per-port drop counters by global reason id: [port * reasons + reason] */
  portDrops: Float64Array;
  readonly reasons: number;
}

export abstract class GraphNode {
  abstract readonly name: string;
  /** Names of the nodes this node can send packets to; toNext(k, ..) uses the index k. */
  abstract readonly nextNames: readonly string[];
  /** Drop reasons, by index (drop(slot, k)). Reason names are global: two nodes may share one. */
  abstract readonly dropNames: readonly string[];
  /** Informational counters, by index (count(k)). */
  readonly counterNames: readonly string[] = [];

  readonly input: NodeQueue;
  protected readonly pool: PacketPool;
  protected ctx!: GraphContext;
  /** resolved by the graph */
  nextQueues: NodeQueue[] = [];
  /** drop counters of this node, by local reason index */
  drops = new Float64Array(0);
  counters = new Float64Array(0);
  /** global reason id of each local drop reason */
  dropIds: Uint16Array = new Uint16Array(0);
  // runtime statistics, kept by the graph
  calls = 0;
  packets = 0;

  constructor(pool: PacketPool) {
    this.pool = pool;
    this.input = new NodeQueue(pool.slots);
  }

  /** Called by the graph once the names are resolved. */
  bind(ctx: GraphContext, nextQueues: NodeQueue[], dropIds: Uint16Array): void {
    this.ctx = ctx;
    this.nextQueues = nextQueues;
    this.dropIds = dropIds;
    this.drops = new Float64Array(this.dropNames.length);
    this.counters = new Float64Array(this.counterNames.length);
  }

  /** Handle v[0..n). Every slot must be passed on or freed. */
  abstract process(v: Uint32Array, n: number): void;

  protected toNext(k: number, slot: number): void {
    const q = this.nextQueues[k];
    q.slots[q.count++] = slot;
  }

  protected drop(slot: number, k: number): void {
    this.drops[k]++;
    const ctx = this.ctx;
    ctx.portDrops[this.pool.rxPort[slot] * ctx.reasons + this.dropIds[k]]++;
    this.pool.free(slot);
  }

  protected count(k: number, by = 1): void { this.counters[k] += by; }
}
