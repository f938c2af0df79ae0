/**
 * The trivial piscina task of the piscina baseline.
 *
 * @module
 */

/**
 * Returns its argument plus one.
 *
 * @param {number} n
 * @returns {number}
 */
export function task(n) {
  return n + 1;
}
