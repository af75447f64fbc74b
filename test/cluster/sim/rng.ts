/**
 * The simulator's seeded random generator: one seed replays a whole simulated run. It also serves as the
 * `Random` source injected into each simulated node. The shared test generator, under its simulator name.
 */
export { Rng as SimRng } from '../../support/rng.js';
