// notebook_ui.test.mjs — cairn in Jupyter's web UI, driven the way a person drives it.
//
// Starts a private Jupyter Notebook server (Debian 12 ships classic Notebook 6, no
// JupyterLab) with a kernelspec for the built kernel, opens a notebook whose kernelspec is
// cairn in headless Chromium (playwright-core, the system's /usr/bin/chromium), types C
// into cells with the keyboard, runs them with Shift-Enter, and checks what the page then
// shows: Out prompts, stream text, an inline PNG of the right size, a crash report after
// which the session goes on, a live-updated output that ends as one output, Tab
// completion, the Shift-Tab tooltip and the interrupt button. Screenshots of every step
// go to tests/output/browser/ so a person can look at what was asserted.
//
// The server, the browser and their temporary directories come from jupyter_server.mjs
// (shared with cnn_primer.test.mjs); they are stopped by their own pids in `after`, also
// when a check fails.
//
// Run: node --test notebook_ui.test.mjs (CAIRN_KERNEL = path of the built cairn-kernel;
// run.sh beside this file does that for meson).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { ROOT, alive, descendants, sleep, start, until } from './jupyter_server.mjs';

const SHOTS = path.join(ROOT, 'tests', 'output', 'browser');
const NOTEBOOK = 'cairn_ui.ipynb';

let jp, page;

const shot = (name) => jp.shot(name);

// ---------- the notebook, as seen on the page ----------

const cells = () => page.locator('#notebook-container .cell.code_cell');

/** The code of a cell as its editor holds it (what the person typed, after auto-close/indent). */
const sourceOf = (cell) => cell.locator('.CodeMirror').first().evaluate((el) => el.CodeMirror.getValue());

const promptOf = (cell) => cell.locator('.input_prompt').first().innerText();

/** Is the kernel indicator in the notebook's header showing idle? */
const kernelIdle = () => page.locator('#kernel_indicator_icon.kernel_idle_icon').count();

/** Enter `code` into the selected (last, empty) cell. One line is typed key by key (the
 *  editor's auto-closed brackets and quotes are typed over, as a person does); several
 *  lines are pasted, because typing a `{` line by line leaves the editor's own `}` behind. */
async function typeInto(cell, code) {
  await cell.locator('.CodeMirror').first().click();
  if (code.includes('\n')) await page.keyboard.insertText(code);
  else await page.keyboard.type(code);
  assert.equal(await sourceOf(cell), code, 'the editor holds what was typed');
}

/** The last cell, pinned by index (a bare .last() would follow the new cell Shift-Enter adds). */
async function lastCell() {
  return cells().nth((await cells().count()) - 1);
}

/** Type `code` into a new cell at the end, press Shift-Enter, wait until the cell is done
 *  (its prompt shows a number) and the kernel is idle; returns the cell's locator. */
async function runCell(code, { timeout = 30000 } = {}) {
  const cell = await lastCell();
  assert.equal((await sourceOf(cell)), '', 'the last cell is the fresh empty one');
  await typeInto(cell, code);
  await page.keyboard.press('Shift+Enter');
  await until(async () => /\[\d+\]/.test(await promptOf(cell)), `cell to finish: ${code}`, timeout);
  await until(kernelIdle, 'kernel idle', timeout);
  return cell;
}

/** Run `code` in `cell` like runCell, sampling the cell's output areas every 50 ms while it
 *  runs: returns the most areas seen and how many samples saw one area before the end. */
async function runWatching(cell, code) {
  await typeInto(cell, code);
  await page.keyboard.press('Shift+Enter');
  let seenRunning = 0, maxAreas = 0;
  await until(async () => {
    const n = await outputAreas(cell).count();
    maxAreas = Math.max(maxAreas, n);
    const done = /\[\d+\]/.test(await promptOf(cell));
    if (!done && n === 1) seenRunning++;
    return done;
  }, 'the cell to finish: ' + code, 30000, 50);
  await until(kernelIdle, 'kernel idle');
  return { seenRunning, maxAreas };
}

const outputAreas = (cell) => cell.locator('.output_wrapper .output_area');
const resultText = (cell) => cell.locator('.output_subarea.output_result').innerText();
const outPrompt = (cell) => cell.locator('.output_prompt').first().innerText();

// ---------- setup and teardown ----------

before(async () => {
  jp = await start({ shots: SHOTS });   // the server and browser (jupyter_server.mjs)
  page = jp.page;
  fs.writeFileSync(path.join(jp.root, NOTEBOOK), JSON.stringify({
    cells: [{ cell_type: 'code', execution_count: null, metadata: {}, outputs: [], source: [] }],
    metadata: { kernelspec: { name: 'cairn', display_name: 'C (cairn)', language: 'c' } },
    nbformat: 4, nbformat_minor: 5,
  }));
  await jp.open(NOTEBOOK);
  const kname = await page.locator('.kernel_indicator_name').innerText();
  assert.match(kname, /cairn/, 'the header names the cairn kernel');
});

after(async () => {
  if (!jp) return;
  await shot('99_final').catch(() => { /* the page may be gone */ });
  await jp.stop();
});

// ---------- what a person does, in order (cells share one session) ----------

// The steps build on each other (x, the open cell, the kernel's state): after one fails
// the rest are skipped rather than each timing out on a page in an unknown state.
let broken = null;
function step(name, fn) {
  test(name, async (t) => {
    if (broken) {
      t.skip('skipped: step "' + broken + '" failed');
      return;
    }
    try {
      await fn();
    } catch (e) {
      broken = name;
      await shot('failed_' + name.split('.')[0]).catch(() => {});
      throw e;
    }
  });
}

step('1. a variable, then its value as Out', async () => {
  await runCell('int x = 6 * 7;');
  const cell = await runCell('x');
  assert.equal(await resultText(cell), '42');
  assert.match(await outPrompt(cell), /^Out\[\d+\]:$/);
  await shot('01_value');
});

step('2. printf output appears as stream text', async () => {
  const cell = await runCell('printf("hello from C\\n");');
  const out = cell.locator('.output_subarea.output_stdout');
  assert.equal(await out.count(), 1);
  assert.equal((await out.innerText()).trim(), 'hello from C');
  assert.equal(await cell.locator('.output_error, .output_stderr').count(), 0);
  await shot('02_printf');
});

step('2b. printed lines appear while the cell still runs', async () => {
  const cell = await lastCell();
  await typeInto(cell, '#include <unistd.h>\nfor (int i = 0; i < 4; i++) { printf("tick %d\\n", i); usleep(400000); }');
  await page.keyboard.press('Shift+Enter');
  const out = cell.locator('.output_subarea.output_stdout');
  // The first line is on the page while the prompt still says In [*] (no fflush needed).
  const early = await until(async () => {
    const running = (await promptOf(cell)).includes('*');
    const text = (await out.count()) ? await out.first().innerText() : '';
    return text.startsWith('tick 0') ? { running, text } : null;
  }, 'the first printed line');
  assert.ok(early.running, 'tick 0 showed before the cell ended');
  assert.ok(!early.text.includes('tick 3'), 'not everything at once: ' + early.text);
  await shot('02b_streaming');
  await until(async () => /\[\d+\]/.test(await promptOf(cell)), 'the cell to finish');
  await until(kernelIdle, 'kernel idle');
  const all = (await cell.locator('.output_subarea.output_stdout').allInnerTexts()).join('');
  assert.equal(all.replace(/\n+/g, '\n').trim(), 'tick 0\ntick 1\ntick 2\ntick 3');
});

step('3. a figure is an inline PNG of the asked size', async () => {
  const cell = await runCell('figure *f = plot_figure(400, 300); plot_line_array(plot_subplot(f, 0), NULL, '
    + '(double[]){1, 4, 9, 16}, 4, "squares"); f');
  const img = cell.locator('.output_subarea img');
  assert.equal(await img.count(), 1);
  const src = await img.getAttribute('src');
  assert.ok(src.startsWith('data:image/png;base64,'), 'src is an inline PNG: ' + src.slice(0, 40));
  const size = await until(() => img.evaluate((el) => el.complete && el.naturalWidth
    ? [el.naturalWidth, el.naturalHeight] : null), 'the image to decode');
  assert.deepEqual(size, [400, 300]);
  await img.scrollIntoViewIfNeeded();
  await shot('03_figure');
});

step('4. a segfaulting cell reports SIGSEGV and the session survives', async () => {
  const cell = await runCell('int *p = 0; *p = 1;');
  const err = cell.locator('.output_subarea.output_error');
  assert.equal(await err.count(), 1);
  assert.match(await err.innerText(), /SIGSEGV/);
  await shot('04_crash');
  const again = await runCell('x');
  assert.equal(await resultText(again), '42');
  await shot('04_after_crash');
});

step('4b. a compile error points at the line and column of the cell', async () => {
  const cell = await runCell('int y = 1;\nint z = y +* ;');
  const err = cell.locator('.output_subarea.output_error');
  assert.equal(await err.count(), 1);
  const text = await err.innerText();
  // The `;` where an operand was expected: line 2, column 14, with a caret under it.
  assert.match(text, /line 2, column 14\b/, 'the error names line 2, column 14 of the cell: ' + text);
  assert.match(text, /int z = y \+\* ;/, 'the error quotes the offending line: ' + text);
  assert.match(text, /\n {4}int z = y \+\* ;\n {17}\^/, 'a caret under the `;`: ' + JSON.stringify(text));
  await shot('04b_compile_error');
});

step('4c. scanf in a cell asks for input in the page', async () => {
  const cell = await lastCell();
  await typeInto(cell, 'int n = 0; printf("n? "); scanf("%d", &n); n * 2');
  await page.keyboard.press('Shift+Enter');
  const box = cell.locator('input.raw_input');
  await until(async () => (await box.count()) === 1, 'the input box for scanf');
  await shot('04c_stdin_box');
  // What the cell printed before the read (an unfinished line) is on the page above the box.
  const asked = await cell.locator('.output_wrapper').innerText();
  await box.fill('21');
  await box.press('Enter');
  assert.match(asked, /^n\?/, 'the question is shown before the input box: ' + JSON.stringify(asked));
  await until(async () => /\[\d+\]/.test(await promptOf(cell)), 'the scanf cell to finish');
  await until(kernelIdle, 'kernel idle');
  assert.equal(await resultText(cell), '42');
  await shot('04c_stdin_done');
});

step('5. a live-updated progress bar ends as one output with the final state', async () => {
  const code = [
    '#include <time.h>',
    'progress *bar = progress_start(40, "steps");',
    'for (int i = 0; i < 40; i++) {',
    'nanosleep(&(struct timespec){0, 25000000}, NULL);',
    'progress_update(bar, i + 1);',
    '}',
    'progress_finish(bar);',
  ].join('\n');
  const cell = await lastCell();
  // While it runs the bar is redrawn in place: never more than one output area.
  const { seenRunning, maxAreas } = await runWatching(cell, code);
  assert.ok(seenRunning > 0, 'the bar was on the page while the cell ran');
  assert.equal(maxAreas, 1, 'the bar never showed as more than one output');
  assert.equal(await outputAreas(cell).count(), 1, 'exactly one output area after the cell');
  const text = await outputAreas(cell).innerText();
  assert.match(text, /steps/);
  assert.match(text, /40\s*\/\s*40/, 'final count shown: ' + text);
  assert.match(text, /100\s*%/, 'final percent shown: ' + text);
  await shot('05_progress');
});

step('5b. a figure redrawn with plot_update ends as one image with the final data', async () => {
  const code = [
    '#include <time.h>',
    'figure *g = plot_figure(320, 240);',
    'plot_axes *ga = plot_subplot(g, 0);',
    'plot_line_array(ga, NULL, (double[]){16}, 1, "parabola");',
    'for (int i = 1; i < 9; i++) {',
    'plot_append(ga, 0, i, (i - 4) * (i - 4));',
    'plot_update(g);',
    'nanosleep(&(struct timespec){0, 60000000}, NULL);',
    '}',
  ].join('\n');
  const cell = await lastCell();
  const { maxAreas } = await runWatching(cell, code);
  assert.equal(maxAreas, 1, 'the figure never showed as more than one output');
  const imgs = cell.locator('.output_subarea img');
  assert.equal(await outputAreas(cell).count(), 1, 'one output area');
  assert.equal(await imgs.count(), 1, 'one image');
  const live = await imgs.getAttribute('src');
  // The same figure shown afresh must be exactly what the live output ended with.
  const fresh = await runCell('g');
  const again = await fresh.locator('.output_subarea img').getAttribute('src');
  assert.ok(live.startsWith('data:image/png;base64,'));
  assert.equal(live, again, 'the live output shows the final state of the figure');
  await cell.scrollIntoViewIfNeeded();
  await shot('05b_plot_update');
});

step('6. Tab completes mat_ze to mat_zeros; Shift-Tab shows its doc', async () => {
  const cell = await lastCell();
  await cell.locator('.CodeMirror').first().click();
  await page.keyboard.type('mat_ze');
  await page.keyboard.press('Tab');
  // One match: Notebook inserts it at once (several would open the list, checked below).
  await until(async () => (await sourceOf(cell)) === 'mat_zeros', 'mat_ze to complete to mat_zeros');
  await shot('06_completed');

  // Several matches: the completion list opens and offers mat_zeros among them.
  await page.keyboard.press('Enter');
  await page.keyboard.type('mat_');
  await page.keyboard.press('Tab');
  const options = page.locator('#complete select option');
  await until(async () => (await options.count()) > 1, 'the completion list');
  const offered = await options.allInnerTexts();
  assert.ok(offered.includes('mat_zeros'), 'the list offers mat_zeros: ' + offered.join(' '));
  assert.ok(offered.every((o) => o.startsWith('mat_')), 'only names starting with mat_: ' + offered.join(' '));
  await shot('06_completion_list');
  await page.keyboard.press('Escape');
  await until(async () => (await page.locator('#complete').count()) === 0, 'the list to close');

  // Shift-Tab inside the call: the tooltip shows the one-line doc from the header.
  await page.keyboard.press('Enter');
  await page.keyboard.type('mat_zeros(');
  await page.keyboard.press('Shift+Tab');
  const tip = page.locator('#tooltip .tooltiptext');
  await until(async () => (await page.locator('#tooltip').isVisible()) && /mat_zeros/.test(await tip.innerText()),
    'the Shift-Tab tooltip');
  const tipText = await tip.innerText();
  assert.match(tipText, /mat mat_zeros\(int rows, int cols\)/, 'signature in tooltip: ' + tipText);
  assert.match(tipText, /New rows x cols matrix of zeros/, 'doc comment in tooltip: ' + tipText);
  await shot('06_tooltip');
  await page.keyboard.press('Escape');

  // Leave a fresh empty cell for the next test: clear this one (select all, delete).
  await cell.locator('.CodeMirror').first().click();
  await page.keyboard.press('Control+A');
  await page.keyboard.press('Delete');
  assert.equal(await sourceOf(cell), '');
});

step('6b. a ?name cell opens the pager with the doc', async () => {
  await runCell('?mat_zeros');
  const pager = page.locator('#pager');
  await until(async () => (await pager.isVisible()) && /mat_zeros/.test(await pager.innerText()), 'the pager to open');
  const text = await pager.innerText();
  assert.match(text, /mat mat_zeros\(int rows, int cols\)/, 'signature in the pager: ' + text);
  assert.match(text, /New rows x cols matrix of zeros/, 'doc comment in the pager: ' + text);
  await shot('06b_pager');
  await page.locator('#pager-button-area .ui-icon-close, #pager .close, #pager-button-area a[title="Close the pager"]').first().click();
  await until(async () => !(await pager.isVisible()), 'the pager to close');
});

step('7. the interrupt button stops for(;;); and the session goes on', async () => {
  const cell = await lastCell();
  await typeInto(cell, 'for(;;);');
  await page.keyboard.press('Shift+Enter');
  await until(async () => (await promptOf(cell)).includes('*'), 'the cell to run (In [*])');
  await until(async () => (await page.locator('#kernel_indicator_icon.kernel_busy_icon').count()) > 0, 'kernel busy');
  await sleep(500);
  await shot('07_running');
  const clicked = Date.now();
  await page.locator('button[data-jupyter-action="jupyter-notebook:interrupt-kernel"]').click();
  const err = cell.locator('.output_subarea.output_error');
  await until(async () => (await err.count()) > 0, 'an error output after the interrupt', 10000);
  await until(kernelIdle, 'kernel idle after the interrupt', 10000);
  const took = Date.now() - clicked;
  console.log(`# interrupt button -> error shown and kernel idle: ${took} ms`);
  assert.ok(took < 10000, `interrupt took ${took} ms`);
  assert.match(await err.innerText(), /interrupt/i, 'the error says the cell was interrupted');
  assert.match(await promptOf(cell), /\[\d+\]/);
  await shot('07_interrupted');
  const again = await runCell('x');
  assert.equal(await resultText(again), '42');
  await shot('07_after_interrupt');
});

step('8. I,I in command mode stops a progress loop cleanly, keeping its work', async () => {
  const code = [
    'long steps = 0;',
    'progress *spin = progress_start(0, "spinning");',
    'for (;;) {',
    'steps++;',
    'if (progress_update(spin, steps)) break;',
    '}',
    'progress_finish(spin);',
    'printf("after the loop: %s\\n", steps > 0 ? "work kept" : "nothing done");',
  ].join('\n');
  const cell = await lastCell();
  await typeInto(cell, code);
  await page.keyboard.press('Shift+Enter');
  await until(async () => (await promptOf(cell)).includes('*'), 'the cell to run (In [*])');
  await until(async () => (await outputAreas(cell).count()) > 0, 'the spinning bar');
  await sleep(700);
  // Command mode (Escape), then I, I: Notebook's keyboard shortcut for interrupt.
  await page.keyboard.press('Escape');
  const pressed = Date.now();
  await page.keyboard.press('i');
  await page.keyboard.press('i');
  await until(async () => /\[\d+\]/.test(await promptOf(cell)), 'the cell to end after I,I', 10000);
  await until(kernelIdle, 'kernel idle after I,I', 10000);
  const took = Date.now() - pressed;
  await shot('08_ii_interrupt');
  console.log(`# I,I -> cell ended and kernel idle: ${took} ms`);
  assert.ok(took < 10000, `I,I interrupt took ${took} ms`);
  const text = await cell.locator('.output_wrapper').innerText();
  assert.match(text, /spinning/, 'the bar is still shown: ' + text);
  assert.match(text, /interrupt/i, 'the bar or an error says it was interrupted: ' + text);
  // The loop broke out at its check, so the code after it ran too (no kill, no rollback).
  assert.equal((await cell.locator('.output_subarea.output_stdout').innerText()).trim(), 'after the loop: work kept');
  // The loop stopped at its check, so what it did is kept: steps is a positive count.
  await page.keyboard.press('Enter');   // back to edit mode in the new cell
  const after = await runCell('steps > 0');
  assert.equal(await resultText(after), '1', 'the steps counted before the interrupt were kept');
  await shot('08_after_ii');
});

step('8b. Ctrl-S saves the outputs the page shows into the .ipynb', async () => {
  await page.keyboard.press('Escape');
  await page.keyboard.press('Control+s');
  const file = path.join(jp.root, NOTEBOOK);
  const nb = await until(() => {
    const j = JSON.parse(fs.readFileSync(file, 'utf8'));
    return j.cells.length > 5 ? j : null;
  }, 'the notebook to be saved');
  const code = nb.cells.filter((c) => c.cell_type === 'code');
  const src = (c) => (Array.isArray(c.source) ? c.source.join('') : c.source);
  const text = (v) => (Array.isArray(v) ? v.join('') : v);
  const value = code.find((c) => src(c) === 'x');
  const res = value.outputs.find((o) => o.output_type === 'execute_result');
  assert.equal(text(res.data['text/plain']), '42');
  const fig = code.find((c) => src(c).startsWith('figure *f'));
  const png = Buffer.from(text(fig.outputs[0].data['image/png']), 'base64');
  assert.equal(png.subarray(1, 4).toString(), 'PNG');
  assert.equal(png.readUInt32BE(16), 400, 'saved PNG width');
  assert.equal(png.readUInt32BE(20), 300, 'saved PNG height');
  const bar = code.find((c) => src(c).includes('progress_start(40'));
  assert.equal(bar.outputs.length, 1, 'the progress cell saved one output');
  assert.match(text(bar.outputs[0].data['text/plain']), /40\s*\/\s*40/);
  const crash = code.find((c) => src(c) === 'int *p = 0; *p = 1;');
  assert.equal(crash.outputs[0].output_type, 'error');
  assert.match(crash.outputs[0].ename + ' ' + crash.outputs[0].evalue, /SIGSEGV/);
  assert.equal(nb.metadata.kernelspec.name, 'cairn');
  assert.equal(nb.metadata.language_info.name, 'c');
});

step('8c. Kernel > Restart starts a fresh session', async () => {
  await page.locator('#kernellink').click();
  await page.locator('#restart_kernel a').click();
  // Notebook asks first; the dialog's red button confirms.
  await page.locator('.modal-dialog button.btn-danger').click();
  await until(async () => (await page.locator('.modal-dialog').count()) === 0, 'the dialog to close');
  await sleep(500);
  await until(kernelIdle, 'the restarted kernel to be idle', 30000);
  await page.locator('#notebook-container .cell.code_cell').last().locator('.CodeMirror').click();
  const gone = await runCell('x');
  const err = gone.locator('.output_subarea.output_error');
  assert.equal(await err.count(), 1);
  assert.match(await err.innerText(), /'x' undeclared/, 'x is gone after the restart');
  const fresh = await runCell('int x = 7; x * 6');
  assert.equal(await resultText(fresh), '42');
  assert.match(await outPrompt(fresh), /^Out\[2\]:$/, 'the execution count starts again');
  await shot('08c_restart');
});

test('9. stopping the server leaves no kernel process behind', async () => {
  const kids = descendants(jp.serverPid);
  assert.ok(kids.length > 0, 'the server has started a kernel');
  await jp.stopServer();
  await until(() => kids.every((pid) => !alive(pid)), 'every process the server started to be gone', 15000);
});
