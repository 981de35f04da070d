// Text on its way to a terminal. Names and messages can come from a user's files (a scenario's
// name, a report's fields, a thread's name): an ANSI escape in one would clear the screen or
// recolour what follows, and a newline would let a file forge a line of the summary
// ("Outcome: ok"). Every text printer of the package passes its lines through terminalText.

/**
 * `s` with every control character shown as an escape (`\n`, `\x1b`, `\u2028`) instead of
 * acting; printable text (Unicode included) unchanged. Idempotent: its output has no control
 * characters, so text escaped twice reads the same. Tabs are kept (column layouts use them).
 */
export function terminalText(s: string): string {
  // C0 controls but tab, DEL, C1 controls, and the Unicode line and paragraph separators
  // (a terminal may break a line at them too); bidi overrides, which reorder what is shown.
  return s.replace(/[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g, (c) => {
    if (c === "\n") return "\\n";
    if (c === "\r") return "\\r";
    const code = c.charCodeAt(0);
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, "0")}` : `\\u${code.toString(16).padStart(4, "0")}`;
  });
}

/** Each line of `text` escaped (the newlines between lines kept: they are the printer's own). */
export function terminalLines(text: string): string {
  return text.split("\n").map(terminalText).join("\n");
}
