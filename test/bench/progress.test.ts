/** The bench progress bar's rendering (bench/lib/progress.ts). */
import t from 'tap';
import { renderBar } from '../../bench/lib/progress.js';

t.test('the bar shows the fraction done and fits the terminal', (t) => {
  t.equal(renderBar('A', 0.5, '10 ops/s', 200), `A [${'#'.repeat(15)}${'.'.repeat(15)}]  50% 10 ops/s`);
  t.equal(renderBar('A', 2, '', 200).includes('100%'), true, 'clamped above');
  t.equal(renderBar('A', NaN, '', 200).includes('  0%'), true, 'NaN shows as 0');
  t.equal(renderBar('A', 0.5, 'x'.repeat(100), 40).length, 39, 'cut to the terminal width');
  t.end();
});
