/** Shared lookups of the resource routes. */

/** A path segment that is all digits names a row by id; anything else is a ref. */
export function byIdOrRef<T>(text: string, byId: (id: number) => Promise<T>, byRef: (ref: string) => Promise<T>): Promise<T> {
  return /^[1-9][0-9]{0,15}$/.test(text) ? byId(Number(text)) : byRef(text);
}
