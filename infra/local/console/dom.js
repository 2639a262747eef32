// @ts-check
/**
 * Builds DOM nodes. Everything the data holds (queries, meta, ids) is user
 * input: it only ever becomes text (textContent, setAttribute), never markup.
 * Hand-written: a dozen lines, where a view library would need a build step.
 */

/** @typedef {Node | string | number | null | undefined | false} Child */

/**
 * `el('td', { class: 'count', 'data-count': 3 }, 'three')`: attributes are set
 * with setAttribute, children strings become text nodes.
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag
 * @param {Record<string, string | number | boolean | undefined>} [attributes]
 * @param {...(Child | Child[])} children
 * @returns {HTMLElementTagNameMap[K]}
 */
export function el(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === false) continue;
    // No on* attributes: a handler is attached with addEventListener, never from a string.
    if (/^on/i.test(name)) throw new Error(`el(): no event handler attributes (${name})`);
    element.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    element.append(typeof child === 'object' ? child : document.createTextNode(String(child)));
  }
  return element;
}

/**
 * Replaces everything inside `parent` with `children`.
 * @param {Element} parent
 * @param {...(Child | Child[])} children
 */
export function fill(parent, ...children) {
  parent.replaceChildren();
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    parent.append(typeof child === 'object' ? child : document.createTextNode(String(child)));
  }
}
