// Playwright helpers for a VS Code (code-server) workbench page. From ../shared/tools/vscode-e2e/workbench.mjs; selectors verified on code-server 4.100.3 / Code 1.100.3.
export const SEL = {
  workbench: '.monaco-workbench',
  explorerRow: (name) => `.explorer-folders-view .monaco-list-row[aria-label="${name}"]`,
  quickInput: '.quick-input-widget',
  quickInputBox: '.quick-input-widget .quick-input-box input',
  quickInputRow: '.quick-input-widget .quick-input-list .monaco-list-row',
  toast: '.notifications-toasts .notification-toast',
  toastShown: '.notifications-toasts .notification-toast.notification-fade-in-done',
  editorTab: '.tabs-container .tab',
  activityItem: (title) => `.activitybar li.action-item a[aria-label^="${title}"]`,
  paneHeader: (name) => `.pane-header[aria-label^="${name}"]`,
  webviewOuter: 'iframe.webview.ready',
  webviewInner: '#active-frame',
};

/** Wait until the workbench is up and the explorer shows the opened folder. */
export async function waitForWorkbench(page, { timeout = 60_000 } = {}) {
  await page.locator(SEL.workbench).waitFor({ timeout });
  await page.locator('.explorer-folders-view .monaco-list-row').first().waitFor({ timeout });
}

/** Run a command by its palette label ("Category: Title"), like a user: F1, type, Enter. */
export async function runCommand(page, label, { timeout = 20_000 } = {}) {
  await page.keyboard.press('F1');
  const box = page.locator(SEL.quickInputBox);
  await box.waitFor({ state: 'visible', timeout });
  await box.fill(`>${label}`);
  // Enter only once the *focused* row is exactly our command (.label-name holds the plain label;
  // row text/aria-label also carry the keybinding).
  const exact = new RegExp(`^${label.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`);
  await page.locator(`${SEL.quickInputRow}.focused .label-name`).filter({ hasText: exact }).waitFor({ state: 'visible', timeout });
  await box.press('Enter');
  await page.locator(SEL.quickInput).waitFor({ state: 'hidden', timeout });
}

/** Right-click a file in the Explorer and pick a context-menu entry by its title. */
export async function explorerContextMenu(page, fileName, itemTitle, { timeout = 20_000, onMenuOpen } = {}) {
  const row = page.locator(SEL.explorerRow(fileName));
  await row.waitFor({ state: 'visible', timeout });
  await row.click({ button: 'right' });
  // VS Code renders context menus inside a shadow root; Playwright's role/CSS engines pierce it.
  const item = page.getByRole('menuitem', { name: itemTitle, exact: true }).first();
  await item.waitFor({ state: 'visible', timeout });
  if (onMenuOpen) await onMenuOpen(item);
  await pickMenuItem(page, item, timeout);
}

/**
 * Activate an item of an open VS Code context menu. A plain click() right after the menu opens is
 * sometimes swallowed (menu stays open with the item highlighted, seen ~1 in 10 runs), so:
 * hover (focuses the item) + Enter, confirm the menu closed, fall back to click, retry.
 */
export async function pickMenuItem(page, item, timeout = 20_000) {
  const deadline = Date.now() + timeout;
  for (let attempt = 0; ; attempt++) {
    if (attempt % 2 === 0) {
      await item.hover();
      await page.keyboard.press('Enter');
    } else await item.click();
    try {
      await item.waitFor({ state: 'detached', timeout: 2_000 });
      if (attempt) console.log(`[pickMenuItem] needed ${attempt + 1} attempts`);
      return;
    } catch (e) {
      if (Date.now() > deadline) throw new Error(`context menu item did not activate: ${e.message}`);
    }
  }
}

/** FrameLocator for the inner document of the (visible) webview. */
export function webviewFrame(page) {
  return page.locator(`${SEL.webviewOuter}:visible`).last().contentFrame().locator(SEL.webviewInner).contentFrame();
}
