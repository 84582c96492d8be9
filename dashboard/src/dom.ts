// Pages are built from DOM nodes with text set as text, never from HTML strings, so nothing a
// server sends can become markup.
type Child = Node | string | number | null | undefined | false;
type Attributes = Record<string, string | number | boolean | undefined>;

export function h(tag: string, attributes: Attributes = {}, ...children: Child[]): HTMLElement {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === false) continue;
    element.setAttribute(name, value === true ? "" : String(value));
  }
  append(element, children);
  return element;
}

export function append(parent: Node, children: Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    parent.appendChild(typeof child === "object" ? child : document.createTextNode(String(child)));
  }
}

export function link(href: string, text: string): HTMLElement {
  return h("a", { href }, text);
}

export function short(hex: string): string {
  return hex.length > 16 ? `${hex.slice(0, 10)}…${hex.slice(-6)}` : hex;
}

/** A table with a header row; each row is a list of cells. */
export function table(caption: string, headings: string[], rows: Child[][]): HTMLElement {
  return h(
    "table",
    {},
    h("caption", {}, caption),
    h("thead", {}, h("tr", {}, ...headings.map((text) => h("th", { scope: "col" }, text)))),
    h("tbody", {}, ...rows.map((cells) => h("tr", {}, ...cells.map((cell) => h("td", {}, cell))))),
  );
}

/** A definition list of label and value pairs. */
export function facts(pairs: [string, Child][]): HTMLElement {
  const list = h("dl", { class: "facts" });
  for (const [label, value] of pairs) append(list, [h("dt", {}, label), h("dd", {}, value)]);
  return list;
}

export function notice(kind: "not-found" | "error" | "info", title: string, text: string) {
  return h(
    "section",
    { class: `notice ${kind}`, role: kind === "info" ? "status" : "alert" },
    h("h2", {}, title),
    h("p", {}, text),
  );
}

/** Whole coins with their unit from integer base units (1 coin = 10^9), as the CLI shows them. */
export function coins(units: number | bigint, denom: string): string {
  const value = BigInt(units);
  const whole = value / 1_000_000_000n;
  const fraction = (value % 1_000_000_000n).toString().padStart(9, "0").replace(/0+$/, "");
  return `${whole.toLocaleString("en")}${fraction ? `.${fraction}` : ""} ${denom}`;
}
