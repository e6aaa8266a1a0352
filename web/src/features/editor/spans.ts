// The body's spans (automerge's block markers and runs of text) by document state.
//
// Every conversion between an automerge text index and a ProseMirror position goes through
// them, and `A.spans` walks the whole body: about 10 ms at 20,000 changes for the current
// state, about twice that for a past one. The binding needs them for each change it applies
// or writes, the remote cursors and comment passages for each redraw, our own selection for
// each keystroke; taken each time, a keystroke cost its reader five walks and its writer
// four. One editor takes them once per state of its document (known by its heads) and
// shares them.
import * as A from "@automerge/automerge/slim"

/** How many recent states are kept: the current one and the one before it are what is asked. */
const KEEP = 3

export class SpansByState {
  private readonly path: A.Prop[]
  private recent: { heads: string; spans: A.Span[] }[] = []
  /** How many times the spans were actually taken (for the tests). */
  walks = 0

  constructor(path: A.Prop[]) {
    this.path = path
  }

  /** The spans of `doc`, a current or a past state (an outdated document reads at its own
   * heads). Shared: never modify them, take `copyOf` for that. */
  of(doc: A.Doc<unknown>): A.Span[] {
    const heads = A.getHeads(doc).join(",")
    const known = this.recent.find((entry) => entry.heads === heads)
    if (known) return known.spans
    const spans = A.spans(doc, this.path)
    this.walks += 1
    this.recent = [{ heads, spans }, ...this.recent.slice(0, KEEP - 1)]
    return spans
  }

  /** A copy of `of(doc)` its caller may modify (the binding patches its copy in place as it
   * turns a change into a ProseMirror transaction). */
  copyOf(doc: A.Doc<unknown>): A.Span[] {
    return copySpans(this.of(doc))
  }
}

/** A copy of `spans` to modify. */
export function copySpans(spans: A.Span[]): A.Span[] {
  return copy(spans)
}

/** A deep copy of plain arrays and objects; anything else (automerge's `ImmutableString`,
 * dates) is kept as it is, since the binding tells values apart by their class. */
function copy<T>(value: T): T {
  if (Array.isArray(value)) return value.map(copy) as T
  if (value !== null && typeof value === "object" && Object.getPrototypeOf(value) === Object.prototype) {
    const out: Record<string, unknown> = {}
    for (const [key, inner] of Object.entries(value)) out[key] = copy(inner)
    return out as T
  }
  return value
}
