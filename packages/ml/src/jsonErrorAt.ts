/**
 * Where JSON text first breaks the JSON grammar (RFC 8259), as a 1-based
 * line and column (column in UTF-16 code units), or undefined when the
 * text is valid JSON. A refusal names this place instead of quoting the
 * text there, as JSON.parse's message does ("Unexpected token 'r',
 * "root:x:0:0"... is not valid JSON"). Iterative, so deep nesting does not
 * overflow the stack.
 */
export function jsonErrorAt(
  text: string,
): { line: number; column: number } | undefined {
  const at = firstError(text);
  if (at === undefined) return undefined;
  const before = text.slice(0, at);
  const lines = before.split('\n');
  return { line: lines.length, column: lines[lines.length - 1]!.length + 1 };
}

const WS = ' \t\n\r';
const ESCAPES = '"\\/bfnrt';
const HEX = /^[0-9a-fA-F]{4}$/;

class Broken {
  constructor(readonly at: number) {}
}

/** The offset of the first character that breaks the grammar. */
function firstError(text: string): number | undefined {
  let i = 0;
  const fail = (): never => {
    throw new Broken(i);
  };
  const ws = () => {
    while (i < text.length && WS.includes(text[i]!)) i++;
  };
  const digits = () => {
    const start = i;
    while (i < text.length && text[i]! >= '0' && text[i]! <= '9') i++;
    if (i === start) fail();
  };
  const string = () => {
    if (text[i] !== '"') fail();
    i++;
    for (;;) {
      if (i >= text.length) fail();
      const c = text[i]!;
      if (c === '"') {
        i++;
        return;
      }
      if (c < ' ') fail();
      if (c === '\\') {
        i++;
        if (text[i] === 'u') {
          if (!HEX.test(text.slice(i + 1, i + 5))) fail();
          i += 5;
        } else if (i < text.length && ESCAPES.includes(text[i]!)) i++;
        else fail();
      } else i++;
    }
  };
  const number = () => {
    if (text[i] === '-') i++;
    if (text[i] === '0') i++;
    else digits();
    if (text[i] === '.') {
      i++;
      digits();
    }
    if (text[i] === 'e' || text[i] === 'E') {
      i++;
      if (text[i] === '+' || text[i] === '-') i++;
      digits();
    }
  };
  const literal = () => {
    for (const word of ['true', 'false', 'null'])
      if (text.startsWith(word, i)) {
        i += word.length;
        return;
      }
    fail();
  };
  const key = () => {
    ws();
    string();
    ws();
    if (text[i] !== ':') fail();
    i++;
  };
  try {
    const open: string[] = [];
    for (;;) {
      // A value.
      ws();
      const c = text[i];
      let closed = true;
      if (c === '{' || c === '[') {
        i++;
        ws();
        if (text[i] === (c === '{' ? '}' : ']')) i++;
        else {
          open.push(c);
          if (c === '{') key();
          closed = false;
        }
      } else if (c === '"') string();
      else if (c === '-' || (c !== undefined && c >= '0' && c <= '9')) number();
      else literal();
      if (!closed) continue;
      // After a value: a comma, the end of its container, or of the text.
      for (;;) {
        ws();
        const top = open[open.length - 1];
        if (top === undefined) {
          if (i < text.length) fail();
          return undefined;
        }
        if (text[i] === ',') {
          i++;
          if (top === '{') key();
          break;
        }
        if (text[i] !== (top === '{' ? '}' : ']')) fail();
        i++;
        open.pop();
      }
    }
  } catch (err) {
    if (err instanceof Broken) return err.at;
    throw err;
  }
}
