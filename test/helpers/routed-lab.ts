// routed-lab.ts — the routed tests' lab: the same in-memory lab as the NAT tests (nat-lab.ts
// builds bridged, routed, nat and isolated networks the way the Switch does), under the
// names the routed node and golden tests use.
export { NatLab as RoutedLab, replayNat as replayRouted } from './nat-lab.ts';
export type { NatLabOptions as RoutedLabOptions, NatGoldenEvent as GoldenEvent, NatGoldenResult as RoutedGoldenResult } from './nat-lab.ts';
