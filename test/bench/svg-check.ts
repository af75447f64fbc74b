/**
 * A small well-formedness check for the bench charts' SVG (test helper, not a test): every tag closes in
 * order, attribute values are quoted, text has no bare `<` or `&`, and every number in the markup is
 * finite (no NaN or Infinity reached a coordinate). Returns the problems found (empty: well-formed), and
 * the elements seen, so tests can also count bars or lines.
 */

export interface SvgCheck {
  problems: string[];
  /** Every element's tag name with its attributes, in document order. */
  elements: { tag: string; attrs: Record<string, string> }[];
}

const TAG = /<(\/?)([A-Za-z][\w:-]*)((?:\s+[\w:-]+\s*=\s*(?:"[^"]*"|'[^']*'))*)\s*(\/?)>/y;
const ATTR = /([\w:-]+)\s*=\s*("([^"]*)"|'([^']*)')/g;

export function checkSvg(svg: string): SvgCheck {
  const problems: string[] = [];
  const elements: SvgCheck['elements'] = [];
  const open: string[] = [];
  let i = 0;
  while (i < svg.length) {
    const lt = svg.indexOf('<', i);
    const text = svg.slice(i, lt < 0 ? svg.length : lt);
    if (/&(?!amp;|lt;|gt;|quot;|#\d+;)/.test(text)) problems.push(`unescaped & in text near "${text.slice(0, 40)}"`);
    if (lt < 0) break;
    TAG.lastIndex = lt;
    const m = TAG.exec(svg);
    if (m === null) {
      problems.push(`malformed tag at ${lt}: "${svg.slice(lt, lt + 60)}"`);
      break;
    }
    const [whole, closing, tag, attrText, selfClosing] = m;
    if (closing === '/') {
      const top = open.pop();
      if (top !== tag) problems.push(`</${tag!}> closes <${top ?? 'nothing'}>`);
    } else {
      const attrs: Record<string, string> = {};
      for (const a of attrText!.matchAll(ATTR)) attrs[a[1]!] = a[3] ?? a[4] ?? '';
      for (const [k, v] of Object.entries(attrs)) {
        if (/NaN|Infinity|undefined/.test(v)) problems.push(`<${tag!} ${k}="${v}">: not a finite number`);
      }
      elements.push({ tag: tag!, attrs });
      if (selfClosing !== '/') open.push(tag!);
    }
    i = lt + whole.length;
  }
  if (open.length > 0) problems.push(`unclosed: ${open.join(' > ')}`);
  if (elements[0]?.tag !== 'svg') problems.push('the document does not start with <svg>');
  if (/NaN|Infinity/.test(svg.replace(/<[^>]*>/g, (t) => t.replace(/"[^"]*"/g, '""')))) problems.push('NaN or Infinity in text');
  return { problems, elements };
}

/** The numbers of a `points="x,y x,y"` attribute. */
export function pointsOf(points: string): number[] {
  return points
    .trim()
    .split(/[\s,]+/)
    .filter((s) => s !== '')
    .map(Number);
}
