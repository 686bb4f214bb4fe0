// cnn_primer.test.mjs — the CNN primer (notebooks/05-fashion-mnist-cnn.ipynb) in Jupyter
// Notebook's web UI, in headless Chromium, in its quick mode (CAIRN_QUICK=1 reaches the
// kernel through the server's environment).
//
// The quick mode trains 2 epochs, about 2 s on a quiet machine: too short to see the curve
// redrawn (once a second) and still press the button in time. So the test first adds
// `epochs = EPOCHS;` to the quick-mode cell, as a teacher would to demonstrate an interrupt;
// the training is interrupted long before it ends, on a fast machine or a loaded one.
//
// The cells before training run first; then the training cell is run with Shift-Enter and
// the page is watched: the loss-curve image in that cell's output must change while the
// cell still runs (the live update reaches the real page, not only nbconvert), and the
// progress bar must be there. The interrupt button then stops training; the kernel goes
// idle, and a new cell shows that the model kept what it learned (h.interrupted, steps run,
// parameter count, a test accuracy above chance). Screenshots go to tests/output/browser-cnn/.
//
// Run: node --test cnn_primer.test.mjs (CAIRN_KERNEL = path of the built cairn-kernel).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { ROOT, start, until, sleep } from './jupyter_server.mjs';

const NOTEBOOK = '05-fashion-mnist-cnn.ipynb';
const EPOCHS = 30;           // 30 x 57 steps: minutes of training, never reached
const STEPS = EPOCHS * 57;   // ceil(3600 / 64) = 57 steps per epoch
const MIN_STEPS = 30;        // steps before the interrupt: the model is then well above chance
let jp, page;

before(async () => {
  jp = await start({
    notebooks: [path.join(ROOT, 'notebooks', NOTEBOOK)],
    env: { CAIRN_QUICK: '1' },
    shots: path.join(ROOT, 'tests', 'output', 'browser-cnn'),
  });
  page = jp.page;
  await jp.open(NOTEBOOK);
});

after(async () => {
  if (jp) {
    await jp.shot('99_final').catch(() => {});
    await jp.stop();
  }
});

const cells = () => page.locator('#notebook-container .cell');
const kernelIdle = () => page.locator('#kernel_indicator_icon.kernel_idle_icon').count();
const promptOf = (cell) => cell.locator('.input_prompt').first().innerText();
const done = async (cell) => /\[\d+\]/.test(await promptOf(cell));

/** Index of the cell whose id (nbformat 4.5, kept by Notebook in cell metadata or the model) is `id`. */
async function indexOf(id) {
  const i = await page.evaluate((want) => Jupyter.notebook.get_cells().findIndex((c) => c.id === want
    || (c.metadata && c.metadata.id === want)
    || (c.toJSON && c.toJSON().id === want)), id);
  if (i >= 0) return i;
  // Notebook 6 may not keep ids in the page: find the cell by its first line instead.
  const first = { fit: 'nn_fit_options fit = nn_fit_defaults();', 'quick-mode': '#include <stdlib.h>' }[id];
  return page.evaluate((line) => Jupyter.notebook.get_cells().findIndex((c) => c.get_text().startsWith(line)), first);
}

test('the cells before training run', { timeout: 240000 }, async () => {
  const fit = await indexOf('fit');
  assert.ok(fit > 3, 'the training cell is found: ' + fit);
  const quick = await indexOf('quick-mode');
  assert.ok(quick > 0 && quick < fit, 'the quick-mode cell is found: ' + quick);
  await page.evaluate(([i, n]) => {
    const c = Jupyter.notebook.get_cell(i);
    c.set_text(c.get_text() + `\nepochs = ${n};   // long enough to interrupt (the browser test)`);
  }, [quick, EPOCHS]);
  await page.evaluate((n) => Jupyter.notebook.execute_cell_range(0, n), fit);
  const code = await page.evaluate((n) => Jupyter.notebook.get_cells().slice(0, n)
    .map((c, i) => (c.cell_type === 'code' ? i : -1)).filter((i) => i >= 0), fit);
  for (const i of code) await until(() => done(cells().nth(i)), 'cell ' + i + ' to finish', 180000);
  await until(kernelIdle, 'kernel idle', 60000);
  const errors = await page.locator('.output_subarea.output_error').count();
  assert.equal(errors, 0, 'no cell before training failed');
});

test('training shows a live loss curve; interrupt keeps the model', { timeout: 300000 }, async () => {
  const fitIndex = await indexOf('fit');
  const cell = cells().nth(fitIndex);
  await cell.locator('.CodeMirror').first().click();
  await page.keyboard.press('Shift+Enter');
  await until(async () => (await promptOf(cell)).includes('*'), 'the training cell to run (In [*])');

  // Watch the figure's <img> while the cell runs: its data must change at least once. The
  // interrupt waits, too, for MIN_STEPS steps on the progress bar: the curve is redrawn once a
  // second, and on a loaded machine a second may hold only a few steps, after which the kept
  // model could still be at chance.
  const img = cell.locator('.output_subarea img');
  const barRe = new RegExp(`fit .*epoch (\\d+)/${EPOCHS} step (\\d+)/57`);
  const seen = new Set();
  let running = true, steps = 0, bar = [];
  await until(async () => {
    running = !(await done(cell));
    if ((await img.count()) > 0) seen.add(await img.first().getAttribute('src'));
    bar = await cell.locator('.output_subarea').allInnerTexts();
    for (const t of bar) {
      const m = t.match(barRe);
      if (m) steps = (Number(m[1]) - 1) * 57 + Number(m[2]);
    }
    return (seen.size >= 2 && steps >= MIN_STEPS) || !running;
  }, `the loss curve to be redrawn and ${MIN_STEPS} steps to be done while training runs`, 240000, 150);
  assert.ok(running, 'the cell was still running when the curve had changed');
  assert.ok(seen.size >= 2, `the curve image changed while running (${seen.size} versions seen)`);
  assert.ok(steps >= MIN_STEPS, 'the progress bar shows epoch and step: ' + bar.join(' | '));
  console.log(`# live loss curve: ${seen.size} versions of the image seen while training ran`);
  await jp.shot('01_training_live');

  const clicked = Date.now();
  await page.locator('button[data-jupyter-action="jupyter-notebook:interrupt-kernel"]').click();
  await until(() => done(cell), 'the training cell to end after the interrupt', 20000);
  await until(kernelIdle, 'kernel idle after the interrupt', 20000);
  console.log(`# interrupt -> kernel idle: ${Date.now() - clicked} ms`);
  const text = (await cell.locator('.output_subarea').allInnerTexts()).join('\n');
  assert.match(text, /interrupted at epoch \d+, step \d+ of \d+: the model keeps what it learned/);
  assert.equal(await cell.locator('.output_subarea img').count(), 1, 'one figure stays in the output');
  await jp.shot('02_interrupted');

  // A new cell below the selected one (command mode, B; Shift-Enter moved the selection to the
  // cell after the training cell), as a person would check the model.
  await page.keyboard.press('Escape');
  await page.keyboard.press('b');
  await page.keyboard.press('Enter');
  const probe = cells().nth(await page.evaluate(() => Jupyter.notebook.get_selected_index()));
  await page.keyboard.insertText('nn_eval after = nn_evaluate(net, X_test, y_test);\n'
    + 'printf("interrupted %d, steps %d, parameters %ld, accuracy %.3f\\n", h.interrupted, h.steps_run, '
    + 'nn_param_count(net), after.accuracy);');
  await page.keyboard.press('Shift+Enter');
  await until(() => done(probe), 'the probe cell to finish', 60000);
  const out = await probe.locator('.output_subarea.output_stdout').innerText();
  const m = out.match(/interrupted (\d+), steps (\d+), parameters (\d+), accuracy ([\d.]+)/);
  assert.ok(m, 'probe output: ' + out);
  console.log('# after the interrupt: ' + out.trim());
  assert.equal(m[1], '1');
  assert.ok(Number(m[2]) >= MIN_STEPS && Number(m[2]) < STEPS, 'some steps ran, not all: ' + m[2]);
  assert.equal(m[3], '108618');
  assert.ok(Number(m[4]) > 0.2, 'the kept model is better than chance (0.1): ' + m[4]);
  await until(kernelIdle, 'kernel idle');
  await jp.shot('03_model_kept');
});
