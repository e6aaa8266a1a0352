/** Where a `?next=` parameter may lead (after an invitation's password is set): a path of this
 * site made of plain segments, nothing else, so a crafted link cannot send the user to another
 * site (`//evil.example`, `/\\evil.example`, `javascript:`…). `undefined` when it may not. */
export function safeNext(next: string | null | undefined): string | undefined {
  if (!next || next.startsWith("//")) return undefined
  return /^\/[A-Za-z0-9_-]+(\/[A-Za-z0-9_-]+)*$/.test(next) ? next : undefined
}
