export { Rng } from '../support/rng.js';
